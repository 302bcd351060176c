"""`motcua index766 score FILE` reproduces every worked example to 0.01."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from motcua.cli.main import app
from tests.unit.domain.test_index766 import WORKED

runner = CliRunner()


def test_score_command_reproduces_the_worked_examples(tmp_path):
    data = [{"unit_code": f"U{i}", "counts": counts} for i, (_n, counts, _m, _g) in enumerate(WORKED)]
    path = tmp_path / "counts.json"
    path.write_bytes(orjson.dumps(data))
    res = runner.invoke(app, ["index766", "score", str(path), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = orjson.loads(res.stdout)
    assert [o["unit_code"] for o in out] == [d["unit_code"] for d in data]
    for o, (name, _counts, metrics, groups) in zip(out, WORKED):
        assert set(o) == {"unit_code", "metrics", "groups"}
        for code, (ratio, score) in metrics.items():
            assert o["metrics"][code]["ratio"] == pytest.approx(ratio, abs=0.01), name
            assert o["metrics"][code]["score"] == pytest.approx(score, abs=0.01), name
            assert set(o["metrics"][code]) == {"ratio", "score", "max"}
        assert {g: v["score"] for g, v in o["groups"].items()} == pytest.approx(groups, abs=0.01)


def test_score_command_options_and_refusals(tmp_path):
    path = tmp_path / "c.json"
    path.write_bytes(
        orjson.dumps(
            [
                {
                    "unit_code": "X",
                    "counts": {
                        "ONLINE_PROCEDURES_PROVIDED": {"numerator": 70, "denominator": 100},
                        "ONLINE_SERVICE_DOSSIERS": {"numerator": 30, "denominator": 40},
                        "ONLINE_DOSSIERS": {"numerator": 40, "denominator": 100},
                    },
                }
            ]
        )
    )
    res = runner.invoke(app, ["index766", "score", str(path), "--online-split", "4,4,4"])
    assert res.exit_code == 0, res.output
    assert orjson.loads(res.stdout)[0]["groups"]["online"]["score"] == pytest.approx(9.70)
    bad = tmp_path / "bad.json"
    bad.write_text('[{"unit_code": "X", "counts": {"NOPE": {"numerator": 1, "denominator": 1}}}]')
    res = runner.invoke(app, ["index766", "score", str(bad)])
    assert res.exit_code != 0 and "unknown metric code 'NOPE'" in res.output
    notjson = tmp_path / "x.json"
    notjson.write_text("{oops")
    res = runner.invoke(app, ["index766", "score", str(notjson)])
    assert res.exit_code != 0 and "không phải JSON hợp lệ" in res.output
