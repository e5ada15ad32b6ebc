"""Family members a user orders tests for (`/member`)."""
