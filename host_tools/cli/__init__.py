"""`druglib`: the command table (main.py) and one thin module per command."""
