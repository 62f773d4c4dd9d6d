"""The deterministic sample-workspace generator behind `loop-tui demo`.

Same seed and same end date -> the same rows (the end defaults to `loop_tui.clock.now()`). Two projects:
- `support-bot`: a RAG support chatbot (chat -> retrieve -> llm -> [lookup_order tool -> llm]).
- `invoice-extraction`: a document pipeline (extract_invoice -> ocr -> llm -> validate).
Each gets 30 days of production logs with daily and weekly rhythms, a few percent errors of several
kinds, online scores, token/cost metrics, plus datasets, prompts (with versions), scorers, a
playground and three experiments whose scores really differ.
"""

from loop_tui.store.demo.generate import generate
from loop_tui.store.demo.recent import copy_recent

__all__ = ["copy_recent", "generate"]
