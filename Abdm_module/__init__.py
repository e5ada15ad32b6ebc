"""ABDM: the lab as a Health Information Provider (ABHA linking, consented data transfer)."""
