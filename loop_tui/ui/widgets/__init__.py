"""Reusable widgets, one family per module."""
