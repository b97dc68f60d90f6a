"""Refunder sidecar: signed refund API, exact ledger and provider integrations."""

__version__ = "0.1.0"
