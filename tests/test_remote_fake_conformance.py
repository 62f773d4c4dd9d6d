"""The fake Braintrust speaks the real wire format: the real `braintrust` SDK logs to it and reads back.

Each scenario runs the SDK in its own process (it keeps global login and logger state).
"""

from __future__ import annotations

import pytest

from tests.fake_braintrust import FakeBraintrust, server
from tests.fake_braintrust.sdk import run_sdk

fake_bt = server.fake_bt

pytest.importorskip("braintrust")


def test_sdk_logs_spans_to_project_logs(fake_bt: FakeBraintrust) -> None:
    run_sdk(fake_bt, """
        logger = braintrust.init_logger(project="support-bot")
        with logger.start_span(name="answer", input={"question": "hi"}) as root:
            root.log(output="hello", scores={"helpful": 1}, metadata={"model": "gpt-4.1"})
            with root.start_span(name="retrieve") as child:
                child.log(input="hi", output=["doc1"])
        logger.flush()
    """)
    project = next(p for p in fake_bt.state.projects.values() if p["name"] == "support-bot")
    rows = fake_bt.state.live_rows("project_logs", project["id"])
    assert len(rows) == 2
    by_name = {r["span_attributes"]["name"]: r for r in rows.values()}
    assert by_name["answer"]["output"] == "hello" and by_name["answer"]["scores"] == {"helpful": 1}
    assert by_name["retrieve"]["span_parents"] == [by_name["answer"]["span_id"]]
    assert by_name["retrieve"]["root_span_id"] == by_name["answer"]["root_span_id"]
    assert all(r["_xact_id"].isdigit() for r in rows.values())


def test_sdk_inserts_updates_deletes_dataset_rows_and_reads_them_back(fake_bt: FakeBraintrust) -> None:
    rows = run_sdk(fake_bt, """
        dataset = braintrust.init_dataset(project="support-bot", name="golden")
        dataset.insert(input={"q": "a"}, expected="A", id="row-1", metadata={"source": "test"})
        dataset.insert(input={"q": "b"}, expected="B", id="row-2")
        dataset.flush()
        dataset.update(id="row-2", expected="BB")
        dataset.delete("row-1")
        dataset.flush()
        result = list(braintrust.init_dataset(project="support-bot", name="golden").fetch())
    """)
    assert [r["id"] for r in rows] == ["row-2"]
    assert rows[0]["expected"] == "BB" and rows[0]["input"] == {"q": "b"}
    assert fake_bt.requests[-1].path.endswith("/fetch")


def test_sdk_creates_an_experiment_summarizes_and_fetches(fake_bt: FakeBraintrust) -> None:
    result = run_sdk(fake_bt, """
        experiment = braintrust.init_experiment(project="support-bot", experiment="baseline")
        experiment.log(input={"q": "a"}, output="A", expected="A", scores={"exact": 1.0})
        summary = experiment.summarize()
        reopened = braintrust.init_experiment(project="support-bot", experiment="baseline", open=True)
        result = {"name": summary.experiment_name, "rows": list(reopened.fetch())}
    """)
    assert result["name"] == "baseline"
    assert [r["output"] for r in result["rows"]] == ["A"]
    exp = next(iter(fake_bt.state.experiments.values()))
    assert [r["scores"] for r in fake_bt.state.live_rows("experiment", exp["id"]).values()] == [{"exact": 1.0}]


def test_requests_without_the_key_are_refused(fake_bt: FakeBraintrust) -> None:
    import httpx

    reply = httpx.post(f"{fake_bt.url}/v1/project", json={"name": "x"})
    assert reply.status_code == 401
