"""npdiff.emit."""
