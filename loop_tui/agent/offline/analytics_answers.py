"""Written answers for the offline model's log analytics, each built only from the tool results it received."""

from __future__ import annotations

import re
from typing import Any

from loop_tui.agent.offline.answers import (
    NEEDS_MODEL,
    as_periods,
    load,
    md_table,
    num,
    pct,
    rate_table,
    result_rows,
)
from loop_tui.agent.tools.error_groups import error_text, exception_line


def unknown_grouping(words: str) -> str:
    """A grouping the offline model does not know: say so instead of answering another question."""
    return (f"I can group logs by model, span name, day, week, hour, user or region, but not by “{words}”; "
            f"that needs a language model (or write the query on the BTQL page). {NEEDS_MODEL}")


def _seconds(value: Any) -> str:
    return "–" if value is None else f"{num(float(value))} s"


def latency(label: str | None, points: list[int], content: str) -> str:
    """Latency percentiles overall or per group, naming the slowest and fastest group."""
    rows, instead = result_rows(content, "There are no requests with timings in that range.")
    if instead:
        return instead
    rows = as_periods(label, rows) if label else rows
    headers = [f"p{p}" for p in points]
    if label is None:
        row = rows[0]
        if not row.get("requests"):
            return "There are no requests with timings in that range."
        parts = ", ".join(f"p{p} {_seconds(row.get(f'p{p}_s'))}" for p in points)
        return f"Latency of {num(row['requests'])} requests: {parts} (mean {_seconds(row.get('mean_s'))})."
    rank = 95 if 95 in points else points[-1]
    key = f"p{rank}_s"
    table = [[r.get(label), num(r.get("requests")), *[_seconds(r.get(f"p{p}_s")) for p in points],
              _seconds(r.get("mean_s"))] for r in rows]
    timed = [r for r in rows if r.get(key) is not None]
    text = f"Latency by {label} ({len(rows)} groups, root spans unless grouped by span name)."
    if timed and label not in ("day", "week", "hour"):
        slowest, fastest = max(timed, key=lambda r: r[key]), min(timed, key=lambda r: r[key])
        text = (f"By p{rank} latency, the slowest {label} is **{slowest.get(label)}** ({_seconds(slowest[key])}) "
                f"and the fastest is **{fastest.get(label)}** ({_seconds(fastest[key])}).")
    return text + "\n\n" + md_table([label, "requests", *headers, "mean"], table)


def errors_by(label: str, content: str) -> str:
    """Errors and error rate per group: the group with the most errors and the one with the highest rate."""
    rows, instead = result_rows(content, "There are no requests in that range.")
    if instead:
        return instead
    rows = as_periods(label, rows)
    table, requests, errors = rate_table(label, rows)
    most = max(rows, key=lambda r: r.get("errors") or 0)
    worst = max(rows, key=lambda r: (r.get("errors") or 0) / (r.get("requests") or 1))
    if not errors:
        head = f"No request failed ({num(requests)} requests)."
    else:
        head = (f"Most errors: {label} **{most.get(label)}** with {num(most.get('errors'))} failed requests "
                f"({pct(most.get('errors') or 0, most.get('requests') or 0)} of its requests). Highest error rate: "
                f"**{worst.get(label)}** at {pct(worst.get('errors') or 0, worst.get('requests') or 0)}. Overall: "
                f"{pct(errors, requests)} ({num(errors)} of {num(requests)} requests).")
    return head + "\n\n" + md_table([label, "requests", "errors", "error rate"], table)


def _window(condition: str) -> str:
    """'created > now() - interval 7 day' as '7 days' (one day as '24 hours')."""
    match = re.search(r"interval (\d+) (\w+?)s?$", condition)
    if not match:
        return condition
    n, unit = int(match.group(1)), match.group(2)
    if (n, unit) == (1, "day"):
        return "24 hours"
    return unit if n == 1 else f"{n} {unit}s"


def recent_errors(window: str, content: str) -> str:
    """The newest errors in a window, newest first, each by its exception line."""
    rows, instead = result_rows(content, f"No errors in the last {_window(window)}.")
    if instead:
        return instead
    # Each failed request once: its newest error span (the span that raised it, whose parents repeat it).
    requests: dict[Any, dict[str, Any]] = {}
    for r in rows:
        requests.setdefault(r.get("root_span_id") or r.get("id"), r)
    shown = list(requests.values())[:RECENT_REQUESTS]
    table = [[str(r.get("created"))[:19].replace("T", " "), r.get("span"), r.get("model"),
              exception_line(error_text(r.get("error")))[:110]] for r in shown]
    cut = len(requests) > len(shown) or len(rows) >= RECENT_ERROR_SPANS
    head = (f"The newest {len(shown)} failed requests in the last {_window(window)}" if cut else
            f"{num(len(shown))} failed requests in the last {_window(window)}")
    return (f"{head}, newest first (each once, with the span that raised its error):\n\n"
            + md_table(["time (UTC)", "span", "model", "error"], table))


