"""Trace builders: one support-bot conversation turn, one invoice extraction."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from loop_tui.store.demo import text
from loop_tui.store.demo.spans import IdMaker, cost, span


@dataclass
class TraceSettings:
    """What varies between production traffic and experiment runs."""

    model: str
    prompt_version: str
    quality: float  # 0..1, shifts score distributions (better prompts/models score higher)
    error_rate: float
    kind: str = "task"  # root span type: "task" for logs, "eval" for experiments


def support_question(rng: random.Random, topic: int) -> tuple[str, str]:
    """A user question and the reference answer for a topic."""
    order = f"#{rng.randint(10000, 99999)}"
    ask, answer = text.SUPPORT_TOPICS[topic]
    question = f"{rng.choice(text.SUPPORT_PREFIXES)} {ask.format(order=order)}{rng.choice(text.SUPPORT_SUFFIXES)}"
    return question, answer.format(order=order)


def _score(rng: random.Random, quality: float, spread: float = 0.25) -> float:
    return round(min(1.0, max(0.0, rng.gauss(quality, spread))), 3)


def _provider(model: str) -> str:
    return "anthropic" if model.startswith("claude") else "openai"


def _usage(prompt: int, completion: int, cost_usd: float, ttft: float | None = None) -> dict[str, float]:
    """Token and cost metrics of an llm span (or a root's totals); the key order is the stored order."""
    metrics = {"prompt_tokens": prompt, "completion_tokens": completion, "tokens": prompt + completion,
               "estimated_cost": cost_usd}
    if ttft is not None:
        metrics["time_to_first_token"] = round(ttft, 3)
    return metrics


def _root(ids: IdMaker, root_id: str, s: TraceSettings, name: str, start: float, end: float,
          metadata: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The trace's root span under `root_id`, the id its children already point at."""
    # span() still draws an id of its own (then replaced): the random stream, so a seed's rows, stay the same.
    root = span(ids=ids, root_span_id=None, parent=None, name=name, type_=s.kind, start=start, end=end,
                metadata={**metadata, "model": s.model, "prompt_version": s.prompt_version}, **fields)
    root["id"] = root["span_id"] = root["root_span_id"] = root_id
    return root


def support_trace(
    rng: random.Random,
    ids: IdMaker,
    t0: float,
    s: TraceSettings,
    question: str,
    reference: str,
    metadata: dict[str, Any],
    *,
    tags: list[str] | None = None,
    expected: Any = None,
    origin: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, float | None]]:
    """chat -> retrieve -> llm -> [lookup_order -> llm]; returns spans (root first) and root scores."""
    root_id = ids()
    spans: list[dict[str, Any]] = []
    t = t0 + 0.01
    docs = rng.sample(text.KB_DOCS, 3)
    retrieve_end = t + rng.uniform(0.05, 0.35)
    wants_tool = "order" in question and rng.random() < 0.7
    error_kind = None
    if rng.random() < s.error_rate:
        error_kind = rng.choice(["rate_limit", "rate_limit", "timeout", "tool" if wants_tool else "timeout", "context"])
    child: dict[str, Any] = dict(ids=ids, root_span_id=root_id, parent=root_id)
    spans.append(span(**child, name="retrieve", type_="function", start=t, end=retrieve_end,
                      input={"query": question, "top_k": 3}, output={"documents": docs}))
    t = retrieve_end
    prompt_tokens = rng.randint(650, 2400)
    completion_tokens = rng.randint(40, 320)
    ttft = rng.uniform(0.25, 1.1) * (1.6 if s.model.startswith("claude") else 1.0)
    llm_end = t + ttft + completion_tokens / rng.uniform(45, 110)
    messages = [{"role": "system", "content": text.SUPPORT_SYSTEM}, {"role": "user", "content": question}]
    llm_meta = {"model": s.model, "provider": _provider(s.model), "temperature": 0.2}
    answer = reference if rng.random() < s.quality else f"I'm not sure, but you could try contacting support about: {question.lower()}"
    error: Any = None
    total_prompt, total_completion, total_cost = 0, 0, 0.0
    if error_kind in ("rate_limit", "timeout", "context"):
        error = text.ERRORS[error_kind].format(model=s.model)
        llm_end = t + (30.0 if error_kind == "timeout" else rng.uniform(0.05, 0.3))
        spans.append(span(**child, name="llm", type_="llm", start=t, end=llm_end, input=messages, error=error,
                          metadata=llm_meta, metrics={"prompt_tokens": 0, "completion_tokens": 0, "tokens": 0}))
        t = llm_end
    else:
        c = cost(s.model, prompt_tokens, completion_tokens)
        total_prompt, total_completion, total_cost = prompt_tokens, completion_tokens, c
        out_msg: dict[str, Any] = {"role": "assistant", "content": answer}
        if wants_tool:
            out_msg = {"role": "assistant", "content": None,
                       "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": question.split("#")[-1][:5]}}]}
        spans.append(span(**child, name="llm", type_="llm", start=t, end=llm_end, input=messages, output=out_msg,
                          metadata=llm_meta, metrics=_usage(prompt_tokens, completion_tokens, c, ttft)))
        t = llm_end
        if wants_tool:
            tool_end = t + rng.uniform(0.08, 0.6)
            tool_error = text.ERRORS["tool"] if error_kind == "tool" else None
            spans.append(span(**child, name="lookup_order", type_="tool", start=t, end=tool_end,
                              input={"order_id": question.split("#")[-1][:5]},
                              output=None if tool_error else {"status": rng.choice(["shipped", "processing", "delivered"])},
                              error=tool_error))
            t = tool_end
            if tool_error:
                error = tool_error
            else:
                p2, c2 = prompt_tokens + rng.randint(60, 200), rng.randint(40, 200)
                end2 = t + ttft + c2 / 80
                cost2 = cost(s.model, p2, c2)
                spans.append(span(**child, name="llm", type_="llm", start=t, end=end2, input=messages, metadata=llm_meta,
                                  output={"role": "assistant", "content": answer},
                                  metrics=_usage(p2, c2, cost2, ttft)))
                total_prompt, total_completion, total_cost = total_prompt + p2, total_completion + c2, total_cost + cost2
                t = end2
    scores: dict[str, float | None] = {}
    if error is None:
        factual = 1.0 if answer == reference else rng.choice([0.0, 0.4, 0.6])
        scores = {"Factuality": factual, "Relevance": _score(rng, s.quality + 0.1)}
    root = _root(ids, root_id, s, "chat", t0, t + 0.01, metadata,
                 input={"question": question}, output=None if error else answer, expected=expected, error=error,
                 scores=scores or None, metrics=_usage(total_prompt, total_completion, round(total_cost, 8)),
                 tags=tags, origin=origin)
    return [root, *spans], scores


