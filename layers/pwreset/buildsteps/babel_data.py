"""Babel's CLDR data, pruned to the languages the service writes (a build step of the layer).

Babel ships the data of every CLDR locale, about a thousand files and nearly all of its size in the
layer. The service asks it only for country names in its own languages (:mod:`pwreset.mail.geo`),
so the layer keeps ``root`` (the parent every locale's data is merged onto), the locales of
:data:`pwreset.core.i18n.SUPPORTED_LOCALES` and the licence; ``global.dat`` (outside
``locale-data/``) stays whole. Any other locale then fails with Babel's ``UnknownLocaleError``;
``pwreset.core.i18n.normalise_locale`` never hands one over.

The layer's Makefile runs ``python -m buildsteps.babel_data <babel package dir>`` after ``pip
install``; ``tests/unit/test_babel_data.py`` runs the pruned copy.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from pwreset.core.i18n import SUPPORTED_LOCALES

ROOT_LOCALE = "root"


def prune(babel_dir: Path, locales: Iterable[str] = SUPPORTED_LOCALES) -> list[str]:
    """Remove the data of every locale but ``root`` and ``locales`` from the Babel package at
    ``babel_dir``, in place; returns the names of the files removed."""
    data = babel_dir / "locale-data"
    keep = {ROOT_LOCALE, *locales}
    if missing := {name for name in keep if not (data / f"{name}.dat").is_file()}:
        raise FileNotFoundError(f"babel at {babel_dir} has no data for {sorted(missing)}")
    removed = sorted(path.name for path in data.glob("*.dat") if path.stem not in keep)
    for name in removed:
        (data / name).unlink()
    return removed


if __name__ == "__main__":
    # python -m buildsteps.babel_data <babel package dir>: what the layer's Makefile runs.
    removed = prune(Path(sys.argv[1]))
    print(f"babel data: kept root, {', '.join(SUPPORTED_LOCALES)}; removed {len(removed)} other locales")
