"""Compiles the mail templates into Python modules for jinja2's ``ModuleLoader`` (a build step).

The layer's Makefile runs ``python -m buildsteps.compile_templates <templates dir>`` on the very
templates it ships, so a cold start need not lex, parse and compile them and the compiled copy is
never stale. The environment is the runtime's own (:func:`pwreset.mail.mailer.new_environment`),
so the compiled templates render byte for byte what the sources do (a test holds that).
"""

from __future__ import annotations

import sys
from pathlib import Path

import jinja2

from pwreset.mail.mailer import COMPILED_DIR_NAME, new_environment


def compile_templates(source: Path, target: Path | None = None) -> Path:
    """Compile the mail templates under ``source`` (a templates directory holding ``mail/``) into
    Python modules in ``target`` (default: ``source/mail-compiled``), for jinja2's ModuleLoader.
    Returns the directory written."""

    def is_mail(name: str) -> bool:
        return name.startswith("mail/")

    target = target or source / COMPILED_DIR_NAME
    env = new_environment(jinja2.FileSystemLoader(source))
    if not env.list_templates(filter_func=is_mail):
        raise FileNotFoundError(f"no mail templates under {source}")
    env.compile_templates(str(target), filter_func=is_mail, zip=None, ignore_errors=False)
    return target


if __name__ == "__main__":
    # python -m buildsteps.compile_templates <templates dir>: what the layer's Makefile runs.
    print(compile_templates(Path(sys.argv[1])))
