"""Signed postcode certificates (گواهی کد پستی): issued from the registry, verifiable offline with a public key."""
