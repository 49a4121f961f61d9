# Persistent memory: the storage interface and its fault-injecting double,
# the A/B library slots with their commit record, and the event log
# (docs/storage.md).
