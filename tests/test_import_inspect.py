"""inspect_ai eval logs from a REAL inspect_ai run (its mockllm model, no network) imported as experiments."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("inspect_ai")

from loop_tui.cli.main import main  # noqa: E402
from loop_tui.interop.imports.inspect_log import value_to_float  # noqa: E402
from loop_tui.store import Workspace  # noqa: E402
from loop_tui.store import schema as sch  # noqa: E402

TASK = '''
from inspect_ai import Task, eval, task
from inspect_ai.dataset import Sample
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import Score, accuracy, match, scorer
from inspect_ai.solver import generate


@scorer(metrics=[accuracy()])
def graded():
    """C, P or I, as a model-graded scorer would give."""
    async def score(state, target):
        text = state.output.completion
        value = "C" if text == target.text else "P" if target.text in text else "I"
        return Score(value=value, answer=text, explanation=f"compared {text!r} with {target.text!r}")
    return score


@scorer(metrics={"*": [accuracy()]})
def checks():
    """A dict-valued score: one value per check."""
    async def score(state, target):
        return Score(value={"short": "yes" if len(state.output.completion) < 10 else "no", "len": "0.25"})
    return score


def output(text, tokens_in, tokens_out):
    out = ModelOutput.from_content(model="mockllm/model", content=text)
    out.usage = ModelUsage(input_tokens=tokens_in, output_tokens=tokens_out, total_tokens=tokens_in + tokens_out)
    return out


@task
def capitals():
    return Task(
        dataset=[Sample(input="Capital of France?", target="Paris", id="fr", metadata={"region": "EU"}),
                 Sample(input="Capital of Japan?", target="Tokyo", id="jp"),
                 Sample(input="Capital of Peru?", target="Lima", id="pe")],
        solver=[generate()],
        scorer=[match(), graded(), checks()],
    )


if __name__ == "__main__":
    import sys
    for fmt in ("eval", "json"):
        model = get_model("mockllm/model", custom_outputs=[
            output("Paris", 12, 1), output("It is Tokyo, Japan", 12, 5), output("Cusco", 12, 2)])
        eval(capitals(), model=model, log_dir=sys.argv[1], log_format=fmt, display="none")
'''


@pytest.fixture(scope="module")
def inspect_logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One .eval and one .json log from a real inspect_ai run."""
    folder = tmp_path_factory.mktemp("inspect")
    script = folder / "capitals.py"
    script.write_text(TASK)
    done = subprocess.run([sys.executable, str(script), str(folder / "logs")], capture_output=True, text=True,
                          timeout=240, cwd=folder)
    assert done.returncode == 0, done.stderr[-3000:]
    logs = {p.suffix: p for p in (folder / "logs").iterdir()}
    assert set(logs) == {".eval", ".json"}, logs
    return logs


def test_value_to_float_matches_inspect() -> None:
    from inspect_ai.scorer import value_to_float as inspect_value_to_float

    theirs = inspect_value_to_float()
    for value in ("C", "I", "P", "N", "yes", "No", "TRUE", "false", "0.75", "12", 1, 0, 0.3, True, False, "maybe"):
        assert value_to_float(value) == theirs(value), value


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".eval", ".json"])
def test_real_inspect_log_imports_as_one_experiment(inspect_logs: dict[str, Path], suffix: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = inspect_logs[suffix]
    code = main(["--workspace", str(tmp_path / "ws"), "import", "experiment", str(path), "--project", "evals"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "imported 3 rows into experiment 'capitals · mockllm/model" in out
    ws = Workspace.open(tmp_path / "ws")
    project = ws.project("evals")
    [experiment] = ws.objects("experiment", project.id)
    assert experiment.data["model"] == "mockllm/model" and experiment.data["imported_from"] == "inspect"
    rows: dict[str, dict[str, Any]] = {}
    for record in ws.read_rows("experiment", experiment.id).to_pylist():
        row = sch.row_to_braintrust("experiment", record)
        rows[row["metadata"]["sample_id"]] = row
    fr, jp, pe = rows["fr"], rows["jp"], rows["pe"]
    assert fr["input"] == "Capital of France?" and fr["expected"] == "Paris" and fr["output"] == "Paris"
    assert fr["metadata"]["region"] == "EU" and fr["metadata"]["model"] == "mockllm/model"
    # C / P / I as inspect converts them; a dict-valued score gives one score per key
    assert fr["scores"]["graded"] == 1.0 and jp["scores"]["graded"] == 0.5 and pe["scores"]["graded"] == 0.0
    assert fr["scores"]["match"] == 1.0 and pe["scores"]["match"] == 0.0
    assert fr["scores"]["checks/short"] == 1.0 and jp["scores"]["checks/short"] == 0.0
    assert fr["scores"]["checks/len"] == 0.25
    assert jp["metadata"]["scores"]["graded"]["explanation"] == "compared 'It is Tokyo, Japan' with 'Tokyo'"
    assert fr["metrics"]["prompt_tokens"] == 12 and jp["metrics"]["completion_tokens"] == 5
    assert fr["metrics"]["tokens"] == 13 and fr["metrics"]["end"] >= fr["metrics"]["start"]
    assert fr["span_attributes"] == {"name": "capitals", "type": "eval"}
