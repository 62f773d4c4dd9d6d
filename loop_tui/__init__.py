"""Loop TUI: a terminal app for evaluating and monitoring LLM products, with Loop, an AI assistant."""

__version__ = "0.1.0"
