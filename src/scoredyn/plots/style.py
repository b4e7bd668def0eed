"""One colour and label per method, shared by every comparison figure."""

from __future__ import annotations

#: MD is the reference (dark), SD the learned simulator, DFF the force-field baseline.
METHOD_COLORS = {"MD": "0.15", "SD": "C1", "DFF": "C2"}


def method_color(method: str) -> str:
    return METHOD_COLORS.get(method, "C0")


def greek(name: str) -> str:
    """A state or dihedral name as it is printed (alpha -> α, phi -> φ)."""
    letters = {"alpha": "α", "beta": "β", "gamma": "γ", "phi": "φ", "psi": "ψ", "omega": "ω", "chi": "χ"}
    return letters.get(name, name)
