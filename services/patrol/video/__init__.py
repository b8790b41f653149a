"""Daily video patrol of the schools' cameras (docs/patrol.md)."""
