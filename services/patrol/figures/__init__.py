"""The year's figures: a projection of the streams, rebuildable from them (docs/patrol.md)."""
