"""Reuse-pattern specs and the uniform pattern generator (TReX Section V-B Step 2, Fig. 5/6a/16)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.errors import UserError
from contracts.reuse_spec import enumerate_patterns, parse_spec, source_encoders


@pytest.mark.parametrize("spec, n_enc, expected", [
    ("strided:sl=2,start=5,n=4", 12, [5, 7, 9, 11]),
    ("strided:sl=2,start=5,n=5", 16, [5, 7, 9, 11, 13]),
    ("continuous:start=3,n=4", 12, [3, 4, 5, 6]),
    ("pyramid:ncont=2,sl=2,start=3,n=4", 12, [3, 5, 6, 8]),
    ("pyramid:ncont=3,sl=3,start=2,n=7", 16, [2, 5, 8, 9, 10, 13, 16]),
    ("list:7,3,5", 12, [3, 5, 7]),
    ("none", 12, []),
])
def test_parse_spec_examples(spec, n_enc, expected):
    assert parse_spec(spec, n_enc) == expected


@pytest.mark.parametrize("spec, fragment", [
    ("strided:sl=2,start=5,n=5", "needs encoder 13"),  # 12 encoders (DeiT-S) cannot hold it
    ("continuous:start=1,n=3", "encoder 1"),
    ("strided:sl=1,start=3,n=2", "at least 2"),
    ("strided:sl=2,start=3", "lacks n"),
    ("pyramid:ncont=2,sl=2,start=3,n=3", "n - ncont >= 2"),
    ("zigzag:start=3,n=2", "unknown family"),
    ("list:3,3", "twice"),
    ("list:a,b", "comma-separated"),
    ("strided:sl=2,start=x,n=2", "integer"),
    ("continuous:start=3,n=2,foo=1", "not a parameter"),
])
def test_invalid_specs_raise_one_sentence(spec, fragment):
    with pytest.raises(UserError) as e:
        parse_spec(spec, 12)
    msg = str(e.value)
    assert fragment in msg and "\n" not in msg


def test_fig16_families_for_deit_s():
    """DeiT-S, N_reuse = 4: every family of Fig. 16 (strided SL 2 and 3, pyramid SL 2 and 3,
    continuous) is generated, and no strided SL 4 (it would need 13 encoders)."""
    pats = enumerate_patterns(12, 4)
    kinds = {(p.family, p.spec.split("sl=")[1].split(",")[0] if "sl=" in p.spec else "") for p in pats}
    assert {("strided", "2"), ("strided", "3"), ("pyramid", "2"), ("pyramid", "3"), ("continuous", "")} <= kinds
    assert ("strided", "4") not in kinds
    assert len(pats) == 7 + 8 + 12  # strided, continuous (start 2..9), pyramid (SL 2: 6, SL 3: 4, SL 4: 2)


def test_continuous_run_shares_the_last_computing_source():
    assert source_encoders([3, 4, 5, 8], 9) == {3: 2, 4: 2, 5: 2, 8: 7}


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=2, max_value=24).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(min_value=1, max_value=n - 1))))
def test_enumerated_patterns_are_valid_and_unique(case):
    n_enc, n_reuse = case
    pats = enumerate_patterns(n_enc, n_reuse)
    assert pats, "at least the continuous patterns exist"
    seen = set()
    for p in pats:
        assert len(p.encoders) == n_reuse
        assert 1 not in p.encoders and max(p.encoders) <= n_enc
        assert len(set(p.encoders)) == n_reuse
        assert tuple(parse_spec(p.spec, n_enc)) == p.encoders  # the spec round-trips
        seen.add(p.encoders)
    assert len(seen) == len(pats)


def test_n_reuse_out_of_range():
    with pytest.raises(UserError):
        enumerate_patterns(8, 8)
