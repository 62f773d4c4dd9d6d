"""Settings flows: allowlist, providers (key env var only), tool policies, agent limits, keys, save."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from textual.widgets import Input, TabbedContent

from loop_tui.config import config_path, load_settings
from tests.test_ui_support import make_app, screen_text, settle


async def _open(pilot, tab: str):  # type: ignore[no-untyped-def]
    await settle(pilot)
    pilot.app.screen.query_one(TabbedContent).active = tab
    await pilot.pause()
    pilot.app.screen.query_one(f"#{tab} DataTable").focus()
    await pilot.pause()


async def test_allowlist_add_default_remove_and_save(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="settings")
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(pilot, "tab-models")
        await pilot.press("a")
        await pilot.pause()
        for key in "ollama/llama3":
            await pilot.press(key)
        await pilot.press("enter")
        await pilot.pause()
        table = app.screen.query_one("#models-table")
        table.move_cursor(row=table.row_count - 1)
        await pilot.press("d")  # the new model (last) becomes the default
        table.move_cursor(row=0)
        await pilot.press("x")  # remove the first
        await pilot.press("ctrl+s")
        await settle(pilot)
        saved = load_settings(config_path())
        assert saved.models.allowlist[-1] == "ollama/llama3"
        assert saved.models.default == "ollama/llama3"
        assert "claude-4-sonnet" not in saved.models.allowlist
        assert app.settings.models.default == "ollama/llama3"


async def test_provider_names_the_key_env_var_and_never_stores_a_key(sample_ws_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MY_LOCAL_KEY", "sk-secret-value")
    app = make_app(sample_ws_path, page="settings")
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(pilot, "tab-providers")
        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one("#pf-name", Input).value = "local"
        app.screen.query_one("#pf-url", Input).value = "http://127.0.0.1:11434/v1"
        app.screen.query_one("#pf-env", Input).value = "MY_LOCAL_KEY"
        await pilot.press("ctrl+s")
        await pilot.pause()
        text = screen_text(app)
        assert "MY_LOCAL_KEY" in text and "set" in text
        assert "sk-secret-value" not in text
        await pilot.press("ctrl+s")
        await settle(pilot)
        raw = config_path().read_text()
        assert "sk-secret-value" not in raw
        data = tomllib.loads(raw)
        assert data["providers"]["local"]["api_key_env"] == "MY_LOCAL_KEY"
        assert data["providers"]["local"]["base_url"] == "http://127.0.0.1:11434/v1"


async def test_tool_policy_cycles_and_deny_disables(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="settings")
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(pilot, "tab-tools")
        table = app.screen.query_one("#tools-table")
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        from loop_tui.agent.tools import ALL_TOOLS

        assert sorted(names) == sorted(t.name for t in ALL_TOOLS)  # every tool Loop has, and only those
        index = names.index("edit_data")
        for _ in range(index):
            await pilot.press("down")
        assert table.get_row_at(index)[2] == "ask"
        await pilot.press("space")  # ask → deny
        await pilot.pause()
        assert table.get_row_at(index)[2] == "deny"
        await pilot.press("ctrl+s")
        await settle(pilot)
        saved = load_settings(config_path())
        assert "edit_data" in saved.tools.disabled and saved.tools.policies["edit_data"] == "deny"


async def test_invalid_iteration_limit_blocks_saving(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="settings")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.screen.query_one(TabbedContent).active = "tab-agent"
        await pilot.pause()
        field = app.screen.query_one("#max-iterations", Input)
        field.value = "500"
        await pilot.pause()
        assert field.has_class("-invalid")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not config_path().exists()
        field.value = "25"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert load_settings(config_path()).agent.max_iterations == 25


async def test_key_binding_edit_is_saved_and_applied(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="settings")
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(pilot, "tab-keys")
        table = app.screen.query_one("#keys-table")
        ids = [table.get_row_at(i)[0] for i in range(table.row_count)]
        assert {"app.toggle_chat", "logs.filter", "btql.run", "datasets.undo", "playground.run"} <= set(ids)
        for _ in range(ids.index("app.toggle_chat")):
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        app.screen.query_one("#prompt-input", Input).value = "f9"
        await pilot.press("enter")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert load_settings(config_path()).ui.keybindings["app.toggle_chat"] == "f9"
        panel = app.screen.query_one("#chat-panel")
        await pilot.press("f9")  # focuses Loop's input
        await pilot.pause()
        await pilot.press("f9")  # hides the panel
        await pilot.pause()
        assert not panel.display


def test_settings_path_comes_from_env() -> None:
    assert str(config_path()) == os.environ["LOOP_TUI_CONFIG"]


async def _save_max_iterations(pilot: Any, value: str) -> None:
    """On the Settings page: the agent tab's iteration limit set to `value`, saved with ctrl+s."""
    screen = pilot.app.screen
    screen.query_one(TabbedContent).active = "tab-agent"
    await pilot.pause()
    screen.query_one("#max-iterations", Input).value = value
    await pilot.pause()
    await pilot.press("ctrl+s")
    await settle(pilot)


async def test_saving_keeps_what_was_written_to_the_file_while_the_app_ran(sample_ws_path: Path) -> None:
    # Tried in a real terminal: a provider added to settings.toml in an editor while the app ran was gone from
    # the file once the Settings page saved a change of its own (it wrote the settings it read at start-up).
    app = make_app(sample_ws_path, page="settings")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        config_path().parent.mkdir(parents=True, exist_ok=True)
        config_path().write_text('[providers.local]\nbase_url = "http://127.0.0.1:11434/v1"\n'
                                 '[agent]\nmax_iterations = 12\n', encoding="utf-8")
        await _save_max_iterations(pilot, "25")
        saved = load_settings(config_path())
        assert saved.agent.max_iterations == 25  # the page's edit
        assert saved.providers["local"].base_url == "http://127.0.0.1:11434/v1"  # the editor's, kept
        assert app.settings.providers["local"].base_url == "http://127.0.0.1:11434/v1"


async def test_a_theme_chosen_in_the_palette_survives_a_save_on_the_settings_page(sample_ws_path: Path) -> None:
    # Tried in a real terminal: "theme" in the command palette, then a change saved on the Settings page: the
    # app went back to the theme of the settings file (and the page's theme list showed that one meanwhile).
    from textual.widgets import Select

    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("6")  # the Settings page exists before the theme changes
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        app.theme = "nord"  # what the palette's theme entry does
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        assert app.screen.query_one("#theme-select", Select).value == "nord"
        await _save_max_iterations(pilot, "25")
        assert app.theme == "nord"
        assert load_settings(config_path()).ui.theme == "nord"
