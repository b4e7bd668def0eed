"""One exception hierarchy for everything a user can get wrong.

Every message names the file or config key at fault and says how to fix it, so the
command line can print it on one line instead of a traceback.
"""

from __future__ import annotations


class ScoredynError(Exception):
    """Base class of all errors that scoredyn reports to users."""


class ConfigError(ScoredynError):
    """A config file or value is invalid."""


class MoleculeError(ScoredynError):
    """A molecule description, structure or topology is invalid."""


class GromacsError(ScoredynError):
    """GROMACS is missing or one of its tools failed."""


class TrajectoryError(ScoredynError):
    """A trajectory file is missing, unreadable or malformed."""


class CheckError(ScoredynError):
    """A structure failed a physical check (bond lengths, chirality, peptide bonds)."""
