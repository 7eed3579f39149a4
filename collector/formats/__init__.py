"""collector.formats."""
