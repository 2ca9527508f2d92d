"""The public operator families (see API.md)."""
