"""Settings page: models, providers, Loop's tools, agent limits, theme and key bindings.

Edits go to a draft copy; ctrl+s validates and writes it atomically to the settings file
(`config_path()`), then the app re-applies theme and keys. API keys are never shown or stored: a
provider only names the environment variable that holds its key (and we show whether it is set).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Label, Select, Switch, TabbedContent, TabPane

from loop_tui.config import Settings, config_path, load_settings, save_settings
from loop_tui.errors import UserError
from loop_tui.safe_text import escaped_markup, literal
from loop_tui.ui.keys import binding_catalog, effective_key
from loop_tui.ui.messages import SettingsSaved, WorkFailed
from loop_tui.ui.screens.base import PageScreen
from loop_tui.ui.tool_catalog import loop_tools
from loop_tui.ui.widgets.modals import TextPromptModal
from loop_tui.ui.widgets.provider_form import ProviderForm

POLICY_CYCLE = {"allow": "ask", "ask": "deny", "deny": "allow"}


def merge_edits(current: dict[str, Any], base: dict[str, Any], draft: dict[str, Any]) -> dict[str, Any]:
    """`current` with the edits that turned `base` into `draft` applied on top (tables nest; a changed
    list or value replaces the current one whole)."""
    merged = dict(current)
    for key in base.keys() | draft.keys():
        before, after = base.get(key, _MISSING), draft.get(key, _MISSING)
        if before == after:
            continue
        if isinstance(before, dict) and isinstance(after, dict) and isinstance(current.get(key), dict):
            merged[key] = merge_edits(current[key], before, after)
        elif after is _MISSING:
            merged.pop(key, None)
        else:
            merged[key] = after
    return merged


_MISSING = object()


class SettingsScreen(PageScreen):
    """Edit and save settings.toml."""

    PAGE = "settings"
    NEEDS_PROJECT = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="settings.save"),
        Binding("a", "add", "Add", id="settings.add"),
        Binding("x,delete", "remove", "Remove", id="settings.remove"),
        Binding("d", "make_default", "Default model", id="settings.default"),
        Binding("space", "cycle", "Cycle policy", id="settings.cycle"),
        Binding("e", "edit", "Edit", id="settings.edit"),
    ]

    @dataclass
    class Written(Message):
        """The settings were validated and written to `path` (in a worker)."""

        settings: Settings
        path: str

    def __init__(self) -> None:
        super().__init__()
        self.draft: Settings = Settings()
        self.base: Settings = Settings()
        self.dirty = False

    def compose_page(self) -> ComposeResult:
        yield Label("", id="settings-path", classes="status-line")
        with TabbedContent(id="settings-tabs"):
            with TabPane("Models", id="tab-models"):
                yield DataTable(id="models-table", cursor_type="row")
                yield Label("a add · x remove · d make default", classes="dim")
            with TabPane("Providers", id="tab-providers"):
                yield DataTable(id="providers-table", cursor_type="row")
                yield Label("a add · e/enter edit · x remove — keys live in environment variables", classes="dim")
            with TabPane("Loop tools", id="tab-tools"):
                yield DataTable(id="tools-table", cursor_type="row")
                yield Label("space cycles allow → ask → deny (deny hides the tool from Loop)", classes="dim")
            with TabPane("Loop", id="tab-agent"), VerticalScroll():
                with Horizontal(classes="setting-row"):
                    yield Label("Auto-accept changes", classes="setting-label")
                    yield Switch(id="auto-accept")
                with Horizontal(classes="setting-row"):
                    yield Label("Iteration limit", classes="setting-label")
                    yield Input(id="max-iterations", type="integer")
                with Horizontal(classes="setting-row"):
                    yield Label("Budget per conversation (USD)", classes="setting-label")
                    yield Input(id="budget", type="number", placeholder="no limit")
                yield Label("", id="agent-error", classes="error-line")
            with TabPane("Appearance", id="tab-appearance"), VerticalScroll():
                with Horizontal(classes="setting-row"):
                    yield Label("Theme", classes="setting-label")
                    yield Select([("textual-dark", "textual-dark")], id="theme-select", allow_blank=False)
                with Horizontal(classes="setting-row"):
                    yield Label("Loop panel open at start", classes="setting-label")
                    yield Switch(id="chat-open")
            with TabPane("Key bindings", id="tab-keys"):
                yield DataTable(id="keys-table", cursor_type="row")
                yield Label("enter/e sets a key (e.g. ctrl+k or f5) · x resets to the default", classes="dim")

    def load(self) -> None:
        """Start from the settings the app is running with."""
        self.draft = self.loop_app.settings.model_copy(deep=True)
        self.base = self.loop_app.settings.model_copy(deep=True)  # what the draft started from
        self.query_one("#settings-path", Label).update(f"settings file: {config_path()}  ·  ctrl+s saves")
        # Filling widgets posts Changed events; they describe no user edit, so they are dropped.
        with self.prevent(Input.Changed, Switch.Changed, Select.Changed):
            self._fill_all()
        self.query_one("#models-table", DataTable).focus()

    def refresh_if_stale(self) -> None:
        # Settings do not depend on the project; only fill once (keeping unsaved edits on resume).
        self.show_project()
        if self._loaded_key is None:
            self._loaded_key = (None, 0)
            self.load()
        elif not self.dirty and self.draft.ui.theme != self.loop_app.settings.ui.theme:
            self.load()  # the theme was chosen in the palette meanwhile

    def settings_applied(self) -> None:
        """Settings changed elsewhere (ctrl+t in a chat, or this page's save): show them unless the user is
        mid-edit (then ctrl+s saves only the user's edits on top of them, see `action_save`)."""
        super().settings_applied()
        if not self.dirty and self._loaded_key is not None:
            self.load()

    def unsaved_changes(self) -> str | None:
        """Edits not saved with ctrl+s yet."""
        return "settings" if self.dirty else None

    # ----- filling -------------------------------------------------------------------------------
    def _fill_all(self) -> None:
        self._fill_models()
        self._fill_providers()
        self._fill_tools()
        self._fill_keys()
        agent = self.draft.agent
        self.query_one("#auto-accept", Switch).value = agent.auto_accept
        self.query_one("#max-iterations", Input).value = str(agent.max_iterations)
        self.query_one("#budget", Input).value = "" if agent.budget_usd is None else str(agent.budget_usd)
        themes = sorted(self.app.available_themes)
        select = self.query_one("#theme-select", Select)
        select.set_options([(t, t) for t in themes])
        select.value = self.draft.ui.theme if self.draft.ui.theme in themes else self.app.theme
        self.query_one("#chat-open", Switch).value = self.draft.ui.chat_open

    @staticmethod
    def _refill(table: DataTable, columns: tuple[str, ...], rows: Sequence[tuple[object, ...]], keys: list[str]) -> None:
        cursor = table.cursor_row
        table.clear(columns=True)
        table.add_columns(*columns)
        for row, key in zip(rows, keys, strict=True):
            # Names are typed by people, never markup; cells stay strings (read back by key and by tests).
            table.add_row(*(escaped_markup(cell) if isinstance(cell, str) else cell for cell in row), key=key)
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))

    def _fill_models(self) -> None:
        models = self.draft.models
        rows = [(name, "default" if name == models.default else "") for name in models.allowlist]
        self._refill(self.query_one("#models-table", DataTable), ("model", ""), rows, list(models.allowlist))

    def _fill_providers(self) -> None:
        rows, keys = [], []
        for name, p in sorted(self.draft.providers.items()):
            key_state = ("set" if os.environ.get(p.api_key_env) else "not set") if p.api_key_env else "—"
            rows.append((name, p.kind or "openai", p.base_url or "(default)", p.api_key_env or "—", key_state))
            keys.append(name)
        self._refill(
            self.query_one("#providers-table", DataTable), ("name", "kind", "base URL", "key env var", "key"), rows, keys
        )

    def _tool_policy(self, name: str, default: str) -> str:
        if name in self.draft.tools.disabled:
            return "deny"
        return self.draft.tools.policies.get(name, default)

    def _fill_tools(self) -> None:
        tools = loop_tools()
        rows = [
            (t.name, "changes data" if t.mutates else "read-only", self._tool_policy(t.name, t.default_policy))
            for t in tools
        ]
        self._refill(self.query_one("#tools-table", DataTable), ("tool", "kind", "policy"), rows, [t.name for t in tools])

    def _fill_keys(self) -> None:
        from loop_tui.ui.app import LoopApp
        from loop_tui.ui.screens.registry import all_screen_classes

        keymap = self.draft.ui.keybindings
        infos = binding_catalog([LoopApp, *all_screen_classes()])
        rows = [(i.id, effective_key(i, keymap), i.description, "custom" if i.id in keymap else "") for i in infos]
        self._refill(self.query_one("#keys-table", DataTable), ("id", "key", "action", ""), rows, [i.id for i in infos])

    # ----- actions -------------------------------------------------------------------------------
    def _active_tab(self) -> str:
        return self.query_one(TabbedContent).active or ""

    def _current_key(self, table_id: str) -> str | None:
        table = self.query_one(table_id, DataTable)
        if table.row_count == 0:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def _changed(self) -> None:
        self.dirty = True
        self.query_one("#settings-path", Label).update(f"settings file: {config_path()}  ·  unsaved changes — ctrl+s saves")

    def action_add(self) -> None:
        """Add a model (Models tab) or a provider (Providers tab)."""
        tab = self._active_tab()
        if tab == "tab-models":
            self.app.push_screen(
                TextPromptModal("Add a model to the allowlist", placeholder="gpt-4o-mini or ollama/llama3"), self._add_model
            )
        elif tab == "tab-providers":
            self.app.push_screen(ProviderForm(), self._save_provider)

    def _add_model(self, name: str | None) -> None:
        name = (name or "").strip()
        if not name:
            return
        if name in self.draft.models.allowlist:
            self.notify(f"{name} is already allowed", severity="warning")
            return
        self.draft.models.allowlist = [*self.draft.models.allowlist, name]
        self._fill_models()
        self._changed()

    def _save_provider(self, result: tuple[str, object] | None) -> None:
        if result is None:
            return
        name, provider = result
        self.draft.providers = {**self.draft.providers, name: provider}  # type: ignore[dict-item]
        self._fill_providers()
        self._changed()

    def action_edit(self) -> None:
        """Edit the provider or key binding under the cursor."""
        tab = self._active_tab()
        if tab == "tab-providers" and (name := self._current_key("#providers-table")):
            self.app.push_screen(ProviderForm(name, self.draft.providers[name]), self._save_provider)
        elif tab == "tab-keys" and (binding_id := self._current_key("#keys-table")):
            table = self.query_one("#keys-table", DataTable)
            current = str(table.get_row(binding_id)[1])
            self.app.push_screen(
                TextPromptModal(f"Key for {binding_id}", value=current, placeholder="e.g. ctrl+k, f5, j"),
                lambda keys: self._set_key(binding_id, keys),
            )

    @on(DataTable.RowSelected, "#providers-table, #keys-table")
    def _edit_selected(self) -> None:
        self.action_edit()

    def _set_key(self, binding_id: str, keys: str | None) -> None:
        keys = (keys or "").strip().replace(" ", "")
        if not keys:
            return
        self.draft.ui.keybindings = {**self.draft.ui.keybindings, binding_id: keys}
        self._fill_keys()
        self._changed()

    def action_remove(self) -> None:
        """Remove the model or provider under the cursor, or reset a key binding."""
        tab = self._active_tab()
        if tab == "tab-models" and (name := self._current_key("#models-table")):
            if len(self.draft.models.allowlist) == 1:
                self.notify("keep at least one model in the allowlist", severity="warning")
                return
            self.draft.models.allowlist = [m for m in self.draft.models.allowlist if m != name]
            if self.draft.models.default == name:
                self.draft.models.default = None
            self._fill_models()
        elif tab == "tab-providers" and (name := self._current_key("#providers-table")):
            self.draft.providers = {k: v for k, v in self.draft.providers.items() if k != name}
            self._fill_providers()
        elif tab == "tab-keys" and (binding_id := self._current_key("#keys-table")):
            self.draft.ui.keybindings = {k: v for k, v in self.draft.ui.keybindings.items() if k != binding_id}
            self._fill_keys()
        else:
            return
        self._changed()

    def action_make_default(self) -> None:
        """Make the model under the cursor the default."""
        if self._active_tab() == "tab-models" and (name := self._current_key("#models-table")):
            self.draft.models.default = name
            self._fill_models()
            self._changed()

    def action_cycle(self) -> None:
        """Cycle the policy of the tool under the cursor: allow → ask → deny."""
        if self._active_tab() != "tab-tools" or not (name := self._current_key("#tools-table")):
            return
        info = next(t for t in loop_tools() if t.name == name)
        new = POLICY_CYCLE[self._tool_policy(name, info.default_policy)]
        tools = self.draft.tools
        tools.policies = {**tools.policies, name: new}  # type: ignore[dict-item]
        tools.disabled = sorted({*tools.disabled, name}) if new == "deny" else [d for d in tools.disabled if d != name]
        self._fill_tools()
        self._changed()

    @on(Switch.Changed, "#auto-accept")
    def _auto_accept(self, event: Switch.Changed) -> None:
        if event.value != self.draft.agent.auto_accept:
            self.draft.agent.auto_accept = event.value
            self._changed()

    @on(Switch.Changed, "#chat-open")
    def _chat_open(self, event: Switch.Changed) -> None:
        if event.value != self.draft.ui.chat_open:
            self.draft.ui.chat_open = event.value
            self._changed()

    @on(Select.Changed, "#theme-select")
    def _preview_theme(self, event: Select.Changed) -> None:
        # Only a choice the user made counts: filling the options also posts Changed (late).
        if not event.select.has_focus_within:
            return
        if isinstance(event.value, str) and event.value != self.draft.ui.theme:
            self.draft.ui.theme = event.value
            self.app.theme = event.value  # preview now; saved with ctrl+s
            self._changed()

    @on(Input.Changed, "#max-iterations, #budget")
    def _agent_numbers(self, event: Input.Changed) -> None:
        error = self.query_one("#agent-error", Label)
        try:
            if event.input.id == "max-iterations":
                value = int(event.value or "0")
                if value != self.draft.agent.max_iterations:
                    self.draft.agent.max_iterations = value
                    self._changed()
            else:
                budget = float(event.value) if event.value.strip() else None
                if budget != self.draft.agent.budget_usd:
                    self.draft.agent.budget_usd = budget
                    self._changed()
            error.update("")
            event.input.remove_class("-invalid")
        except ValueError as exc:
            event.input.add_class("-invalid")
            detail = str(exc).splitlines()
            error.update(literal(detail[-1].strip() if len(detail) > 1 else f"not a valid number: {event.value!r}"))

    def action_save(self) -> None:
        """Validate the draft and write it to the settings file."""
        if self.query("Input.-invalid"):
            self.notify("fix the highlighted field before saving", severity="error")
            return
        # Only what the user changed here goes on top of the current settings: a value changed elsewhere since
        # this page loaded (tools switched off with ctrl+t in a chat) is never overwritten with a stale copy.
        app = self.loop_app
        self._write_settings(app.settings_in_file or self.base.model_dump(), app.settings.model_dump(),
                             self.base.model_dump(), self.draft.model_dump())

    @work(thread=True, exclusive=True, group="settings-save", exit_on_error=False)
    def _write_settings(self, in_file: dict[str, Any], current: dict[str, Any], base: dict[str, Any],
                        draft: dict[str, Any]) -> None:
        """Write the file as it is now, with the app's changes (`in_file`, as the app last read or wrote it, to
        `current`) and this page's edits (`base` to `draft`) on top: a line written in an editor while the
        app ran stays (an invalid file is said, and nothing is written)."""
        try:
            path = config_path()
            on_disk = load_settings(path).model_dump()
            settings = merge_edits(merge_edits(on_disk, in_file, current), base, draft)
            validated = Settings.model_validate(settings)
            path = save_settings(validated, path)
        except (UserError, ValueError, OSError) as exc:
            self.post_message(WorkFailed("settings", f"settings not saved: {exc}"))
            return
        self.post_message(self.Written(validated, str(path)))

    @on(Written)
    def _saved(self, message: Written) -> None:
        self.dirty = False
        self.query_one("#settings-path", Label).update(f"settings file: {message.path}  ·  saved")
        self.post_message(SettingsSaved(message.settings))
        self.notify(f"settings saved to {message.path}")


PAGE_SCREEN = SettingsScreen
