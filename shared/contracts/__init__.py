"""Versioned contracts: one module per bounded context (events and the public API shapes)."""
