"""Where Braintrust is and which key to use: settings `[braintrust]` overridden by the SDK's own env vars."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from loop_tui.remote.errors import RemoteError

DEFAULT_APP_URL = "https://www.braintrust.dev"


@dataclass(frozen=True)
class Connection:
    """How to reach one Braintrust organisation. Holds the *name* of the key's variable, never the key."""

    app_url: str
    api_url: str | None
    org_name: str | None
    api_key_env: str = "BRAINTRUST_API_KEY"
    timeout_s: float = 30.0
    max_retries: int = 5

    @classmethod
    def resolve(cls, settings: object | None = None, env: Mapping[str, str] | None = None) -> Connection:
        """Settings `[braintrust]` (or the defaults), with BRAINTRUST_APP_URL/API_URL/ORG_NAME winning."""
        env = os.environ if env is None else env
        section = getattr(settings, "braintrust", None)
        app_url = env.get("BRAINTRUST_APP_URL") or getattr(section, "app_url", None) or DEFAULT_APP_URL
        return cls(
            app_url=app_url.rstrip("/"),
            api_url=(env.get("BRAINTRUST_API_URL") or getattr(section, "api_url", None) or "").rstrip("/") or None,
            org_name=env.get("BRAINTRUST_ORG_NAME") or getattr(section, "org_name", None),
            api_key_env=getattr(section, "api_key_env", None) or "BRAINTRUST_API_KEY",
            timeout_s=float(getattr(section, "timeout_s", 30.0)),
            max_retries=int(getattr(section, "max_retries", 5)),
        )

    def api_key(self, env: Mapping[str, str] | None = None) -> str:
        """The key from the environment now; a one-sentence error when it is not set."""
        key = (os.environ if env is None else env).get(self.api_key_env, "").strip()
        if not key:
            raise RemoteError(
                "auth", f"no Braintrust API key: set the environment variable ${self.api_key_env} "
                "(create a key in Braintrust under Settings > API keys)"
            )
        return key


def load_connection(env: Mapping[str, str] | None = None) -> Connection:
    """The connection from the saved settings and the environment."""
    from loop_tui.config import load_settings

    return Connection.resolve(load_settings(), env)
