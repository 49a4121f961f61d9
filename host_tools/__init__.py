"""Host side (CPython): rules compiler, encoder, signing, push, reports, CLI."""
