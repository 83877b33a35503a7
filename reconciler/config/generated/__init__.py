"""Validators generated from schemas/merchant.schema.json (see reconciler/config/schema.py)."""
