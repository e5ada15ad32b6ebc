"""Visitor privacy choices: append-only receipts (SPEC Part 3, "Visitor privacy choices")."""
