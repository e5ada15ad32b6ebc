"""Rows straight into the database, one module per domain module, for tests of any module."""
