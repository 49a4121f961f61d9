"""Commands that talk to pumps over serial: push, info, log, the simulated pump, simulate."""
