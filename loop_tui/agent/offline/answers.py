"""The offline model's written answers, each built only from the tool results it received."""

from __future__ import annotations

import json
from typing import Any

from loop_tui.agent.offline.btql_fix import parse_error

NEEDS_MODEL = (
    "To ask anything else, configure a language model: set OPENAI_API_KEY or ANTHROPIC_API_KEY in the "
    "environment (or a local OpenAI-compatible server under [providers] in settings.toml), then choose it "
    "with --model (e.g. --model gpt-4.1) or models.default in the settings."
)


def load(content: str) -> tuple[Any, str | None]:
    """(parsed JSON, None) or (None, the error text) for a tool result."""
    if content.startswith("Error: "):
        return None, content.removeprefix("Error: ")
    try:
        return json.loads(content), None
    except json.JSONDecodeError:
        return None, f"the tool returned something I cannot read: {content[:200]}"


def num(value: Any, digits: int = 2) -> str:
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "–" if value is None else str(value)


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def md_table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def failed(error: str) -> str:
    return f"I could not get the data: {error}"


def columns_to_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(data.get("columns", []), row, strict=False)) for row in data.get("rows", [])]


def result_rows(content: str, empty: str) -> tuple[list[dict[str, Any]], str | None]:
    """A query result's rows, or no rows and the answer to give instead: the failure, or `empty` if none came back."""
    data, error = load(content)
    if error:
        return [], failed(error)
    rows = columns_to_rows(data)
    return rows, None if rows else empty


def tool_unavailable(tool: str, page: str) -> str:
    """The request needs a tool that is disabled or not offered here."""
    return (f"I would answer that with the `{tool}` tool, but it is disabled in the settings or not offered on the "
            f"{page} page. Enable it under [tools] in settings.toml, or ask from another page.")


def unsupported(page: str, abilities: dict[str, list[str]]) -> str:
    """The honest answer to anything outside the fixed set of requests."""
    can = abilities.get(page) or []
    listed = "; ".join(can + ['"how do I …" questions about Loop TUI'])
    return (f"I'm the offline model, not a language model, so I only understand a fixed set of requests. On the "
            f"{page} page I can answer: {listed}. {NEEDS_MODEL}")


def common_errors(content: str) -> str:
    rows, instead = result_rows(content, "There are no errors in these logs.")
    if instead:
        return instead
    total = sum(r.get("n") or 0 for r in rows)
    body = md_table(["error", "count", "share of top errors"],
                  [[str(r.get("error"))[:120], num(r.get("n")), pct(r.get("n") or 0, total)] for r in rows])
    top = rows[0]
    return (f"The most common error is **{str(top.get('error'))[:120]}** ({num(top.get('n'))} spans). "
            f"Top {len(rows)} errors:\n\n{body}")


_PERIOD_CHARS = {"day": 10, "week": 10, "hour": 16}


def as_periods(label: str, rows: list[dict]) -> list[dict]:
    """Rows grouped by day, week or hour with that group shown as a date ("2026-11-05"; an hour as
    "2026-11-05 14:00"), not as the timestamp the query returns ("2026-11-05T00:00:00+00:00")."""
    cut = _PERIOD_CHARS.get(label)
    if cut is None:
        return rows
    return [{**r, label: str(r[label])[:cut].replace("T", " ")} if r.get(label) is not None else r for r in rows]


def rate_table(label: str, rows: list[dict]) -> tuple[list[list], int, int]:
    """Per group: label, requests, errors, error rate; and the totals of requests and errors."""
    table = [[r.get(label), num(r.get("requests")), num(r.get("errors")), pct(r.get("errors") or 0, r.get("requests") or 0)]
             for r in rows]
    return table, sum(r.get("requests") or 0 for r in rows), sum(r.get("errors") or 0 for r in rows)


def error_rate(label: str, content: str) -> str:
    rows, instead = result_rows(content, "There are no requests in that range.")
    if instead:
        return instead
    rows = as_periods(label, rows)
    table, requests, errors = rate_table(label, rows)
    worst = max(rows, key=lambda r: (r.get("errors") or 0) / (r.get("requests") or 1))
    return (f"Overall error rate: {pct(errors, requests)} ({num(errors)} of {num(requests)} requests). "
            f"Highest: {label} **{worst.get(label)}** at {pct(worst.get('errors') or 0, worst.get('requests') or 0)}.\n\n"
            + md_table([label, "requests", "errors", "error rate"], table))


