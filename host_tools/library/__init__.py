"""The library as bytes: encoding the model (format v1), building from rules, reading library files."""
