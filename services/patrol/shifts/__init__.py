"""Patrol shifts, school-gate posts and the weighted plan (docs/patrol.md)."""
