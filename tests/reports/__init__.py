"""Tests of the weekly orphan report: golden weeks, renderers, delivery and the schedule."""
