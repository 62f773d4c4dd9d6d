"""The span mapping, on spans made by the real OpenTelemetry SDK and encoded by its own OTLP encoder."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import Status, StatusCode  # noqa: E402

from loop_tui.interop.otel_mapping import span_to_row  # noqa: E402
from loop_tui.interop.otel_span import spans_of  # noqa: E402
from loop_tui.interop.otel_storable import storable_span  # noqa: E402
from loop_tui.llm.base import Usage  # noqa: E402
from loop_tui.llm.catalog import estimate_cost  # noqa: E402
from loop_tui.store import schema as sch  # noqa: E402


def mapped(build: Callable[[Any], None], service: str = "svc") -> dict[str, dict[str, Any]]:
    """Run `build(tracer)` on a real SDK tracer; the mapped rows by span name (each also passes validation)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    build(provider.get_tracer("tests"))
    provider.shutdown()
    request = encode_spans(exporter.get_finished_spans())
    rows = {}
    for span in spans_of(request):
        row = span_to_row(span)
        # every mapped row is storable, and the receiver's shortcut stores it exactly as the store would
        assert storable_span(row, span.name) == sch.normalize_span(row, span.name)
        rows[span.name] = row
    return rows


def test_genai_chat_span_maps_messages_model_tokens_and_priced_cost() -> None:
    def build(tracer: Any) -> None:
        with tracer.start_as_current_span("invoke_agent helper") as agent:
            agent.set_attribute("gen_ai.operation.name", "invoke_agent")
            with tracer.start_as_current_span("chat gpt-4o-mini") as span:
                span.set_attribute("gen_ai.operation.name", "chat")
                span.set_attribute("gen_ai.provider.name", "openai")
                span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                span.set_attribute("gen_ai.response.model", "gpt-4o-mini-2024-07-18")
                span.set_attribute("gen_ai.request.temperature", 0.3)
                span.set_attribute("gen_ai.usage.input_tokens", 1200)
                span.set_attribute("gen_ai.usage.output_tokens", 300)
                span.set_attribute("gen_ai.conversation.id", "conv-1")
                span.set_attribute("gen_ai.system_instructions", json.dumps([{"type": "text", "content": "Be brief."}]))
                span.set_attribute("gen_ai.input.messages", json.dumps(
                    [{"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}]))
                span.set_attribute("gen_ai.output.messages", json.dumps([{
                    "role": "assistant", "finish_reason": "tool_call",
                    "parts": [{"type": "tool_call", "id": "call_1", "name": "get_weather",
                               "arguments": {"city": "Paris"}}]}]))
                span.set_attribute("app.feature", "weather")

    rows = mapped(build)
    chat, agent = rows["chat gpt-4o-mini"], rows["invoke_agent helper"]
    assert chat["input"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}]
    assert chat["output"] == [{"role": "assistant", "content": None, "finish_reason": "tool_call", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}]
    assert chat["metadata"]["model"] == "gpt-4o-mini-2024-07-18"  # the response model is what ran
    assert chat["metadata"]["provider"] == "openai"
    assert chat["metadata"]["temperature"] == 0.3
    assert chat["metadata"]["gen_ai.conversation.id"] == "conv-1"
    assert chat["metadata"]["app.feature"] == "weather"  # unmapped attributes are kept
    assert chat["metrics"]["prompt_tokens"] == 1200 and chat["metrics"]["completion_tokens"] == 300
    assert chat["metrics"]["tokens"] == 1500
    # the dated snapshot is not in the price table: priced as the model it is a snapshot of
    assert estimate_cost("gpt-4o-mini-2024-07-18", Usage(prompt_tokens=1)) is None
    expected = estimate_cost("gpt-4o-mini", Usage(prompt_tokens=1200, completion_tokens=300))
    assert expected and chat["metrics"]["estimated_cost"] == pytest.approx(expected)
    assert chat["metrics"]["end"] >= chat["metrics"]["start"] > 1e9
    assert chat["span_attributes"] == {"name": "chat gpt-4o-mini", "type": "llm"}
    assert agent["span_attributes"]["type"] == "task"
    # the trace: the trace id is the root, the parent span id the parent
    assert chat["root_span_id"] == agent["root_span_id"] and len(agent["root_span_id"]) == 32
    assert chat["span_parents"] == [agent["span_id"]] and agent["span_parents"] == []
    assert chat["id"] == chat["span_id"]
    assert agent["metadata"]["otel.resource"]["service.name"] == "svc"


def test_older_genai_names_and_flattened_prompts() -> None:
    def build(tracer: Any) -> None:
        with tracer.start_as_current_span("openai.chat") as span:
            span.set_attribute("gen_ai.system", "openai")
            span.set_attribute("gen_ai.request.model", "gpt-4o")
            span.set_attribute("gen_ai.usage.prompt_tokens", 10)
            span.set_attribute("gen_ai.usage.completion_tokens", 5)
            span.set_attribute("gen_ai.prompt.0.role", "user")
            span.set_attribute("gen_ai.prompt.0.content", "hello")
            span.set_attribute("gen_ai.completion.0.role", "assistant")
            span.set_attribute("gen_ai.completion.0.content", "hi there")

    row = mapped(build)["openai.chat"]
    assert row["metadata"]["provider"] == "openai" and row["metadata"]["model"] == "gpt-4o"
    assert row["metrics"]["prompt_tokens"] == 10 and row["metrics"]["completion_tokens"] == 5
    assert row["input"] == [{"role": "user", "content": "hello"}]
    assert row["output"] == [{"role": "assistant", "content": "hi there"}]
    assert row["span_attributes"]["type"] == "llm"
    assert not any(k.startswith("gen_ai.prompt") for k in row["metadata"])


def test_genai_tool_span_and_evaluation_event_become_a_score() -> None:
    def build(tracer: Any) -> None:
        with tracer.start_as_current_span("execute_tool get_weather") as span:
            span.set_attribute("gen_ai.operation.name", "execute_tool")
            span.set_attribute("gen_ai.tool.name", "get_weather")
            span.set_attribute("gen_ai.tool.call.id", "call_1")
            span.set_attribute("gen_ai.tool.call.arguments", '{"city": "Paris"}')
            span.set_attribute("gen_ai.tool.call.result", '{"temp_c": 21}')
            span.add_event("gen_ai.evaluation.result", {
                "gen_ai.evaluation.name": "Relevance", "gen_ai.evaluation.score.value": 0.75,
                "gen_ai.evaluation.score.label": "relevant", "gen_ai.evaluation.explanation": "on topic"})

    row = mapped(build)["execute_tool get_weather"]
    assert row["span_attributes"]["type"] == "tool"
    assert row["input"] == {"city": "Paris"} and row["output"] == {"temp_c": 21}
    assert row["metadata"]["gen_ai.tool.name"] == "get_weather"
    assert row["scores"] == {"Relevance": 0.75}
    assert row["metadata"]["evaluations"] == [
        {"name": "Relevance", "score": 0.75, "label": "relevant", "explanation": "on topic"}]


def test_openinference_llm_span() -> None:
    from openinference.semconv.trace import (
        MessageAttributes,
        OpenInferenceMimeTypeValues,
        OpenInferenceSpanKindValues,
        SpanAttributes,
    )

    def build(tracer: Any) -> None:
        with tracer.start_as_current_span("ChatOpenAI") as span:
            span.set_attribute(SpanAttributes.OPENINFERENCE_SPAN_KIND, OpenInferenceSpanKindValues.LLM.value)
            span.set_attribute(SpanAttributes.INPUT_VALUE, json.dumps({"question": "2+2?"}))
            span.set_attribute(SpanAttributes.INPUT_MIME_TYPE, OpenInferenceMimeTypeValues.JSON.value)
            span.set_attribute(SpanAttributes.OUTPUT_VALUE, "4")
            span.set_attribute(SpanAttributes.LLM_MODEL_NAME, "gpt-4o")
            span.set_attribute(SpanAttributes.LLM_PROVIDER, "openai")
            span.set_attribute(SpanAttributes.LLM_INVOCATION_PARAMETERS, json.dumps({"temperature": 0}))
            prefix = SpanAttributes.LLM_INPUT_MESSAGES
            span.set_attribute(f"{prefix}.0.{MessageAttributes.MESSAGE_ROLE}", "system")
            span.set_attribute(f"{prefix}.0.{MessageAttributes.MESSAGE_CONTENT}", "You add numbers.")
            span.set_attribute(f"{prefix}.1.{MessageAttributes.MESSAGE_ROLE}", "user")
            span.set_attribute(f"{prefix}.1.{MessageAttributes.MESSAGE_CONTENT}", "2+2?")
            out = SpanAttributes.LLM_OUTPUT_MESSAGES
            span.set_attribute(f"{out}.0.{MessageAttributes.MESSAGE_ROLE}", "assistant")
            span.set_attribute(f"{out}.0.{MessageAttributes.MESSAGE_CONTENT}", "4")
            span.set_attribute(SpanAttributes.LLM_TOKEN_COUNT_PROMPT, 20)
            span.set_attribute(SpanAttributes.LLM_TOKEN_COUNT_COMPLETION, 1)
            span.set_attribute(SpanAttributes.LLM_TOKEN_COUNT_TOTAL, 21)
            span.set_attribute(SpanAttributes.LLM_COST_TOTAL, 0.5)  # the span's own cost wins over the price table
            span.set_attribute(SpanAttributes.METADATA, json.dumps({"experiment": "a"}))
            span.set_attribute(SpanAttributes.TAG_TAGS, ["beta", "math"])
            span.set_attribute(SpanAttributes.SESSION_ID, "sess-9")
            span.set_attribute(SpanAttributes.USER_ID, "user-3")

    row = mapped(build)["ChatOpenAI"]
    assert row["span_attributes"] == {"name": "ChatOpenAI", "type": "llm"}
    assert row["input"] == [{"role": "system", "content": "You add numbers."}, {"role": "user", "content": "2+2?"}]
    assert row["output"] == [{"role": "assistant", "content": "4"}]
    assert row["metadata"]["model"] == "gpt-4o" and row["metadata"]["provider"] == "openai"
    assert row["metadata"]["temperature"] == 0 and row["metadata"]["experiment"] == "a"
    assert row["metadata"]["session.id"] == "sess-9" and row["metadata"]["user.id"] == "user-3"
    assert row["tags"] == ["beta", "math"]
    assert row["metrics"]["prompt_tokens"] == 20 and row["metrics"]["completion_tokens"] == 1
    assert row["metrics"]["tokens"] == 21 and row["metrics"]["estimated_cost"] == 0.5


def test_openinference_chain_values_kinds_and_evaluations() -> None:
    from openinference.semconv.trace import OpenInferenceSpanKindValues, SpanAttributes

    def build(tracer: Any) -> None:
        with tracer.start_as_current_span("qa-chain") as span:
            span.set_attribute(SpanAttributes.OPENINFERENCE_SPAN_KIND, OpenInferenceSpanKindValues.CHAIN.value)
            span.set_attribute(SpanAttributes.INPUT_VALUE, "plain question")
            span.set_attribute(SpanAttributes.OUTPUT_VALUE, '{"answer": "yes"}')
            span.set_attribute(SpanAttributes.OUTPUT_MIME_TYPE, "application/json")
            span.set_attribute("evaluations.0.evaluation.name", "Correctness")
            span.set_attribute("evaluations.0.evaluation.score", 1.0)
            span.set_attribute("evaluations.0.evaluation.label", "correct")
            span.set_attribute("annotations.0.annotation.name", "thumbs")
            span.set_attribute("annotations.0.annotation.label", "up")  # a label without a number: metadata only
            for kind in ("RETRIEVER", "TOOL", "EVALUATOR", "AGENT"):
                with tracer.start_as_current_span(kind.lower()) as child:
                    child.set_attribute(SpanAttributes.OPENINFERENCE_SPAN_KIND, kind)

    rows = mapped(build)
    chain = rows["qa-chain"]
    assert chain["input"] == "plain question" and chain["output"] == {"answer": "yes"}
    assert chain["span_attributes"]["type"] == "task"
    assert chain["scores"] == {"Correctness": 1.0}
    assert {"name": "thumbs", "label": "up"} in chain["metadata"]["evaluations"]
    assert not any(k.startswith(("evaluations.", "annotations.")) for k in chain["metadata"])
    assert [rows[k]["span_attributes"]["type"] for k in ("retriever", "tool", "evaluator", "agent")] == \
        ["function", "tool", "score", "task"]


def test_error_status_and_exception_events_become_the_error() -> None:
    def build(tracer: Any) -> None:
        with tracer.start_as_current_span("fails") as span:
            try:
                raise ValueError("the model refused")
            except ValueError as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, "call failed"))
        with tracer.start_as_current_span("fine"):
            pass

    rows = mapped(build)
    error = rows["fails"]["error"]
    assert error.startswith("call failed")
    assert "ValueError: the model refused" in error and "Traceback" in error
    assert rows["fine"]["error"] is None


def test_unmapped_resource_scope_events_and_links_are_kept() -> None:
    def build(tracer: Any) -> None:
        with tracer.start_as_current_span("parent") as parent:
            parent.add_event("cache miss", {"key": "k1"})
            link_to = parent.get_span_context()
        from opentelemetry.trace import Link

        with tracer.start_as_current_span("linked", links=[Link(link_to, {"why": "retry"})]) as span:
            span.set_attribute("http.status_code", 200)
            span.set_attribute("db.rows", [1, 2, 3])

    rows = mapped(build, service="billing")
    assert rows["parent"]["metadata"]["otel.events"][0]["name"] == "cache miss"
    assert rows["parent"]["metadata"]["otel.events"][0]["attributes"] == {"key": "k1"}
    linked = rows["linked"]["metadata"]
    assert linked["http.status_code"] == 200 and linked["db.rows"] == [1, 2, 3]
    assert linked["otel.links"][0]["span_id"] == rows["parent"]["span_id"]
    assert linked["otel.links"][0]["attributes"] == {"why": "retry"}
    assert linked["otel.scope"] == {"name": "tests"}
    assert linked["otel.resource"]["service.name"] == "billing"
