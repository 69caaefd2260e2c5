"""Persian text processing: small pure functions chained into pipelines."""
