"""The public operator families: JAX-style, Mici-style, diffops, custom rules and source transformation."""
