"""Venue supervision: registry, responsibility letters, inspections (docs/patrol.md)."""
