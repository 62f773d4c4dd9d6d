"""Where the user is: the page and the objects on it. It decides which tools Loop is offered."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from loop_tui.errors import UserError

PAGES = ("playground", "experiments", "datasets", "logs", "btql", "settings")


@dataclass
class PageContext:
    """The page the user is on and what it shows (ids, selected rows, the BTQL editor's query and error)."""

    page: str = "logs"
    project: str | None = None
    experiment_id: str | None = None
    base_experiment_id: str | None = None  # what the page compares experiment_id against (the compare view's A)
    dataset_id: str | None = None
    playground_id: str | None = None
    selected_row_ids: list[str] = field(default_factory=list)
    btql_query: str | None = None
    btql_error: str | None = None
    remote: bool = False  # the page queries Braintrust where the data lives: BTQL tools run on its /btql

    def __post_init__(self) -> None:
        if self.page not in PAGES:
            raise UserError(f"unknown page {self.page!r}; use one of {', '.join(PAGES)}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, without empty fields (nor `remote` when the page is local: the usual case)."""
        return {k: v for k, v in asdict(self).items() if v not in (None, [], "") and v is not False}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PageContext:
        """Rebuild from `to_dict` output (unknown keys ignored)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)
