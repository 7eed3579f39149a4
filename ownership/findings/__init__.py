"""Finding codes, the Finding record, and the rules that decide each code (one rule per code).

Where is a code decided? `registry.DEFAULT_RULES` lists every rule;
docs/architecture.md has the table code → function.
"""

from ownership.findings.codes import (
    ALL_CODES,
    DOCUMENTATION_CODES,
    ORPHAN_CODES,
    SEVERITY,
    SEVERITY_ORDER,
    FindingCode,
)
from ownership.findings.finding import Finding

__all__ = [
    "ALL_CODES",
    "DOCUMENTATION_CODES",
    "ORPHAN_CODES",
    "SEVERITY",
    "SEVERITY_ORDER",
    "Finding",
    "FindingCode",
]
