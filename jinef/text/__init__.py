"""Persian text processing: small pure functions chained into pipelines.

Entry points (imported from their modules: this package stays import-free because the
registry model imports :mod:`jinef.model.digits`):

- :func:`jinef.text.normalize.normalize` / :func:`jinef.text.normalize.run_pipeline`: clean what
  people type (letters, digits, ZWNJ, punctuation);
- :func:`jinef.text.keys.match_key`: one comparison key per name, for registry names and query parts;
- :func:`jinef.text.parser.parse_address`: tag a free-text address with the model's levels;
- :func:`jinef.text.parser.split_thoroughfare`: split a stored «خیابان آزادی» into type and name.
"""