def token_usage(label: str, content: str) -> str:
    rows, instead = result_rows(content, "There are no requests in that range.")
    if instead:
        return instead
    rows = as_periods(label, rows)
    table = [[r.get(label), num(r.get("requests")), num(r.get("prompt_tokens"), 0), num(r.get("completion_tokens"), 0),
              num(r.get("tokens"), 0), "$" + num(r.get("cost_usd"), 4)] for r in rows]
    tokens = sum(r.get("tokens") or 0 for r in rows)
    cost = sum(r.get("cost_usd") or 0 for r in rows)
    priciest = max(rows, key=lambda r: r.get("cost_usd") or 0)
    most = (f" The most expensive {label} is **{priciest.get(label)}** at ${priciest.get('cost_usd') or 0:,.4f}."
            if label not in ("day", "hour", "week") and priciest.get("cost_usd") else "")
    return (f"Token usage by {label}: {num(float(tokens), 0)} tokens in total, about ${cost:,.4f}.{most}\n\n"
            + md_table([label, "requests", "prompt tokens", "completion tokens", "tokens", "cost"], table))


def slowest(content: str) -> str:
    rows, instead = result_rows(content, "There are no requests with timings in that range.")
    if instead:
        return instead
    table = [[r.get("id"), str(r.get("created"))[:19], r.get("model"), num(r.get("duration_s")) + " s", str(r.get("input"))[:80]]
             for r in rows]
    return (f"The slowest request took {num(rows[0].get('duration_s'))} s. The {len(rows)} slowest:\n\n"
            + md_table(["id", "created", "model", "duration", "input"], table))


def found_rows(term: str, content: str) -> str:
    data, error = load(content)
    if error:
        return failed(error)
    rows = columns_to_rows(data) if "columns" in data else data.get("rows", [])
    if not rows:
        return f"No rows mention “{term}”."
    # The third column is the first of output (logs, experiments), expected (datasets) or error that rows have.
    third = next((f for f in ("output", "expected", "error") if any(r.get(f) is not None for r in rows)), "output")
    table = [[r.get("id"), _as_text(r.get("input"))[:90], _as_text(r.get(third))[:90]] for r in rows]
    return f"{len(rows)} rows mention “{term}” (newest first):\n\n" + md_table(["id", "input", third], table)


