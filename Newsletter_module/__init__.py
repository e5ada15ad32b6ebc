"""The newsletter: double opt-in, one-click unsubscribe (SPEC Part 3, "Newsletter")."""
