"""Strict YAML loading of hardware configs with ``--set`` overrides."""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
import types
import typing
from typing import Annotated, Any, Union

import yaml
from pydantic import BaseModel, Field, TypeAdapter

from contracts.errors import UserError, describe_validation_error
from contracts.hardware.crossbar_chip import CrossbarChipConfig
from contracts.hardware.pim_mesh import PimMeshConfig

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


_SCHEMAS = {"pim_mesh": PimMeshConfig, "crossbar_chip": CrossbarChipConfig}


def _resolve_type(tp):
    """An annotation -> a pydantic model class, ('dict', value annotation), or None (a leaf)."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(tp):
            r = _resolve_type(arg)
            if r is not None:
                return r
        return None
    if origin is dict:
        return ("dict", typing.get_args(tp)[1])
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    return None


def _schema_node(kind: Any, path: tuple | list):
    """The schema at ``path``: a model class, ('dict', value annotation), or None (a leaf or unknown)."""
    cur: Any = _SCHEMAS.get(kind) if isinstance(kind, str) else None
    if cur is None:
        return None
    for part in path:
        r = _resolve_type(cur)
        if r is None:
            return None
        if isinstance(r, tuple):  # a dict: this part is a key
            cur = r[1]
            continue
        field = r.model_fields.get(str(part))
        if field is None:
            return None
        cur = field.annotation
    return _resolve_type(cur)


def schema_fields(kind: Any, path: tuple | list) -> list[str]:
    """Field names the schema of ``kind`` allows at ``path`` (e.g. ('noc',)); [] if unknown or a leaf."""
    r = _schema_node(kind, path)
    return sorted(r.model_fields) if isinstance(r, type) else []


def _parse_scalar(item: str, text: str) -> Any:
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError:
        return text
    except UserError as e:  # a duplicate key inside a mapping value
        raise UserError(f"override {item}: {e}") from None


def _not_a_field(item: str, key: str, kind: Any, parent: list[str]) -> UserError:
    allowed = schema_fields(kind, parent)
    where = f" of {'.'.join(parent)}" if parent else " of the config"
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return UserError(f"override {item}: '{key}' is not a field{where}{hint}")


def apply_overrides(data: dict, overrides: list[str] | None) -> dict:
    """Apply ``a.b.c=value`` overrides to the raw mapping.

    The path must be a field of the file or of its schema (a field with a
    default may be set although the file leaves it out).
    """
    kind = data.get("kind")
    for item in overrides or []:
        if "=" not in item:
            raise UserError(f"override '{item}' is not of the form key.path=value")
        path, value = item.split("=", 1)
        keys = [k.strip() for k in path.strip().split(".")]
        cur = data
        for depth, k in enumerate(keys):
            parent = keys[:depth]
            if not isinstance(cur, dict):
                raise UserError(f"override {item}: '{'.'.join(parent)}' is a value, not a section with fields")
            last = depth == len(keys) - 1
            if k not in cur:
                node = _schema_node(kind, parent)
                open_dict = isinstance(node, tuple)  # e.g. extra, devices: any key may be added
                if not open_dict and k not in schema_fields(kind, parent):
                    raise _not_a_field(item, k, kind, parent)
                if not last:
                    cur[k] = {}
            if last:
                cur[k] = _parse_scalar(item, value)
            else:
                cur = cur[k]
    return data


def load_raw(path: str) -> dict:
    try:
        with open(path) as f:
            data = yaml.load(f, Loader=_UniqueKeyLoader)
    except FileNotFoundError:
        raise UserError(f"hardware config {path!r} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"hardware config {path!r} is a directory, not a YAML file") from None
    except UnicodeDecodeError:
        raise UserError(f"hardware config {path!r} is not UTF-8 text") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"hardware config {path!r} is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise UserError(f"hardware config {path!r} must be a mapping at top level")
    bad = next((k for k in data if not isinstance(k, str)), None)
    if bad is not None:
        raise UserError(f"hardware config {path!r} has a non-text key {bad!r} at the top level")
    return data


def _validate(data: dict):
    return _ADAPTER.validate_python(data)


def _describe(e: Exception, kind: Any) -> str:
    return describe_validation_error(e, fields_at=lambda parent: schema_fields(kind, parent), strip=1)


def load_hw(name_or_path: str, overrides: list[str] | None = None):
    """Load, override and validate a hardware config; returns a frozen pydantic model.

    The file is validated first, so a problem of the file is blamed on the
    file and a problem an override introduces is blamed on that override
    ("override noc.flit_bits=abc: ...").
    """
    path = resolve_hw_path(name_or_path)
    raw = load_raw(path)
    kind = raw.get("kind")
    if kind is None:
        raise UserError(f"hardware config {path!r} lacks 'kind' (pim_mesh or crossbar_chip)")
    if not isinstance(kind, str) or kind not in _SCHEMAS:
        raise UserError(f"hardware config {path!r} has kind {kind!r}; expected pim_mesh or crossbar_chip")
    try:
        cfg = _validate(raw)
    except UserError:
        raise
    except Exception as e:
        raise UserError(f"hardware config {path!r} is malformed: {_describe(e, kind)}") from None
    if not overrides:
        return cfg
    data = apply_overrides(copy.deepcopy(raw), overrides)
    try:
        return _validate(data)
    except UserError:
        raise
    except Exception as e:
        raise UserError(_blame_override(e, overrides, data.get("kind"))) from None


def _msg(item: dict) -> str:
    msg = str(item.get("msg", "invalid"))
    return msg[len("Value error, "):] if msg.startswith("Value error, ") else msg


def _blame_override(e: Exception, overrides: list[str], kind: Any) -> str:
    """The override whose path the first validation problem lies under (else every override)."""
    items = e.errors() if callable(getattr(e, "errors", None)) else []
    paths = [(o, tuple(k.strip() for k in o.split("=", 1)[0].strip().split("."))) for o in overrides]
    for it in items:
        loc = tuple(str(p) for p in it.get("loc", ()))[1:]
        for o, p in paths:
            if loc and (loc[:len(p)] == p or p[:len(loc)] == loc):
                return f"override {o}: {_msg(it)}" + (f" (field '{'.'.join(loc)}')" if loc != p else "")
    if any(p == ("kind",) for _o, p in paths):
        o = next(o for o, p in paths if p == ("kind",))
        return f"override {o}: the config is then malformed: {_describe(e, kind)}"
    which = overrides[0] if len(overrides) == 1 else "s " + ", ".join(overrides)
    return f"override {which}: the config is then malformed: {_describe(e, kind)}"


def hw_digest(cfg) -> str:
    text = json.dumps(cfg.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def dump_resolved(cfg) -> str:
    """YAML text of the resolved config, written into every run folder."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=True)
