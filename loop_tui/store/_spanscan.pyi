"""Types of the native span scanner (`_spanscan.c`); see `import_native.py`."""

def scan(chunk: bytes | bytearray | memoryview, keys: tuple[str, ...], roles: bytes, meta_field: int, attrs_field: int, /) -> dict[str, bytes | int]:
    """The Arrow column buffers (and `rows`) of the lines of `chunk`."""
