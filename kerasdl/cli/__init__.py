"""The `kerasdl` command."""
