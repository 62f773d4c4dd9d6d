"""From a model name to an endpoint, and from an endpoint to a provider.

Names come in three forms: a catalogue name (`gpt-4o`, `claude-4-sonnet`) or a provider model id
(`claude-sonnet-4-20250514`); a `provider/model` id, which always resolves (`openai/…`, `anthropic/…`,
`braintrust/…`, `ollama/…`, `vllm/…`, or any custom provider named in `settings.providers`); and `offline`.

The allowlist (`models.allowlist`, once written) is enforced here, so every caller that resolves a model
with the settings — Loop, evals, judges, the playground, the CLI — refuses a model outside it; the offline
model is always allowed. An allowlisted name also allows its aliases on the same endpoint
(`gpt-4.1` allows `openai/gpt-4.1`, not `braintrust/gpt-4.1`).

An endpoint's base URL comes from `settings.providers[name].base_url`, else its environment variable
(`OPENAI_BASE_URL`, `ANTHROPIC_BASE_URL`), else the built-in default. Settings win over the environment
because the settings screen shows them. Keys are never read here beyond checking one is present.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loop_tui.errors import UserError
from loop_tui.llm.catalog import ModelInfo, load_catalog, lookup_model

if TYPE_CHECKING:
    from loop_tui.config import Settings
    from loop_tui.llm.http_base import HttpProvider

OFFLINE = "offline"


@dataclass(frozen=True)
class Endpoint:
    """A built-in provider endpoint: wire format, default URL, env var overriding it, env var with the key."""

    kind: str
    base_url: str
    base_url_env: str | None
    api_key_env: str | None


BUILTIN_ENDPOINTS: dict[str, Endpoint] = {
    "openai": Endpoint("openai", "https://api.openai.com/v1", "OPENAI_BASE_URL", "OPENAI_API_KEY"),
    "anthropic": Endpoint("anthropic", "https://api.anthropic.com", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"),
    "braintrust": Endpoint("openai", "https://api.braintrust.dev/v1/proxy", None, "BRAINTRUST_API_KEY"),
    "ollama": Endpoint("openai", "http://localhost:11434/v1", None, None),
    "vllm": Endpoint("openai", "http://localhost:8000/v1", None, None),
}


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model name leads. `provider` is the wire format ('openai' | 'anthropic' | 'offline');
    `endpoint` is the provider name in settings (`openai`, `braintrust`, `ollama`, a custom name…)."""

    name: str
    provider: str
    model_id: str
    base_url: str | None
    api_key_env: str | None
    endpoint: str = OFFLINE
    info: ModelInfo | None = None

    def key_available(self, env: Mapping[str, str] | None = None) -> bool:
        """Whether a request could be authenticated now (no key needed, or its env var is set)."""
        if self.provider == OFFLINE or not self.api_key_env:
            return True
        return bool((os.environ if env is None else env).get(self.api_key_env))


def _offline() -> ResolvedModel:
    return ResolvedModel(OFFLINE, OFFLINE, OFFLINE, None, None, OFFLINE)


def _endpoint(name: str, settings: Settings | None, env: Mapping[str, str]) -> tuple[str, str, str | None]:
    """(kind, base_url, api_key_env) for an endpoint name; UserError if it is neither built-in nor configured."""
    builtin = BUILTIN_ENDPOINTS.get(name)
    custom = settings.providers.get(name) if settings is not None else None
    if builtin is None and custom is None:
        known = sorted(set(BUILTIN_ENDPOINTS) | set(settings.providers if settings else ()))
        raise UserError(f"unknown model provider '{name}'; use one of {', '.join(known)} or add it under [providers].")
    base_url = (custom.base_url if custom else None) or (
        env.get(builtin.base_url_env) if builtin and builtin.base_url_env else None
    ) or (builtin.base_url if builtin else None)
    if not base_url:
        raise UserError(f"provider '{name}' has no base_url; set providers.{name}.base_url in the settings.")
    kind = (custom.kind if custom else None) or (builtin.kind if builtin else "openai")
    if custom is not None and "api_key_env" in custom.model_fields_set:
        key_env = custom.api_key_env
    else:
        key_env = builtin.api_key_env if builtin else None
    return kind, base_url.rstrip("/"), key_env


class ModelNotAllowed(UserError):
    """A model outside the administrator's allowlist (`models.allowlist`)."""


