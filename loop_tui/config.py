"""Settings: where the file lives, reading and writing it; the model itself is `loop_tui.settings_models`.

The settings file lives at `$LOOP_TUI_CONFIG` or `<user config dir>/loop-tui/settings.toml`. Unknown
keys are kept on save (so a newer version's settings survive an older app), writes are atomic, and an
invalid value is a `UserError` naming the key. API keys are never stored here: a provider names the
environment variable that holds its key (`api_key_env`).

This module imports no pydantic: the app's start-up reads the file with `read_startup_settings` (the
theme, keys and Loop panel the first page needs) and validates it in full once the first rows are on the
screen. The model classes are still importable from here (`from loop_tui.config import Settings`); they
load on first use.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loop_tui.errors import UserError

if TYPE_CHECKING:
    from pydantic import ValidationError

    from loop_tui.settings_models import (
        AgentSettings,
        BraintrustSettings,
        ModelsSettings,
        ProviderSettings,
        Settings,
        ToolPolicy,
        ToolsSettings,
        UiSettings,
    )

DEFAULT_ALLOWLIST = [
    "claude-4-sonnet",
    "claude-4.1-opus",
    "gpt-5",
    "gpt-4.1",
    "o3",
    "o4-mini",
    "claude-3-5-sonnet",
]
DEFAULT_THEME = "textual-dark"
"""`ui.theme` when the file does not set it."""
DEFAULT_CHAT_OPEN = True
"""`ui.chat_open` when the file does not set it."""

_MODELS = ("Settings", "ModelsSettings", "ProviderSettings", "ToolsSettings", "AgentSettings", "UiSettings",
           "BraintrustSettings", "ToolPolicy")
__all__ = ["DEFAULT_ALLOWLIST", "DEFAULT_CHAT_OPEN", "DEFAULT_THEME", "AgentSettings", "BraintrustSettings",
           "ModelsSettings", "ProviderSettings", "Settings", "StartupSettings", "ToolPolicy", "ToolsSettings",
           "UiSettings", "config_path", "default_workspace_path", "load_settings", "read_startup_settings",
           "save_settings"]


def __getattr__(name: str) -> Any:
    # The model classes load (with pydantic) when first asked for, not with this module.
    if name in _MODELS:
        from loop_tui import settings_models

        return getattr(settings_models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def config_path() -> Path:
    """Where the settings file lives (env `LOOP_TUI_CONFIG` overrides)."""
    env = os.environ.get("LOOP_TUI_CONFIG")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("loop-tui")) / "settings.toml"


def default_workspace_path() -> Path:
    """The default workspace folder (env `LOOP_TUI_WORKSPACE` overrides)."""
    env = os.environ.get("LOOP_TUI_WORKSPACE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("loop-tui")) / "workspace"


def _describe_validation_error(err: ValidationError, path: Path) -> str:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = first["msg"].removeprefix("Value error, ")
    return f"invalid setting `{key}` in {path}: {msg}; fix or remove it"


def _read_file(path: Path) -> dict[str, Any] | None:
    """The file's TOML as a dict (None: there is no file); a file that is not TOML is a `UserError`."""
    if not path.exists():
        return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"settings file {path} is not valid TOML ({exc}); fix it or delete it") from None
    except OSError as exc:  # a folder, no permission: the path (LOOP_TUI_CONFIG) is not a readable file
        raise UserError(f"settings file {path} cannot be read ({exc.strerror}); point LOOP_TUI_CONFIG at a "
                        "file, or fix its permissions") from None


def _validated(raw: dict[str, Any] | None, path: Path) -> Settings:
    from pydantic import ValidationError

    from loop_tui.settings_models import Settings

    if raw is None:
        return Settings()
    try:
        return Settings.model_validate(raw)
    except ValidationError as err:
        raise UserError(_describe_validation_error(err, path)) from None


def load_settings(path: Path | None = None) -> Settings:
    """Read settings from disk; a missing file gives the defaults, a bad one a `UserError`."""
    path = path or config_path()
    return _validated(_read_file(path), path)


@dataclass(frozen=True)
class StartupSettings:
    """What the app's first page needs from the settings file (theme, keys, Loop panel), read without
    pydantic; `validated()` checks the whole file and gives the `Settings` (or the `UserError` saying which
    setting is wrong, the same sentence `load_settings` gives).

    A value of the wrong type reads as its default here: the full check, right after, refuses it.
    """

    path: Path
    raw: dict[str, Any] | None
    theme: str = DEFAULT_THEME
    keybindings: dict[str, str] = field(default_factory=dict)
    chat_open: bool = DEFAULT_CHAT_OPEN

    def validated(self) -> Settings:
        """The file's settings, checked in full (imports pydantic)."""
        return _validated(self.raw, self.path)


def read_startup_settings(path: Path | None = None) -> StartupSettings:
    """Read the settings file for the app's start-up (no pydantic); a file that is not TOML is a `UserError`."""
    path = path or config_path()
    raw = _read_file(path)
    ui = raw.get("ui") if raw is not None else None
    if not isinstance(ui, dict):
        return StartupSettings(path, raw)
    theme = ui.get("theme", DEFAULT_THEME)
    keys = ui.get("keybindings", {})
    chat_open = ui.get("chat_open", DEFAULT_CHAT_OPEN)
    return StartupSettings(
        path,
        raw,
        theme=theme if isinstance(theme, str) else DEFAULT_THEME,
        keybindings=keys if isinstance(keys, dict) and all(isinstance(v, str) for v in keys.values()) else {},
        chat_open=chat_open if isinstance(chat_open, bool) else DEFAULT_CHAT_OPEN,
    )


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write settings atomically (temp file, fsync, rename); unknown keys are preserved."""
    import tomli_w

    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = settings.model_dump(mode="json", exclude_none=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        tomli_w.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path
