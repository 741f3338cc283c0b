"""Strict YAML loading of hardware configs with ``--set`` overrides."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from typing import Annotated, Any, Union

import yaml
from pydantic import Field, TypeAdapter

from simulator.errors import UserError, describe_validation_error
from simulator.hw.crossbar import CrossbarChipConfig
from simulator.hw.pim import PimMeshConfig

HwConfig = Annotated[Union[PimMeshConfig, CrossbarChipConfig], Field(discriminator="kind")]
_ADAPTER = TypeAdapter(HwConfig)

HW_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "hw_configs")


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (YAML silently keeps the last)."""


def _construct_mapping(loader, node, deep=False):
    mapping = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise UserError(
                f"duplicate key '{key}' at line {key_node.start_mark.line + 1} of {node.start_mark.name}"
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def list_configs() -> list[str]:
    """Names of the configs shipped in hw_configs/ (file stem)."""
    if not os.path.isdir(HW_DIR):
        return []
    return sorted(f[:-5] for f in os.listdir(HW_DIR) if f.endswith(".yaml"))


def resolve_hw_path(name_or_path: str) -> str:
    """A config name ('pim-dram-16x16') or a path -> an existing file path."""
    if os.path.isfile(name_or_path):
        return name_or_path
    cand = os.path.join(HW_DIR, name_or_path + ".yaml")
    if os.path.isfile(cand):
        return cand
    names = list_configs()
    close = difflib.get_close_matches(name_or_path, names, n=3, cutoff=0.4)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known configs: {', '.join(names)}"
    raise UserError(f"unknown hardware config '{name_or_path}'{hint}")


def _parse_scalar(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError:
        return text


def apply_overrides(data: dict, overrides: list[str] | None) -> dict:
    """Apply ``a.b.c=value`` overrides to the raw mapping; the path must exist."""
    for item in overrides or []:
        if "=" not in item:
            raise UserError(f"override '{item}' is not of the form key.path=value")
        path, value = item.split("=", 1)
        keys = path.strip().split(".")
        cur = data
        for k in keys[:-1]:
            if not isinstance(cur, dict) or k not in cur:
                raise UserError(f"override '{item}': '{k}' is not a field of the config")
            cur = cur[k]
        if not isinstance(cur, dict) or keys[-1] not in cur:
            raise UserError(f"override '{item}': '{keys[-1]}' is not a field of the config")
        cur[keys[-1]] = _parse_scalar(value)
    return data


def load_raw(path: str) -> dict:
    try:
        with open(path) as f:
            data = yaml.load(f, Loader=_UniqueKeyLoader)
    except FileNotFoundError:
        raise UserError(f"hardware config {path!r} does not exist") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"hardware config {path!r} is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise UserError(f"hardware config {path!r} must be a mapping at top level")
    return data


def load_hw(name_or_path: str, overrides: list[str] | None = None):
    """Load, override and validate a hardware config; returns a frozen pydantic model."""
    path = resolve_hw_path(name_or_path)
    data = apply_overrides(load_raw(path), overrides)
    if "kind" not in data:
        raise UserError(f"hardware config {path!r} lacks 'kind' (pim_mesh or crossbar_chip)")
    try:
        return _ADAPTER.validate_python(data)
    except UserError:
        raise
    except Exception as e:
        raise UserError(f"hardware config {path!r} is malformed: {describe_validation_error(e)}") from None


def hw_digest(cfg) -> str:
    text = json.dumps(cfg.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def dump_resolved(cfg) -> str:
    """YAML text of the resolved config, written into every run folder."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=True)
