# The serial link on the pump: frames (COBS + CRC-32) and the command server
# (docs/protocol.md).
