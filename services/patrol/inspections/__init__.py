"""School safety inspections → rectification notices → re-inspection (docs/schools.md)."""
