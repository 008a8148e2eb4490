"""Runnable tutorials: `python -m tutorials.NAME [--out DIR]`; each saves its plots as PNG."""
