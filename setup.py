"""The optional native part of Loop TUI: the JSONL span scanner (`loop_tui/store/_spanscan.c`).

Everything else is configured in pyproject.toml. Without a C compiler the build skips the extension
(`optional=True`) and imports use the DuckDB path (`loop_tui/store/import_fast.py`) instead: slower, same rows.
"""

from setuptools import Extension, setup

# `depends`: a change to the header rebuilds the extension, and the sdist ships it.
setup(ext_modules=[Extension("loop_tui.store._spanscan", ["loop_tui/store/_spanscan.c"], optional=True,
                             depends=["loop_tui/store/spanscan_json.h"], extra_compile_args=["-O2"])])
