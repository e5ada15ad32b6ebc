"""Load benchmark: `python -m bench` (see README, "Performance")."""