def invoice_doc(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """An invoice's OCR text and the true extraction."""
    vendor = rng.choice(text.VENDORS)
    currency = rng.choice(text.CURRENCIES)
    items: list[dict[str, Any]] = [
        {"description": d, "amount": round(rng.uniform(20, 900), 2)} for d in rng.sample(text.ITEMS, rng.randint(1, 4))
    ]
    total = round(sum(i["amount"] for i in items), 2)
    date = f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}"
    lines = "\n".join(f"{i['description']:<24}{i['amount']:>10.2f}" for i in items)
    doc = f"INVOICE\n{vendor}\nDate: {date}\n\n{lines}\n\nTOTAL {currency} {total:.2f}"
    truth = {"vendor": vendor, "invoice_date": date, "currency": currency, "total": total, "line_items": items}
    return doc, truth


def invoice_trace(
    rng: random.Random,
    ids: IdMaker,
    t0: float,
    s: TraceSettings,
    doc: str,
    truth: dict[str, Any],
    metadata: dict[str, Any],
    *,
    tags: list[str] | None = None,
    expected: Any = None,
    origin: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, float | None]]:
    """extract_invoice -> ocr -> llm -> validate; returns spans (root first) and root scores."""
    root_id = ids()
    child: dict[str, Any] = dict(ids=ids, root_span_id=root_id, parent=root_id)
    spans: list[dict[str, Any]] = []
    t = t0 + 0.02
    ocr_end = t + rng.uniform(0.3, 1.5)
    spans.append(span(**child, name="ocr", type_="function", start=t, end=ocr_end,
                      input={"pages": rng.randint(1, 3)}, output={"text": doc}))
    t = ocr_end
    p, c = rng.randint(400, 1500), rng.randint(80, 260)
    ttft = rng.uniform(0.2, 0.8)
    llm_end = t + ttft + c / 90
    extraction = dict(truth)
    if rng.random() > s.quality:  # a plausible mistake
        extraction = {**truth, "total": round(truth["total"] * rng.choice([0.9, 1.1, 1.0]), 2),
                      "currency": rng.choice(text.CURRENCIES)}
    bad_json = rng.random() < s.error_rate
    raw = str(extraction).replace("'", '"')[:-3] if bad_json else extraction
    llm_meta = {"model": s.model, "provider": _provider(s.model), "response_format": "json_object"}
    c_usd = cost(s.model, p, c)
    spans.append(span(**child, name="llm", type_="llm", start=t, end=llm_end,
                      input=[{"role": "system", "content": text.INVOICE_SYSTEM}, {"role": "user", "content": doc}],
                      output=raw, metadata=llm_meta,
                      metrics=_usage(p, c, c_usd, ttft)))
    t = llm_end
    error = None
    if bad_json:
        # Two draws, as before, so every other generated value stays the same for a given seed.
        kind, _ = rng.randint(40, 200), rng.randint(40, 200)
        error = text.BAD_JSON_KINDS[kind % len(text.BAD_JSON_KINDS)]
    v_end = t + rng.uniform(0.001, 0.02)
    spans.append(span(**child, name="validate", type_="function", start=t, end=v_end, input={"extraction": raw},
                      output=None if error else {"valid": True}, error=error))
    t = v_end
    scores: dict[str, float | None] = {}
    if error is None:
        exact = 1.0 if extraction == truth else 0.0
        fields = sum(extraction.get(k) == truth.get(k) for k in truth) / len(truth)
        scores = {"ExactMatch": exact, "FieldAccuracy": round(fields, 3), "ValidJSON": 1.0}
    else:
        scores = {"ExactMatch": 0.0, "FieldAccuracy": 0.0, "ValidJSON": 0.0}
    root = _root(ids, root_id, s, "extract_invoice", t0, t + 0.01, metadata,
                 input={"document": doc}, output=None if error else extraction, expected=expected, error=error,
                 scores=scores, metrics=_usage(p, c, c_usd), tags=tags, origin=origin)
    return [root, *spans], scores
