"""Failures talking to Braintrust, each one sentence that never contains the key."""

from __future__ import annotations

from loop_tui.errors import UserError


class RemoteError(UserError):
    """A request to Braintrust failed. `kind`: auth, forbidden, not_found, bad_request, rate_limited, server,
    connection, timeout, protocol or endless. Auth and not-found problems are the user's to fix (exit 2); the
    others are failures of the run (exit 4)."""

    def __init__(self, kind: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.exit_code = 2 if kind in ("auth", "forbidden", "not_found", "bad_request") else 4

    @property
    def retryable(self) -> bool:
        """Whether trying again later may help."""
        return self.kind in ("rate_limited", "server", "connection", "timeout", "protocol")
