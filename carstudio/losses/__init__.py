"""Losses as small pure functions, one family per file."""
