"""ownership.catalog."""
