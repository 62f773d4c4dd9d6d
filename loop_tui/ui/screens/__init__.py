"""One screen per page (each a mode with its own stack) plus the modals pages push."""
