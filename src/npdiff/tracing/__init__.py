"""npdiff.tracing."""
