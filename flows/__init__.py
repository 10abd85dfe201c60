"""Prefect flows: the quarterly report, read top to bottom like a table of contents."""