RECENT_REQUESTS = 20
"""Failed requests the most-recent-errors answer lists."""
RECENT_ERROR_SPANS = 60
"""Error spans its query reads: enough for 20 requests whose error repeats on a parent span or two."""


def common_errors(window: str, content: str) -> str:
    """The most common errors grouped by exception, each with its count, share, last time seen and an example."""
    data, error = load(content)
    if error:
        return f"I could not get the data: {error}"
    groups = data.get("groups") or []
    scope = f" in the last {_window(window)}" if window else ""
    if not groups:
        return f"There are no errors{scope} in these logs."
    total = sum(g.get("count") or 0 for g in groups)
    table = [[g.get("error", "")[:100], num(g.get("count")), pct(g.get("count") or 0, total), num(g.get("variants")),
              str(g.get("last_seen") or "")[:16].replace("T", " ")] for g in groups]
    top = groups[0]
    example = "\n".join(str(top.get("example") or "").splitlines()[-4:])
    return (f"The most common error{scope} is **{top.get('error')}** ({num(top.get('count'))} spans, "
            f"{num(top.get('variants'))} distinct text{'s' if top.get('variants') != 1 else ''}). Errors grouped by exception (type and message, with "
            f"numbers, ids and paths ignored), {num(data.get('error_groups'))} groups in all:\n\n"
            + md_table(["error", "spans", "share of these", "variants", "last seen"], table)
            + f"\n\nAn example of the first group:\n\n```\n{example}\n```")


def common_inputs(content: str) -> str:
    """The inputs sent most often."""
    rows, instead = result_rows(content, "There are no requests in that range.")
    if instead:
        return instead
    table = [[str(r.get("input"))[:120], num(r.get("n"))] for r in rows]
    return (f"The most common input was sent {num(rows[0].get('n'))} times. The {len(rows)} most common:\n\n"
            + md_table(["input", "requests"], table))


def active_users(label: str, content: str) -> str:
    """Distinct users per day or week, with the busiest period."""
    rows, instead = result_rows(content, "There are no requests in that range.")
    if instead:
        return instead
    table = [[str(r.get(label))[:10], num(r.get("active_users")), num(r.get("requests"))] for r in rows]
    peak = max(rows, key=lambda r: r.get("active_users") or 0)
    return (f"Active users per {label} (distinct metadata.user_id on requests); the most was "
            f"{num(peak.get('active_users'))} {'on' if label == 'day' else f'in the {label} of'} "
            f"{str(peak.get(label))[:10]}.\n\n"
            + md_table([label, "active users", "requests"], table))


def period_rows(label: str, content: str) -> tuple[list[dict[str, Any]], str | None]:
    """Periods (start as ISO text, active users) from the active-users query, or the answer to give instead."""
    rows, instead = result_rows(content, "There are no requests in that range.")
    periods = [{"start": str(r.get(label)), "active_users": r.get("active_users") or 0} for r in rows if r.get(label)]
    return periods, instead


def retention_too_short(label: str) -> str:
    """Fewer than two periods of data."""
    return f"Retention needs at least two {label}s of logs with user ids; these logs have fewer."


def retention(label: str, periods_content: str, pair_contents: list[str]) -> str:
    """Of the users active in each period, how many were active in the period before (retained)."""
    periods, _ = period_rows(label, periods_content)
    by_start = {p["start"]: p["active_users"] for p in periods}
    starts = [p["start"] for p in periods]
    pairs = list(zip(starts, starts[1:], strict=False))[-len(pair_contents):]
    table = []
    for (previous, current), content in zip(pairs, pair_contents, strict=True):
        data, error = load(content)
        if error:
            return f"I could not count the returning users of the {label} of {current[:10]}: {error}"
        retained = data.get("row_count", 0)
        table.append([current[:10], num(by_start[current]), num(by_start[previous]), num(retained),
                      pct(retained, by_start[previous])])
    last = table[-1]
    return (f"{label.capitalize()}-over-{label} retention: of the {last[2]} users active in the {label} before "
            f"{last[0]}, {last[3]} came back in that {label} ({last[4]}).\n\n"
            + md_table([label, "active users", f"active the {label} before", "of them returned", "retention"], table))
