"""BTQL golden suite: each case in tests/btql_golden/cases.jsonl runs over the fixed fixture workspace.

A case gives a query and either the expected rows (`rows`), one column's values (`col` + `vals`), a row count
(`count`), or the expected error `[kind, code, line?, col?]` (+ `hint` substring). Optional: `project`, `tz`.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from loop_tui.btql import BtqlError, run
from loop_tui.btql.rows import table_rows

GOLDEN = Path(__file__).parent / "btql_golden"
sys.path.insert(0, str(GOLDEN))
import fixture  # noqa: E402

CASES = [json.loads(line) for line in (GOLDEN / "cases.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return fixture.build(tmp_path_factory.mktemp("btql") / "ws")


def _norm(value):
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else value
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden(case, ws):
    kwargs = {"tz_offset": case.get("tz")}
    if "err" in case:
        with pytest.raises(BtqlError) as info:
            run(case["q"], ws, case.get("project"), **kwargs)
        err = info.value
        want = case["err"]
        got = [err.kind, err.code, err.line, err.col][: len(want)]
        assert got == want, f"{err!r} hint={err.hint}"
        if "hint" in case:
            assert case["hint"] in (err.hint or ""), err.hint
        assert "duckdb" not in err.message.lower() and "duckdb" not in (err.hint or "").lower()
        return
    result = run(case["q"], ws, case.get("project"), **kwargs)
    got = table_rows(result.table)
    if "rows" in case:
        assert _norm(got) == _norm(case["rows"])
    elif "vals" in case:
        assert _norm([r[case["col"]] for r in got]) == _norm(case["vals"])
    else:
        assert len(got) == case["count"]


def test_suite_size():
    assert len(CASES) >= 150