def _as_text(value: Any) -> str:
    """A row field as the user knows it: text as it is, anything else as JSON (not Python's repr)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def docs(content: str) -> str:
    data, error = load(content)
    if error:
        return failed(error)
    results = data.get("results") or []
    if not results:
        return f"The documentation has nothing on that. {NEEDS_MODEL}"
    parts = ["From the Loop TUI documentation:"]
    for hit in results[:2]:
        parts.append(f"**{hit['title']}**\n\n{hit['passage']}")
    return "\n\n".join(parts)


def summary(page: str, content: str) -> str:
    data, error = load(content)
    if error:
        return failed(error)
    if "experiments" in data:
        lines = [f"Project {data.get('project')} has {len(data['experiments'])} experiments (newest first):", ""]
        for exp in data["experiments"]:
            scores = ", ".join(f"{k} {num(v.get('mean'))}" for k, v in (exp.get("scores") or {}).items())
            lines.append(f"- **{exp['name']}** ({exp.get('model')}, {exp.get('rows')} rows): {scores or 'no scores'}")
        return "\n".join(lines)
    if "experiment" in data and "scores" in data:
        return _experiment(data)
    if "playground" in data:
        run = data.get("last_run")
        scores = ", ".join(f"{k} {num(v.get('mean'))}" for k, v in ((run or {}).get("scores") or {}).items())
        ds = data.get("dataset") or {}
        if not data.get("prompt"):
            return (f"Playground **{data['playground']}** has no prompt yet. Write one in the editor (ctrl+s saves "
                    f"it), or configure a language model and ask me to draft it. {NEEDS_MODEL}")
        return (f"Playground **{data['playground']}** runs {data['prompt'].get('model')} over dataset "
                f"{ds.get('name', '(none)')} ({ds.get('rows', 0)} rows) with scorers {', '.join(data.get('scorers') or []) or 'none'}. "
                + (f"Last run **{run['experiment']}**: {scores or 'no scores'}." if run else "It has not been run yet."))
    if "dataset" in data:
        fields = ", ".join(f"{f}: {', '.join(v)}" for f, v in (data.get("fields") or {}).items())
        tags = ", ".join(f"{k} ({v})" for k, v in (data.get("tags") or {}).items()) or "none"
        return (f"Dataset **{data['dataset']}** has {num(data.get('rows'))} rows. Fields — {fields}. Tags: {tags}.")
    if "requests" in data:
        models = ", ".join(f"{m['model']} ({num(m.get('llm_spans'))} calls)" for m in data.get("by_model") or [])
        top = (data.get("top_errors") or [{}])[0]
        return (f"Logs of **{data['project']}** from {str(data['time_range'][0])[:10]} to {str(data['time_range'][1])[:10]}: "
                f"{num(data['requests'])} requests ({num(data['spans'])} spans), error rate {pct(data.get('requests_with_errors') or 0, data['requests'])}, "
                f"latency p50 {num(data.get('p50_duration_s'))} s / p95 {num(data.get('p95_duration_s'))} s, "
                f"{num(data.get('tokens'), 0)} tokens, about ${num(data.get('estimated_cost_usd'), 2)}. Models: {models}. "
                + (f"Most common error: {top.get('error')} ({top.get('count')})." if top else ""))
    return f"Here is the summary: {content[:800]}"


def _experiment(data: dict[str, Any]) -> str:
    exp, base = data["experiment"], data.get("base")
    head = f"Experiment **{exp['name']}** ({data.get('rows')} rows, {data.get('errors', 0)} errors)"
    head += f" compared with **{base['name']}**:" if base else " (no base experiment to compare with):"
    rows = []
    for name, s in (data.get("scores") or {}).items():
        diff = s.get("diff")
        ci = (f"[{num(s.get('ci_low'), 3)}, {num(s.get('ci_high'), 3)}]" if s.get("ci_low") is not None else "–")
        rows.append([name, num(s.get("mean"), 3), ("+" if (diff or 0) > 0 else "") + num(diff, 3) if diff is not None else "–",
                     s.get("improvements", 0), s.get("regressions", 0), ci])
    text = head + "\n\n" + md_table(["score", "mean", "diff", "improved", "regressed", "95% CI of diff"], rows)
    significant = [r[0] for r in rows if r[5] != "–" and (data["scores"][r[0]].get("ci_high") or 0) < 0]
    if significant:
        text += f"\n\nThe drop in {', '.join(significant)} is larger than noise (its confidence interval is below zero)."
    return text


def regressions(content: str) -> str:
    data, error = load(content)
    if error:
        return failed(error)
    if "scores" not in data:
        return "Open an experiment first: I compare the open experiment with its base."
    if not data.get("base"):
        return f"Experiment {data['experiment']['name']} has no base experiment, so nothing can have regressed against one."
    scores = data.get("scores") or {}
    regressed = {k: v for k, v in scores.items() if v.get("regressions")}
    parts = [_experiment(data)]
    if not regressed:
        parts.append("No row regressed on any score.")
    worst = data.get("worst_regressions") or []
    if worst:
        parts.append("Rows that regressed the most:")
        for row in worst:
            deltas = ", ".join(f"{k} {v:+.2f}" for k, v in row.get("deltas", {}).items())
            parts.append(f"- input {str(row.get('input'))[:100]} → {deltas}; output now: {str(row.get('output'))[:100]}")
    return "\n\n".join(parts)


def btql_unfixable(query: str, result: str) -> str:
    error = parse_error(result)
    if not error:
        data, failure = load(result)
        if failure:
            return f"The query fails with: {failure}. I cannot fix that without a language model. {NEEDS_MODEL}"
        return f"The query runs fine: it returns {data.get('row_count', 0)} rows, so there is nothing to fix."
    where = f" at line {error.get('line')}, column {error.get('col')}" if error.get("line") else ""
    return (f"The query has a {error['kind']} error ({error['code']}){where}: {error.get('message')}"
            + (f" Hint: {error['hint']}" if error.get("hint") else "")
            + f" The error gives no replacement I can apply, so fixing it needs a language model. {NEEDS_MODEL}")


def btql_fixed(query: str, first: str, fixed: str, second: str) -> str:
    error = parse_error(first) or {}
    data, failure = load(second)
    outcome = (f"It now runs and returns {data.get('row_count', 0)} rows." if not failure
               else f"It still fails: {failure}")
    return (f"The query failed with {error.get('kind', 'an')} error `{error.get('code', '')}`: {error.get('message', '')} "
            f"Applying the hint ({error.get('hint', '')}) gives:\n\n```sql\n{fixed}\n```\n\n{outcome}")


def btql_not_edited(reason: str) -> str:
    """An edit of the query on screen that could not be made, and why."""
    return f"I could not rewrite the query: {reason}. A language model can make freer edits. {NEEDS_MODEL}"


def btql_edited(summary: str, query: str, result: str) -> str:
    """The rewritten query (in a code block the BTQL page can take) and what running it gave."""
    data, failure = load(result)
    outcome = (f"It runs and returns {num(data.get('row_count', 0))} rows." if not failure
               else f"Running it fails: {failure}")
    return f"Here is the query with the change ({summary}):\n\n```sql\n{query}\n```\n\n{outcome}"
