"""Bulk and corporate testing enquiries from the website (SPEC Part 3, "Enquiries")."""
