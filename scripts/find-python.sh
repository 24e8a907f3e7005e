#!/usr/bin/env bash
# Prints the path of a Python 3.13 interpreter (the template's Lambda runtime): one on PATH, else
# one installed under pyenv. Exits non-zero with a clear message when there is none.
set -u
want="3.13"
for candidate in python3.13 python3; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  version=$("$path" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue
  if [ "$version" = "$want" ]; then
    "$path" -c 'import sys; print(sys.executable)'; exit 0
  fi
done
if command -v pyenv >/dev/null 2>&1; then
  for v in $(pyenv versions --bare 2>/dev/null | grep -E "^${want}(\.[0-9]+)?$" | sort -V -r); do
    prefix=$(pyenv prefix "$v" 2>/dev/null) && [ -x "$prefix/bin/python${want}" ] && { echo "$prefix/bin/python${want}"; exit 0; }
  done
fi
echo "error: Python ${want} is required (the Lambda runtime is python${want})." >&2
echo "       Install it (e.g. 'pyenv install ${want}' or your distribution's python${want}) and retry." >&2
exit 1
