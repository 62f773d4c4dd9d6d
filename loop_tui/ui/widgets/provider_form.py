"""`ProviderForm`: a modal to add or edit one model provider (never asks for the key itself)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select

from loop_tui.config import ProviderSettings
from loop_tui.safe_text import literal


class ProviderForm(ModalScreen["tuple[str, ProviderSettings] | None"]):
    """Name, wire format, base URL and the environment variable that holds the key."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="provider.cancel"),
        Binding("ctrl+s", "accept", "Accept", id="provider.accept"),
    ]

    def __init__(self, name: str = "", provider: ProviderSettings | None = None) -> None:
        super().__init__()
        self.provider_name = name
        self.provider = provider or ProviderSettings()

    def compose(self) -> ComposeResult:
        p = self.provider
        with Vertical(classes="modal-box"):
            yield Label("Model provider", classes="modal-title")
            yield Input(self.provider_name, placeholder="name, e.g. openai, anthropic, ollama", id="pf-name")
            yield Select(
                [("OpenAI-compatible (chat completions)", "openai"), ("Anthropic (messages)", "anthropic")],
                value=p.kind or "openai",
                allow_blank=False,
                id="pf-kind",
            )
            yield Input(p.base_url or "", placeholder="base URL, e.g. http://127.0.0.1:11434/v1", id="pf-url")
            yield Input(p.api_key_env or "", placeholder="env var holding the key, e.g. OPENAI_API_KEY", id="pf-env")
            yield Label("The key itself is never stored: export it in that environment variable.", classes="dim")
            yield Label("", id="pf-error", classes="error-line")
            yield Label("ctrl+s accepts · esc cancels", classes="dim")

    def on_input_submitted(self) -> None:
        """Enter in any field accepts the form."""
        self.action_accept()

    def action_accept(self) -> None:
        """Validate and return the provider."""
        name = self.query_one("#pf-name", Input).value.strip()
        env = self.query_one("#pf-env", Input).value.strip()
        error = self.query_one("#pf-error", Label)
        if not name:
            error.update("A provider needs a name.")
            return
        if env and not env.replace("_", "").isalnum():
            error.update("The key's environment variable name may only hold letters, digits and _.")
            return
        try:
            provider = self.provider.model_copy(
                update={
                    "kind": self.query_one("#pf-kind", Select).value,
                    "base_url": self.query_one("#pf-url", Input).value.strip() or None,
                    "api_key_env": env or None,
                }
            )
            provider = ProviderSettings.model_validate(provider.model_dump())
        except ValueError as exc:
            error.update(literal(str(exc).splitlines()[0]))
            return
        self.dismiss((name, provider))

    def action_cancel(self) -> None:
        """Close without changes."""
        self.dismiss(None)
