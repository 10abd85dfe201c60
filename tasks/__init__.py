"""Thin Prefect tasks over kvartal's plain functions: one stage each, retries only on IO."""
