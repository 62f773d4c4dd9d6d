"""The tool framework: a tool is a small class with a name, a description, a pydantic argument model
(its JSON schema is what the model sees), the pages where it is offered, and whether it mutates.

Read-only tools implement `run`. Mutating tools implement `propose`, which computes the change and a
preview WITHOUT writing anything, and returns a `Proposal` whose `apply` performs the change as one
store write; the agent calls `apply` only after the user (or a policy) says yes.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from loop_tui.agent.events import Preview
from loop_tui.errors import UserError

if TYPE_CHECKING:
    from loop_tui.agent.context import PageContext
    from loop_tui.config import Settings
    from loop_tui.store import CatalogObject, Workspace

DATA_PAGES = ("playground", "experiments", "datasets", "logs", "btql")
ALL_PAGES = (*DATA_PAGES, "settings")


class ToolError(UserError):
    """A tool could not do what was asked; the message goes back to the model as the tool result."""


class ToolArgs(BaseModel):
    """Base for argument models: unknown arguments are an error the model can read and fix."""

    model_config = ConfigDict(extra="forbid")


class NoArgs(ToolArgs):
    """A tool that takes no arguments."""


@dataclass
class ToolOutput:
    """A tool's result: `text` for the model, store transactions to undo, and model spend it caused.

    `artifact` is what the tool made, for the page that shows it (run_eval: the playground's run); it never
    reaches the model.
    """

    text: str
    undo_xact: list[int] = field(default_factory=list)
    cost_usd: float = 0.0
    artifact: Any = None


@dataclass
class Proposal:
    """A change computed but not applied: `preview` for the user, `apply` to make it (one store write)."""

    preview: Preview
    apply: Callable[[], Awaitable[ToolOutput]]


@dataclass
class ToolContext:
    """What tools see: the workspace, settings, the page, and the conversation's budget hooks."""

    workspace: Workspace
    settings: Settings
    page: PageContext
    model: str = "offline"
    budget_left: Callable[[], float | None] = lambda: None
    choose_source: Callable[[list[dict[str, Any]]], Awaitable[dict[str, Any] | None]] | None = None
    resume: Callable[[], str] | None = None
    spend: Callable[[float], None] = lambda usd: None
    _project: CatalogObject | None = field(default=None, repr=False)

    def project(self) -> CatalogObject:
        """The current project (the page's, else the only one); a ToolError when none can be chosen."""
        if self._project is not None:
            return self._project
        if self.page.project:
            self._project = self.workspace.project(self.page.project)
            return self._project
        projects = self.workspace.projects()
        if len(projects) == 1:
            self._project = projects[0]
            return self._project
        names = ", ".join(p.name for p in projects) or "none"
        raise ToolError(f"no project is selected; ask the user which project to use (projects: {names})")


ArgsT = TypeVar("ArgsT", bound=ToolArgs)


class Tool(Generic[ArgsT]):
    """Base class of every Loop tool; `Tool[MyArgs]` with `Args = MyArgs` types `run`/`propose`'s arguments."""

    name: ClassVar[str]
    description: ClassVar[str]
    Args: ClassVar[type[ToolArgs]] = NoArgs
    pages: ClassVar[tuple[str, ...]] = DATA_PAGES
    mutates: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A tool declared `Tool[MyArgs]` must validate with `Args = MyArgs` (or a subclass): the type its
        `run`/`propose` are checked against is then the type they receive."""
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            if get_origin(base) is Tool:
                (declared,) = get_args(base)
                if isinstance(declared, type) and not issubclass(cls.Args, declared):
                    raise TypeError(f"{cls.__name__} is Tool[{declared.__name__}] but its Args is {cls.Args.__name__}")

    def schema(self) -> dict[str, Any]:
        """The tool as the model sees it: name, description and the JSON schema of its arguments."""
        params = _inline_refs(self.Args.model_json_schema())
        params.pop("title", None)
        params.setdefault("properties", {})
        return {"name": self.name, "description": self.description, "parameters": params}

    def offered_on(self, page: str) -> bool:
        """Whether the tool belongs on this page."""
        return page in self.pages

    def parse_args(self, raw: dict[str, Any]) -> ArgsT:
        """Validate the model's arguments; a ToolError the model can act on when they do not fit."""
        from pydantic import ValidationError

        try:
            return cast(ArgsT, self.Args.model_validate(raw or {}))
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in err.errors()[:5]
            )
            raise ToolError(f"invalid arguments for {self.name}: {problems}") from None

    async def run(self, args: ArgsT, ctx: ToolContext) -> ToolOutput | str:
        """Do the work of a read-only tool (mutating tools: propose, then apply)."""
        proposal = await self.propose(args, ctx)
        return await proposal.apply()

    async def propose(self, args: ArgsT, ctx: ToolContext) -> Proposal:
        """Compute a change and its preview without writing anything (mutating tools only)."""
        raise NotImplementedError(f"{self.name} does not change anything")

    def generic_preview(self, args: ArgsT) -> Preview:
        """A preview for read-only tools a user asked to confirm: just the call."""
        text = json.dumps(args.model_dump(exclude_none=True), indent=2, ensure_ascii=False)
        return Preview(kind="call", title=f"Run {self.name}", text=text)


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with `$ref`s replaced by their definitions (some model APIs reject `$defs`)."""
    defs = schema.pop("$defs", {})

    def expand(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return expand(dict(defs[ref.rsplit("/", 1)[1]]))
            return {k: expand(v) for k, v in node.items()}
        if isinstance(node, list):
            return [expand(v) for v in node]
        return node

    return expand(schema)


def to_json(value: Any) -> str:
    """Compact JSON for tool results (dates and other objects as strings)."""
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
