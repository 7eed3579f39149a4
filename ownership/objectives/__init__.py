"""Objectives (DESIGN §3a): declared SLOs, loaded with the catalog, measured against the traces."""

from ownership.objectives.model import Objective

__all__ = ["Objective"]
