"""Datasets, prompts, scorers, playgrounds and experiments of the two sample projects."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from loop_tui.store.demo import text
from loop_tui.store.demo.spans import IdMaker
from loop_tui.store.demo.traces import (
    TraceSettings,
    invoice_doc,
    invoice_trace,
    support_question,
    support_trace,
)
from loop_tui.store.workspace import Workspace

SUPPORT_PROMPT_V1 = {
    "messages": [
        {"role": "system", "content": "You are a helpful support assistant for Acme."},
        {"role": "user", "content": "{{input.question}}"},
    ],
    "model": "gpt-4o-mini",
    "params": {"temperature": 0.7, "max_tokens": 400},
    "template_format": "mustache",
}
SUPPORT_PROMPT_V2 = {
    "messages": [
        {"role": "system", "content": text.SUPPORT_SYSTEM},
        {"role": "user", "content": "Question: {{input.question}}\nAnswer in at most three sentences."},
    ],
    "model": "gpt-4o-mini",
    "params": {"temperature": 0.2, "max_tokens": 300},
    "template_format": "mustache",
}
INVOICE_PROMPT = {
    "messages": [
        {"role": "system", "content": text.INVOICE_SYSTEM},
        {"role": "user", "content": "{{input.document}}"},
    ],
    "model": "gpt-4.1-mini",
    "params": {"temperature": 0, "response_format": {"type": "json_object"}},
    "template_format": "mustache",
}
HELPFULNESS_JUDGE = {
    "type": "llm",
    "description": "Does the answer resolve the customer's question?",
    "prompt": "Customer question: {{input.question}}\nAssistant answer: {{output}}\n\nDoes the answer fully resolve the question?\n(A) Yes, completely\n(B) Partly\n(C) No",
    "choice_scores": {"A": 1.0, "B": 0.5, "C": 0.0},
    "use_cot": True,
    "model": "gpt-4o-mini",
}
ANSWER_LENGTH_CODE = {
    "type": "code",
    "description": "Penalise answers longer than 60 words.",
    "code": "def handler(input, output, expected, metadata):\n    words = len(str(output or '').split())\n    return 1.0 if words <= 60 else max(0.0, 1 - (words - 60) / 60)\n",
}
RELEVANCE_JUDGE = {
    "type": "llm",
    "description": "Does the answer address the question that was asked (whether or not it is correct)?",
    "prompt": "Customer question: {{input.question}}\nAssistant answer: {{output}}\n\nHow relevant is the answer to the question?\n(A) Fully on topic\n(B) Partly on topic\n(C) Off topic",
    "choice_scores": {"A": 1.0, "B": 0.5, "C": 0.0},
    "use_cot": True,
    "model": "gpt-4o-mini",
}
FIELD_ACCURACY_CODE = {
    "type": "code",
    "description": "The share of the expected fields that the extraction got exactly right.",
    "code": "def handler(output, expected):\n    if not isinstance(output, dict) or not isinstance(expected, dict) or not expected:\n        return 0.0\n    return round(sum(output.get(k) == v for k, v in expected.items()) / len(expected), 3)\n",
}
TOTAL_MATCHES_CODE = {
    "type": "code",
    "description": "1 when the extracted total equals the expected total (to the cent).",
    "code": "def handler(input, output, expected, metadata):\n    try:\n        return float(abs(float(output['total']) - float(expected['total'])) < 0.005)\n    except (TypeError, KeyError, ValueError):\n        return 0.0\n",
}


def _dataset(ws: Workspace, project_id: str, name: str, description: str, rows: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    ds = ws.save_object("dataset", project_id, name, {"description": description, "metadata": {}})
    ws.insert_rows("dataset", ds.id, rows, project_id=project_id, description=f"sample rows for {name}")
    return ds.id, rows


def write_support_objects(ws: Workspace, project_id: str, rng: random.Random, end: datetime, experiment: Any) -> None:
    """support-bot: 2 datasets, a prompt with 2 versions, 3 saved scorers, a playground, 3 experiments."""
    ids = IdMaker(rng)
    golden = []
    for n in range(40):
        topic = n % len(text.SUPPORT_TOPICS)
        question, answer = support_question(rng, topic)
        golden.append({"id": ids(), "input": {"question": question}, "expected": answer,
                       "metadata": {"topic": text.SUPPORT_TOPICS[topic][0].split(" {")[0], "difficulty": rng.choice(["easy", "medium", "hard"])},
                       "tags": ["golden"], "created": (end - timedelta(days=20, minutes=n)).isoformat()})
    golden_id, golden_rows = _dataset(ws, project_id, "support-golden", "Curated questions with reference answers", golden)
    escalations = []
    for n in range(15):
        question, answer = support_question(rng, rng.choice([1, 5, 12]))
        escalations.append({"id": ids(), "input": {"question": question + " This is the third time I'm asking!"},
                            "expected": answer, "metadata": {"source": "thumbs-down logs"}, "tags": ["escalation"],
                            "created": (end - timedelta(days=5, minutes=n)).isoformat()})
    _dataset(ws, project_id, "escalations", "Conversations users rated thumbs-down", escalations)

    prompt = ws.save_object("prompt", project_id, "support-answer", SUPPORT_PROMPT_V1)
    prompt = ws.save_object("prompt", project_id, "support-answer", SUPPORT_PROMPT_V2, id=prompt.id)
    ws.save_object("scorer", project_id, "helpfulness", HELPFULNESS_JUDGE)
    ws.save_object("scorer", project_id, "answer-length", ANSWER_LENGTH_CODE)
    ws.save_object("scorer", project_id, "Relevance", RELEVANCE_JUDGE)  # what the sample experiments scored with
    ws.save_object("playground", project_id, "support-playground", {
        "prompt_id": prompt.id, "prompt": SUPPORT_PROMPT_V2, "dataset_id": golden_id, "scorers": ["Factuality", "answer-length"],
    })

    def build(rng: random.Random, ids: IdMaker, t: float, s: TraceSettings, row: dict[str, Any], origin: dict[str, Any]):
        return support_trace(rng, ids, t, s, row["input"]["question"], row["expected"], {"dataset_row": row["id"]},
                             expected=row["expected"], origin=origin)

    runs = [
        ("baseline-gpt-4o-mini", TraceSettings("gpt-4o-mini", "v1", 0.62, 0.05, kind="eval"), SUPPORT_PROMPT_V1, 14),
        ("prompt-v2-gpt-4o-mini", TraceSettings("gpt-4o-mini", "v2", 0.74, 0.025, kind="eval"), SUPPORT_PROMPT_V2, 9),
        ("prompt-v2-claude-3-5-sonnet", TraceSettings("claude-3-5-sonnet", "v2", 0.83, 0.0, kind="eval"), {**SUPPORT_PROMPT_V2, "model": "claude-3-5-sonnet"}, 3),
    ]
    base = None
    for name, settings, prompt_data, days_ago in runs:
        base = experiment(ws, project_id, name, rng, golden_rows, golden_id, settings, end - timedelta(days=days_ago), base, prompt_data, build)


def write_invoice_objects(ws: Workspace, project_id: str, rng: random.Random, end: datetime, experiment: Any) -> None:
    """invoice-extraction: 2 datasets, a prompt, 2 code scorers, a playground, 3 experiments."""
    ids = IdMaker(rng)
    golden = []
    for n in range(30):
        doc, truth = invoice_doc(rng)
        golden.append({"id": ids(), "input": {"document": doc}, "expected": truth,
                       "metadata": {"vendor": truth["vendor"], "currency": truth["currency"]},
                       "created": (end - timedelta(days=25, minutes=n)).isoformat()})
    golden_id, golden_rows = _dataset(ws, project_id, "invoices-golden", "Invoices with hand-checked extractions", golden)
    edge = []
    for n in range(10):
        doc, truth = invoice_doc(rng)
        doc = doc.replace("TOTAL", rng.choice(["Amount due", "Balance", "TOTAL (incl. VAT)"]))
        edge.append({"id": ids(), "input": {"document": doc}, "expected": truth, "tags": ["edge-case"],
                     "metadata": {"note": "unusual total label"}, "created": (end - timedelta(days=8, minutes=n)).isoformat()})
    _dataset(ws, project_id, "edge-cases", "Invoices with unusual layouts", edge)
    prompt = ws.save_object("prompt", project_id, "extract-invoice", INVOICE_PROMPT)
    ws.save_object("scorer", project_id, "total-matches", TOTAL_MATCHES_CODE)
    ws.save_object("scorer", project_id, "FieldAccuracy", FIELD_ACCURACY_CODE)  # what the sample experiments scored with
    ws.save_object("playground", project_id, "invoice-playground", {
        "prompt_id": prompt.id, "prompt": INVOICE_PROMPT, "dataset_id": golden_id, "scorers": ["ExactMatch", "total-matches"],
    })

    def build(rng: random.Random, ids: IdMaker, t: float, s: TraceSettings, row: dict[str, Any], origin: dict[str, Any]):
        return invoice_trace(rng, ids, t, s, row["input"]["document"], row["expected"], {"dataset_row": row["id"]},
                             expected=row["expected"], origin=origin)

    runs = [
        ("gpt-4.1-mini-v3", TraceSettings("gpt-4.1-mini", "v3", 0.7, 0.07, kind="eval"), INVOICE_PROMPT, 12),
        ("gpt-4.1-v3", TraceSettings("gpt-4.1", "v3", 0.86, 0.03, kind="eval"), {**INVOICE_PROMPT, "model": "gpt-4.1"}, 6),
        ("gpt-4.1-v3-strict-json", TraceSettings("gpt-4.1", "v3", 0.84, 0.0, kind="eval"), {**INVOICE_PROMPT, "model": "gpt-4.1"}, 2),
    ]
    base = None
    for name, settings, prompt_data, days_ago in runs:
        base = experiment(ws, project_id, name, rng, golden_rows, golden_id, settings, end - timedelta(days=days_ago), base, prompt_data, build)
