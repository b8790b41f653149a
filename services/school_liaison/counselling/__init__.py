"""Counselling at the liaison school: list, sessions, records, alerts (docs/schools.md)."""
