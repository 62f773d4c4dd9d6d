"""The Textual app: one screen per page (modes), widgets, messages and key bindings.

Only this package imports Textual. Everything it shows comes from the plain Python layers below
(store, btql, evals, agent), called from thread workers that report back with messages.
"""
