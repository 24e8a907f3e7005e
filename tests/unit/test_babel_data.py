"""The layer's Babel keeps only the CLDR data of the service's languages, and the location line
of a German mail still reads German from that pruned copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import babel
import pytest
from buildsteps.babel_data import prune

PROBE = """\
import babel, sys
from babel import Locale, UnknownLocaleError
from pwreset.mail import geo
assert babel.__file__.startswith(sys.argv[1]), babel.__file__
berlin = {"city": "Berlin", "country": "DE", "country_name": "Germany"}
assert geo.locate(berlin, "de") == "Berlin, Deutschland"
assert geo.country_name("US", "de") == "Vereinigte Staaten"
assert Locale.parse("en").territories["DE"] == "Germany"
try:
    Locale.parse("fr")
except UnknownLocaleError:
    pass
else:
    raise AssertionError("French data was kept")
"""


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_the_pruned_babel_names_countries_in_german_and_is_small(tmp_path: Path) -> None:
    installed = Path(babel.__file__).parent
    copy = tmp_path / "layer" / "babel"
    shutil.copytree(installed, copy)

    removed = prune(copy)

    assert len(removed) > 900 and "fr.dat" in removed and "de_AT.dat" in removed
    assert sorted(p.name for p in (copy / "locale-data").glob("*.dat")) == ["de.dat", "en.dat", "root.dat"]
    assert (copy / "locale-data" / "LICENSE.unicode").is_file()
    assert _size(copy) < _size(installed) / 10
    path = os.pathsep.join([str(tmp_path / "layer"), *sys.path])
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(copy)],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_a_babel_without_a_needed_language_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "babel"
    (copy / "locale-data").mkdir(parents=True)
    (copy / "locale-data" / "root.dat").write_bytes(b"")
    (copy / "locale-data" / "en.dat").write_bytes(b"")

    with pytest.raises(FileNotFoundError, match="de"):
        prune(copy)
