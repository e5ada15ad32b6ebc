"""Delivery/sample-collection addresses (`/address`) and the serviceable locations they need."""
