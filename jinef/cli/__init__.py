"""The `jinef` command: a thin Typer adapter over the library."""
