"""Types of the native span scanner (`_spanscan.c`); see `import_native.py`."""

LAYOUT: int  # the version of what `scan` takes and returns (`import_native.SCANNER_LAYOUT`)
FREE_FORM_FIELDS: int  # the free-form JSON fields it has columns for (`schema.SPAN_JSON_FIELDS`)

def scan(chunk: bytes | bytearray | memoryview, keys: tuple[str, ...], roles: bytes, meta_field: int, attrs_field: int, /) -> dict[str, bytes | int]:
    """The Arrow column buffers (and `rows`) of the lines of `chunk`."""
