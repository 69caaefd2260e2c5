"""The living registry's write side: allocation, edits with history, the change log."""
