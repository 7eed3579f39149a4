"""graph.store."""
