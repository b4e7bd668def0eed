"""GROMACS parameter files from templates in ``resources/mdp/``.

Templates hold ``${name}`` fields; every physical value comes from the config, so a
template never hides a number that the config claims to set.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

from scoredyn.errors import GromacsError
from scoredyn.io import atomic_write_text


def render(template: Path | str, out: Path | str, **values: object) -> Path:
    """Fill ``template`` with ``values`` and write it to ``out``.

    Raises
    ------
    GromacsError
        If the template is missing, names a field that was not given, or a value was
        given that the template does not use (a sign of a typo on either side).
    """
    template = Path(template)
    if not template.is_file():
        raise GromacsError(f"{template}: no such mdp template; the workflow ships them in resources/mdp/")
    tpl = Template(template.read_text())
    needed = {m.group("named") or m.group("braced") for m in tpl.pattern.finditer(tpl.template)} - {None}
    missing, unused = needed - set(values), set(values) - needed
    if missing or unused:
        raise GromacsError(
            f"{template}: fields {sorted(missing)} have no value and values {sorted(unused)} have no field; "
            "the template and scoredyn.md must name the same fields"
        )
    text = tpl.substitute({k: _fmt(v) for k, v in values.items()})
    return atomic_write_text(out, text)


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)
