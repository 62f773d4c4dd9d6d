"""The deterministic sample-workspace generator behind `loop-tui demo`.

Same seed and same end date -> byte-for-byte the same rows. Two projects:
- `support-bot`: a RAG support chatbot (chat -> retrieve -> llm -> [lookup_order tool -> llm]).
- `invoice-extraction`: a document pipeline (extract_invoice -> ocr -> llm -> validate).
Each gets 30 days of production logs with daily and weekly rhythms, a few percent errors of several
kinds, online scores, token/cost metrics, plus datasets, prompts (with versions), scorers, a
playground and three experiments whose scores really differ.
"""

from loop_tui.store.demo.generate import DEMO_END, generate

__all__ = ["DEMO_END", "generate"]
