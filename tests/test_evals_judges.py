"""LLM-judge scorers: forced select_choice, choice -> score, CoT rationale, errors; via a scripted provider."""

from __future__ import annotations

import pytest

from loop_tui.errors import UserError
from loop_tui.evals.scorers import JUDGES, ClosedQA, Factuality, LLMClassifier, Translation
from loop_tui.evals.scorers.llm_judge import load_template
from loop_tui.llm.base import ProviderError
from tests.evals_helpers import ScriptedProvider, choose

EXPECTED_CHOICES = {
    "Factuality": {"A": 0.4, "B": 0.6, "C": 1, "D": 0, "E": 1},
    "ClosedQA": {"Y": 1, "N": 0},
    "Battle": {"Yes": 1, "No": 0},
    "Humor": {"Yes": 1, "No": 0, "Unsure": 0.5},
    "Security": {"Yes": 0, "No": 1, "Unsure": 0.5},
    "Sql": {"Correct": 1, "Incorrect": 0},
    "Summary": {"A": 0, "B": 1},
    "Translation": {"Y": 1, "N": 0},
    "Possible": {"A": 0, "B": 1},
}


def test_builtin_templates_have_autoevals_choices() -> None:
    assert {j.__name__ for j in JUDGES} == set(EXPECTED_CHOICES)
    for judge in JUDGES:
        assert load_template(judge.__name__)["choice_scores"] == EXPECTED_CHOICES[judge.__name__]


async def test_factuality_forces_select_choice_and_maps_score() -> None:
    provider = ScriptedProvider(choose("B", "it adds detail"))
    judge = Factuality(provider=provider, model="judge-model")
    score = await judge.eval_async(output="Paris, in France", expected="Paris", input="Capital of France?")
    assert score.name == "Factuality" and score.score == 0.6
    assert score.metadata == {"choice": "B", "rationale": "it adds detail"}
    assert score.metrics["tokens"] == 15
    request = provider.requests[0]
    assert request["model"] == "judge-model"
    assert request["params"].tool_choice == {"name": "select_choice"}
    (tool,) = request["tools"]
    assert tool["name"] == "select_choice"
    assert tool["parameters"]["properties"]["choice"]["enum"] == ["A", "B", "C", "D", "E"]
    assert list(tool["parameters"]["properties"]) == ["reasons", "choice"]  # reasons first (CoT)
    content = request["messages"][0]["content"]
    assert "[Question]: Capital of France?" in content and "[Submission]: Paris, in France" in content
    assert "A, B, C, D, E" in content


async def test_no_cot_schema_and_every_judge_runs() -> None:
    for judge_cls in JUDGES:
        first = next(iter(EXPECTED_CHOICES[judge_cls.__name__]))
        provider = ScriptedProvider(choose(first))
        judge = judge_cls(provider=provider, model="m", use_cot=False)
        score = await judge.eval_async(
            output="o", expected="e", input="i", criteria="c", instructions="do x", language="French"
        )
        assert score.score == EXPECTED_CHOICES[judge_cls.__name__][first]
        assert "reasons" not in provider.requests[0]["tools"][0]["parameters"]["properties"]


async def test_template_vars_fall_back_to_row_metadata() -> None:
    provider = ScriptedProvider(choose("Y"))
    score = await ClosedQA(provider=provider, model="m").eval_async(
        output="4", input="2+2?", metadata={"criteria": "is correct"}
    )
    assert score.score == 1
    assert "[Criterion]: is correct" in provider.requests[0]["messages"][0]["content"]


async def test_missing_template_variable_is_an_error() -> None:
    judge = Translation(provider=ScriptedProvider(choose("Y")), model="m")
    with pytest.raises(UserError, match="language"):
        await judge.eval_async(output="o", expected="e", input="i")


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (lambda *a: "plain text", "did not call select_choice"),
        (lambda *a: {"tool": "other", "arguments": {}}, "instead of select_choice"),
        (lambda *a: {"tool": "select_choice", "arguments": {"choice": "Z"}}, "chose 'Z'"),
    ],
)
async def test_bad_replies_raise(reply, message: str) -> None:
    judge = Factuality(provider=ScriptedProvider(reply), model="m")
    with pytest.raises(ValueError, match=message):
        await judge.eval_async(output="o", expected="e", input="i")


async def test_provider_error_raises() -> None:
    from loop_tui.evals.model_call import ModelCallError

    judge = Factuality(
        provider=ScriptedProvider(lambda *a: ProviderError("rate_limit", "slow down")), model="m"
    )
    with pytest.raises(ModelCallError, match="slow down"):
        await judge.eval_async(output="o", expected="e", input="i")


async def test_custom_classifier_and_validation() -> None:
    judge = LLMClassifier(
        "Polite",
        "Is this polite? {{output}}",
        {"yes": 1, "no": 0},
        provider=ScriptedProvider(choose(" no ")),
        model="m",
    )
    score = await judge.eval_async(output="go away")
    assert (score.name, score.score, score.metadata["choice"]) == ("Polite", 0, "no")
    with pytest.raises(UserError, match="in \\[0, 1\\]"):
        LLMClassifier("Bad", "x", {"a": 2})


def test_sync_call_works_outside_an_event_loop() -> None:
    score = Factuality(provider=ScriptedProvider(choose("C")), model="m")(output="a", expected="a", input="q")
    assert score.score == 1


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_judge_over_the_fake_server_forces_the_tool(fake_server, kind: str) -> None:
    fake_server.script(
        [{"tool_calls": [{"name": "select_choice", "arguments": {"reasons": "adds detail", "choice": "B"}}]}]
    )
    judge = Factuality(provider=fake_server.provider(kind), model="gpt-4o-mini")
    score = await judge.eval_async(output="Paris, France", expected="Paris", input="Capital?")
    assert (score.score, score.metadata["rationale"]) == (0.6, "adds detail")
    body = fake_server.requests[-1].body
    if kind == "openai":
        assert body["tool_choice"] == {"type": "function", "function": {"name": "select_choice"}}
        assert body["tools"][0]["function"]["parameters"]["properties"]["choice"]["enum"] == list("ABCDE")
    else:
        assert body["tool_choice"] == {"type": "tool", "name": "select_choice"}
        assert body["tools"][0]["input_schema"]["required"] == ["reasons", "choice"]
    await judge.aclose()
