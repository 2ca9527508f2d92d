"""npdiff.api.adjoint."""
