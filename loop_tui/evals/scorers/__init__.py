"""Built-in scorers, importable as `loop_tui.evals.scorers.NAME` and callable as `NAME()(output=..., expected=...)`."""

from loop_tui.evals.score import Score, Scorer
from loop_tui.evals.scorers.heuristic import Contains, ExactMatch, Levenshtein, LevenshteinScorer, NumericDiff
from loop_tui.evals.scorers.llm_judge import (
    Battle,
    ClosedQA,
    Factuality,
    Humor,
    LLMClassifier,
    Possible,
    Security,
    Sql,
    Summary,
    Translation,
)
from loop_tui.evals.scorers.structured import JSONDiff, ListContains, ValidJSON

HEURISTICS = (ExactMatch, Levenshtein, NumericDiff, JSONDiff, ValidJSON, ListContains, Contains)
JUDGES = (Factuality, ClosedQA, Battle, Humor, Security, Sql, Summary, Translation, Possible)

__all__ = [
    "Battle",
    "ClosedQA",
    "Contains",
    "ExactMatch",
    "Factuality",
    "HEURISTICS",
    "Humor",
    "JSONDiff",
    "JUDGES",
    "LLMClassifier",
    "Levenshtein",
    "LevenshteinScorer",
    "ListContains",
    "NumericDiff",
    "Possible",
    "Score",
    "Scorer",
    "Security",
    "Sql",
    "Summary",
    "Translation",
    "ValidJSON",
]
