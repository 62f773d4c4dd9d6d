"""Compatibility alias of `loop_tui.btql.parsing` (the parser entry points live there).

Importing a submodule named `parse` rebinds `loop_tui.btql.parse` to the module, which would hide the
package's `parse()` function; this module is therefore callable and forwards to `parsing.parse`.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from loop_tui.btql.parsing import MAX_QUERY_CHARS, detect_syntax, parse, parse_expression

__all__ = ["MAX_QUERY_CHARS", "detect_syntax", "parse", "parse_expression"]


class _CallableModule(types.ModuleType):
    def __call__(self, query: Any) -> Any:
        return parse(query)


sys.modules[__name__].__class__ = _CallableModule
