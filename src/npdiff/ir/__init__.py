"""npdiff.ir."""
