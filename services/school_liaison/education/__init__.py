"""Legal-education events and drills at the schools, and the term plan (docs/schools.md)."""
