"""The code's shape, checked statically: layers import only downward, nothing below the UI imports Textual,
no dependency's private API is used (see docs/ARCHITECTURE.md and .ci/check_private_api.py)."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "loop_tui"

# Bottom to top: a module may import its own layer and any layer before it, never one after it.
# interop (OpenTelemetry, other tools' files) and remote (Braintrust) sit above the agent: the remote client
# scrubs keys with agent.secrets, and the app's pages use both.
# remote sits below evals and agent: Loop's BTQL tools query Braintrust where a page is remote
LAYERS = ["base", "store", "btql", "llm", "remote", "evals", "agent", "interop", "ui", "cli"]
# Top-level modules of loop_tui/ and the layer each belongs to (a new one must be placed here).
TOP_LEVEL = {
    "__init__": "base",
    "clock": "base",
    "config": "base",
    "counts": "base",
    "errors": "base",
    "gc_pause": "base",
    "read_ahead": "base",
    "redaction": "base",
    "safe_text": "base",
    "settings_models": "base",
    "__main__": "cli",
}
GUI_PACKAGES = ("textual", "textual_fastdatatable")


def layer_of(module: str) -> str | None:
    """The layer of a `loop_tui` module name (None for a module outside the package)."""
    parts = module.split(".")
    if parts[0] != "loop_tui":
        return None
    if len(parts) == 1:
        return "base"
    head = parts[1]
    return TOP_LEVEL.get(head, head)


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import in the file, at any depth (lazy imports count)."""
    return imports_in(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")


def imports_in(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """`imports` of the source of `module` (relative imports resolved against its package)."""
    tree = ast.parse(source)
    here = module.split(".")
    package = here if is_package else here[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package[: len(package) - node.level + 1]
                found.append((node.lineno, ".".join(base + ([node.module] if node.module else []))))
            elif node.module:
                found.append((node.lineno, node.module))
    return found


def package_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_belongs_to_a_known_layer() -> None:
    unknown = sorted({str(p.relative_to(ROOT)) for p in package_files() if layer_of(module_name(p)) not in LAYERS})
    assert unknown == [], f"place these modules in a layer (TOP_LEVEL or LAYERS): {unknown}"


def test_layers_import_only_downward() -> None:
    upward = []
    for path in package_files():
        mine = layer_of(module_name(path))
        for line, name in imports(path):
            theirs = layer_of(name)
            if theirs in LAYERS and LAYERS.index(theirs) > LAYERS.index(mine):
                upward.append(f"{path.relative_to(ROOT)}:{line} ({mine}) imports {name} ({theirs})")
    assert upward == []


def test_nothing_below_the_ui_imports_textual() -> None:
    below_ui = set(LAYERS[: LAYERS.index("ui")])
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in package_files()
        if layer_of(module_name(path)) in below_ui
        for line, name in imports(path)
        if name.split(".")[0] in GUI_PACKAGES
    ]
    assert offenders == []


def test_the_import_checker_sees_upward_lazy_and_relative_imports() -> None:
    # The contract above is only as good as `imports`: a lazy import inside a function and a relative import
    # must both be seen, or an upward import could hide in either.
    source = "def f():\n    from loop_tui.ui.app import LoopApp\n\nfrom ..agent import loop\nimport textual.widgets\n"
    names = sorted(name for _, name in imports_in(source, "loop_tui.store.probe", is_package=False))
    assert names == ["loop_tui.agent", "loop_tui.ui.app", "textual.widgets"]
    assert [layer_of(n) for n in names[:2]] == ["agent", "ui"]


def test_no_submodule_shadows_a_function_of_its_package() -> None:
    # Importing a submodule binds it as an attribute of its package: a submodule `parse.py` next to a
    # package function `parse()` would replace the function for everyone once anything imports it.
    clashes = []
    for init in PACKAGE.rglob("__init__.py"):
        tree = ast.parse(init.read_text(encoding="utf-8"))
        functions = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        clashes += [str(init.parent / f"{name}.py") for name in functions if (init.parent / f"{name}.py").exists()]
    assert clashes == []


def test_btql_parse_stays_the_function_after_every_submodule_is_imported() -> None:
    import pkgutil

    import loop_tui.btql as btql

    for info in pkgutil.iter_modules(btql.__path__):
        importlib.import_module(f"loop_tui.btql.{info.name}")
    assert callable(btql.parse) and type(btql.parse).__name__ == "function"
    assert type(sys.modules["loop_tui.btql"]).__name__ == "module"


def _private_api_check():  # noqa: ANN202 - the script's module
    spec = importlib.util.spec_from_file_location("check_private_api", ROOT / ".ci" / "check_private_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_private_api_of_a_dependency_is_used() -> None:
    assert _private_api_check().problems() == []


@pytest.mark.parametrize(
    ("line", "pattern"),
    [
        ("from textual._compositor import Compositor", "private textual module"),
        ("from textual.widgets._markdown import MarkdownBlock", "private textual module"),
        ("keys = self._bindings.key_to_bindings", "._bindings"),
        ("keymap = self.app._keymap", "._keymap"),
        ("pool.__class__ = LinearPool", "class swapped at runtime"),
        ("for c in transport._pool._connections:", "private httpcore module or pool internals"),
        ("strips = app.screen._compositor.render_strips()", "._compositor"),
    ],
)
def test_the_private_api_check_catches_each_known_form(tmp_path: Path, line: str, pattern: str) -> None:
    check = _private_api_check()
    (tmp_path / "loop_tui").mkdir()
    (tmp_path / "loop_tui" / "mod.py").write_text(f"# {line}\nx = '{line}'\n{line}\n", encoding="utf-8")
    for folder in ("tests", "benchmarks"):
        (tmp_path / folder).mkdir()
    # Only the code line counts (not the comment, not the string), and it is reported as a problem.
    assert (("loop_tui/mod.py", 3, pattern)) in check.findings(tmp_path)
    assert all(number == 3 for _, number, _ in check.findings(tmp_path))
    assert f"loop_tui/mod.py:3: uses a private API of a dependency ({pattern})" in check.problems(tmp_path)


def test_a_stale_allowlist_entry_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check = _private_api_check()
    for folder in ("loop_tui", "tests", "benchmarks"):
        (tmp_path / folder).mkdir()
    (tmp_path / "loop_tui" / "mod.py").write_text("x = 1\n", encoding="utf-8")
    monkeypatch.setattr(check, "ALLOWED", {"loop_tui/mod.py": {"._keymap"}})
    assert any("no longer uses it" in p for p in check.problems(tmp_path))


def test_a_tool_whose_args_do_not_match_its_declared_type_is_refused_at_definition() -> None:
    from loop_tui.agent.tools.base import NoArgs, Tool, ToolArgs

    class QueryArgs(ToolArgs):
        query: str

    class Fine(Tool[QueryArgs]):
        name = "fine"
        description = "d"
        Args = QueryArgs

    assert Fine().parse_args({"query": "x"}).query == "x"
    with pytest.raises(TypeError, match="Wrong is Tool\\[QueryArgs\\] but its Args is NoArgs"):

        class Wrong(Tool[QueryArgs]):
            name = "wrong"
            description = "d"
            Args = NoArgs


# What a thread worker's body must not do: touch widgets or screens (only handlers on the event loop do).
UI_CALLS_IN_THREADS = {"call_from_thread", "query_one", "query_children", "notify", "push_screen", "mount"}
# `query(` is also the store's SQL method: it counts only on a DOM node (`self`, `self.app`, `self.screen`...).
DOM_RECEIVERS = {"self", "app", "screen", "parent"}


def _decorator_name(decorator: ast.expr) -> str:
    """`work` for `@work`, `@work(...)` and `@textual.work(...)`."""
    func = decorator.func if isinstance(decorator, ast.Call) else decorator
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _is_thread_work(decorator: ast.expr) -> bool:
    """`@work(thread=True, ...)` (or `@textual.work(...)`)."""
    return isinstance(decorator, ast.Call) and _decorator_name(decorator) == "work" and any(
        k.arg == "thread" and isinstance(k.value, ast.Constant) and k.value.value is True for k in decorator.keywords
    )


def thread_worker_ui_touches(source: str, filename: str = "<source>") -> list[str]:
    """Where a `@work(thread=True)` function calls a UI method or sets an attribute of `self`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not any(_is_thread_work(d) for d in node.decorator_list):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
                receiver = inner.func.value
                receiver_name = receiver.id if isinstance(receiver, ast.Name) else getattr(receiver, "attr", "")
                dom_query = inner.func.attr == "query" and receiver_name in DOM_RECEIVERS
                if inner.func.attr in UI_CALLS_IN_THREADS or dom_query:
                    found.append((inner.lineno, f"{node.name} calls .{inner.func.attr}()"))
            elif isinstance(inner, ast.Assign | ast.AugAssign | ast.AnnAssign):
                targets = inner.targets if isinstance(inner, ast.Assign) else [inner.target]
                for target in targets:
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                        found.append((inner.lineno, f"{node.name} sets self.{target.attr}"))
    return [f"{filename}:{line} {what}" for line, what in sorted(found)]


def actions_that_are_workers(source: str, filename: str = "<source>") -> list[str]:
    """`action_*` methods decorated with `@work` (an action starts a worker; it is never one)."""
    return [
        f"{filename}:{node.lineno} {node.name}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("action_")
        if any(_decorator_name(d) == "work" for d in node.decorator_list)
    ]


def test_thread_workers_post_messages_and_never_touch_the_ui() -> None:
    # The worker contract (docs/ARCHITECTURE.md): a thread worker computes and posts a typed message; only
    # handlers on the event loop touch widgets or screen state, and actions start workers, never are one.
    touches, actions = [], []
    for path in sorted((PACKAGE / "ui").rglob("*.py")):
        source, name = path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))
        touches += thread_worker_ui_touches(source, name)
        actions += actions_that_are_workers(source, name)
    assert touches == []
    assert actions == []


def test_thread_worker_check_sees_each_kind_of_ui_touch() -> None:
    source = (
        "class S:\n"
        "    @work(thread=True, group='g')\n"
        "    def load(self):\n"
        "        self.app.call_from_thread(self.notify, 'x')\n"
        "        self.query_one('#t').update('x')\n"
        "        for w in self.query('Label'): pass\n"
        "        self.current = 1\n"
        "        self.post_message(Done(self.workspace.query('SELECT 1')))\n"
        "    @work(group='g')\n"
        "    async def on_loop(self):\n"
        "        self.query_one('#t')\n"
    )
    lines = [line.split(" ", 1)[1] for line in thread_worker_ui_touches(source)]
    assert lines == [
        "load calls .call_from_thread()",
        "load calls .query_one()",
        "load calls .query()",
        "load sets self.current",
    ]
    assert not [t for t in thread_worker_ui_touches(source) if "on_loop" in t]
    actions = "class S:\n    @work(thread=True)\n    def action_go(self): pass\n    def action_ok(self): pass\n"
    assert [a.split(" ", 1)[1] for a in actions_that_are_workers(actions)] == ["action_go"]
