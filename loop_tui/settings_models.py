"""The settings model: one pydantic model (with a description per field, shown as help on the Settings page).

Kept apart from `loop_tui.config` (paths, reading and writing the file) so that the app's start-up reads the
settings file without importing pydantic or building these models (~0.1 s of Python); `loop_tui.config`
still exports every class here (`from loop_tui.config import Settings` works as before).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from loop_tui.config import DEFAULT_ALLOWLIST, DEFAULT_CHAT_OPEN, DEFAULT_THEME

ToolPolicy = Literal["allow", "ask", "deny"]


class _Section(BaseModel):
    # `extra="allow"` keeps keys this version does not know, so saving never drops them.
    model_config = ConfigDict(extra="allow", validate_assignment=True)


class ModelsSettings(_Section):
    """Which models Loop and the playground may use."""

    allowlist: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWLIST),
        description="The only models anything may call (Loop, evals, judges, the playground, the CLI) and the ones "
        "the pickers offer: catalogue names or `provider/model` ids; the offline model is always allowed. Until "
        "written here (or on the Settings page) the built-in list is only a suggestion; empty allows every model.",
    )
    default: str | None = Field(
        default=None,
        description="Model used when none is chosen. Empty: the first allowlisted model with a key, else offline.",
    )
    prices: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="Price overrides per model in USD per million tokens: {input, output, cached_input}.",
    )

    def allowlist_rule(self) -> list[str] | None:
        """The allowlist as an administrator's rule, or None when every model is allowed: a list someone wrote
        (settings file, Settings page, code) is the rule; the built-in suggestions nobody wrote, or an empty
        list, restrict nothing (so a fresh install can run the sample data's models and local ones)."""
        if "allowlist" not in self.model_fields_set or not self.allowlist:
            return None
        return list(self.allowlist)

    @model_serializer(mode="wrap")
    def _unwritten_allowlist_stays_unwritten(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Saving other settings must not turn the built-in suggestions into a rule nobody chose.
        data = handler(self)
        if isinstance(data, dict) and "allowlist" not in self.model_fields_set:
            data.pop("allowlist", None)
        return data


class ProviderSettings(_Section):
    """One model provider endpoint. The key itself is read from the named environment variable."""

    base_url: str | None = Field(default=None, description="API base URL, e.g. http://localhost:11434/v1.")
    api_key_env: str | None = Field(default=None, description="Environment variable holding the API key.")
    kind: Literal["openai", "anthropic"] | None = Field(
        default=None, description="Wire format: openai (chat completions) or anthropic (messages)."
    )
    timeout_s: float = Field(default=60.0, gt=0, description="Per-request timeout in seconds.")
    max_retries: int = Field(default=4, ge=0, le=10, description="Retries on 429/5xx/connection errors.")


class ToolsSettings(_Section):
    """Which Loop tools are offered and whether they ask first."""

    disabled: list[str] = Field(default_factory=list, description="Tools removed from Loop's view (policy deny).")
    policies: dict[str, ToolPolicy] = Field(
        default_factory=dict,
        description="Per-tool policy: allow, ask (default for tools that change data) or deny.",
    )


class AgentSettings(_Section):
    """How Loop runs."""

    auto_accept: bool = Field(default=False, description="Apply changes without asking (every `ask` becomes `allow`).")
    max_iterations: int = Field(default=10, ge=1, le=100, description="Model turns before Loop pauses and offers continue.")
    budget_usd: float | None = Field(
        default=None, ge=0, description="Most one conversation may spend on model calls, its own and its evals'."
    )
    tool_output_tokens: int = Field(default=4000, ge=200, description="Budget for one tool result sent to the model.")


class UiSettings(_Section):
    """How the app looks and which keys it uses."""

    theme: str = Field(default=DEFAULT_THEME, description="Textual theme name.")
    keybindings: dict[str, str] = Field(
        default_factory=dict, description="Binding id -> keys, e.g. {'app.toggle_chat': 'ctrl+l'}."
    )
    chat_open: bool = Field(default=DEFAULT_CHAT_OPEN, description="Show the Loop chat panel when the app starts.")


class BraintrustSettings(_Section):
    """The Braintrust organisation `remote` and `sync` talk to. The key is read from `api_key_env`, never stored."""

    api_url: str | None = Field(
        default=None, description="Data API URL (env BRAINTRUST_API_URL). Empty: the one the login returns."
    )
    app_url: str = Field(
        default="https://www.braintrust.dev", description="Where the key is checked (env BRAINTRUST_APP_URL)."
    )
    org_name: str | None = Field(default=None, description="Organisation to use when the key has several (env BRAINTRUST_ORG_NAME).")
    api_key_env: str = Field(default="BRAINTRUST_API_KEY", description="Environment variable holding the API key.")
    timeout_s: float = Field(default=30.0, gt=0, description="Per-request timeout in seconds.")
    max_retries: int = Field(default=5, ge=0, le=10, description="Retries on 429/5xx/connection errors.")

    @field_validator("api_key_env")
    @classmethod
    def _env_name_not_key(cls, value: str) -> str:
        if not value.replace("_", "").isalnum():
            raise ValueError("braintrust.api_key_env must name an environment variable, not hold the key")
        return value


class Settings(_Section):
    """All Loop TUI settings, as saved in settings.toml."""

    models: ModelsSettings = Field(default_factory=ModelsSettings)
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    tools: ToolsSettings = Field(default_factory=ToolsSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    braintrust: BraintrustSettings = Field(default_factory=BraintrustSettings)

    @field_validator("braintrust", mode="before")
    @classmethod
    def _no_inline_braintrust_key(cls, value: Any) -> Any:
        if isinstance(value, dict) and "api_key" in value:
            raise ValueError("braintrust.api_key is not allowed: put the key in BRAINTRUST_API_KEY (or the variable named by braintrust.api_key_env)")
        return value

    @field_validator("providers", mode="before")
    @classmethod
    def _no_inline_keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for name, provider in value.items():
                if isinstance(provider, dict) and "api_key" in provider:
                    raise ValueError(
                        f"providers.{name}.api_key is not allowed: put the key in an environment variable "
                        f"and set providers.{name}.api_key_env to its name"
                    )
        return value
