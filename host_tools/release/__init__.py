"""Release on the host: Ed25519 keys, the trust store, adding signatures (docs/signing.md)."""
