"""The write path: generate, import and load registries (never used by lookups)."""
