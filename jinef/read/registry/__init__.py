"""The registry: the address model, postcode rules and read access to a stored registry."""
