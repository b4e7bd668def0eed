"""Pure plotting functions: (data, ax) -> ax, with no file I/O."""
