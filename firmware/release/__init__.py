# Release verification: SHA-512, Ed25519 (RFC 8032), the trust store, and the
# two-person release check with anti-rollback (docs/signing.md).
