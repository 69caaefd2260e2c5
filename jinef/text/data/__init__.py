"""Persian language data used by the text pipeline: words, abbreviations, numbers, slips.

Everything that is a fact about how Persian addresses are written lives here as a table,
so adding a variant is one more row and no code changes.
"""