def resolve_model(
    name: str | None, settings: Settings | None = None, *, env: Mapping[str, str] | None = None
) -> ResolvedModel:
    """Resolve a model name (None: the default, else the first allowlisted model with a key, else offline);
    a `ModelNotAllowed` when the settings' allowlist does not include it."""
    env = os.environ if env is None else env
    resolved = _resolve(name, settings, env)
    check_allowed(resolved, settings, env=env)
    return resolved


def check_allowed(resolved: ResolvedModel, settings: Settings | None, *, env: Mapping[str, str] | None = None) -> None:
    """Raise `ModelNotAllowed` unless the allowlist lets `resolved` be called (offline always may)."""
    rule = settings.models.allowlist_rule() if settings is not None else None
    if rule is None or resolved.provider == OFFLINE or resolved.name in rule:
        return
    env = os.environ if env is None else env
    for entry in rule:
        try:
            allowed = _resolve(entry, settings, env)
        except UserError:
            continue  # a stale entry allows nothing
        if (allowed.endpoint, allowed.model_id) == (resolved.endpoint, resolved.model_id):
            return
    from loop_tui.config import config_path

    raise ModelNotAllowed(
        f"model '{resolved.name}' is not in the model allowlist ({', '.join(rule)}); an administrator can add it "
        f"to models.allowlist in {config_path()} or on the Settings page."
    )


def _resolve(name: str | None, settings: Settings | None, env: Mapping[str, str]) -> ResolvedModel:
    if name is None or not name.strip():
        return _default_model(settings, env)
    name = name.strip()
    if name == OFFLINE:
        return _offline()
    if "/" in name:
        endpoint, model = name.split("/", 1)
        if not model:
            raise UserError(f"model '{name}' has no model id after the '/'; write it as {endpoint}/<model>.")
        info = lookup_model(model)
        kind, base_url, key_env = _endpoint(endpoint, settings, env)
        model_id = info.model_id if info is not None and model == info.name else model
        return ResolvedModel(name, kind, model_id, base_url, key_env, endpoint, info)
    info = lookup_model(name)
    if info is None:
        raise _unknown_model(name, settings)
    kind, base_url, key_env = _endpoint(info.provider, settings, env)
    return ResolvedModel(name, kind, info.model_id, base_url, key_env, info.provider, info)


def _default_model(settings: Settings | None, env: Mapping[str, str]) -> ResolvedModel:
    if settings is None:
        return _offline()
    if settings.models.default:
        return _resolve(settings.models.default, settings, env)
    for candidate in settings.models.allowlist:
        try:
            resolved = _resolve(candidate, settings, env)
        except UserError:
            continue  # a stale allowlist entry must not break startup
        if resolved.key_available(env):
            return resolved
    return _offline()


def _unknown_model(name: str, settings: Settings | None) -> UserError:
    choices = list(load_catalog()) + [info.model_id for info in load_catalog().values()]
    if settings is not None:
        choices += settings.models.allowlist
    close = difflib.get_close_matches(name, sorted(set(choices)), n=3, cutoff=0.6)
    suggestion = f"did you mean {', '.join(close)}? " if close else ""
    return UserError(
        f"unknown model '{name}'; {suggestion}use a catalogue name, 'offline', or provider/model "
        "(e.g. openai/gpt-4o-mini, anthropic/claude-sonnet-4-20250514, ollama/llama3)."
    )


def make_provider(resolved: ResolvedModel, settings: Settings | None = None, **overrides: Any) -> HttpProvider:
    """A streaming provider for an openai/anthropic model; `overrides` reach the provider (env, client, backoff…)."""
    if resolved.provider == OFFLINE:
        raise ValueError("the offline model is loop_tui.agent.offline.OfflineProvider, not an HTTP provider")
    options: dict[str, Any] = {}
    configured = settings.providers.get(resolved.endpoint) if settings is not None else None
    if configured is not None:
        options = {"timeout_s": configured.timeout_s, "max_retries": configured.max_retries}
    options.update(name=resolved.endpoint, base_url=resolved.base_url, api_key_env=resolved.api_key_env)
    options.update(overrides)
    if resolved.provider == "anthropic":
        from loop_tui.llm.anthropic import AnthropicProvider

        return AnthropicProvider(**options)
    from loop_tui.llm.openai_compat import OpenAICompatProvider

    return OpenAICompatProvider(**options)
