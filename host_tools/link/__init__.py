"""The serial link on the host: the protocol client and the simulated pump (docs/protocol.md)."""
