"""Rules: reading, validating and linting druglib/*.toml into the library model (docs/rules.md)."""
