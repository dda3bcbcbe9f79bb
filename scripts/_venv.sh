# Shared by scripts/serve and scripts/test: a project virtualenv, installed when needed.
VENV="${VENV:-.venv}"

# The project needs Python 3.12 or newer: $PYTHON if given, else 3.12 (the container's), else
# a newer one, found on PATH or among pyenv's installed versions.
find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.12 "$(pyenv root 2>/dev/null)"/versions/3.12*/bin/python \
    python3.13 "$(pyenv root 2>/dev/null)"/versions/3.13*/bin/python python3; do
    [[ -n "$candidate" ]] || continue
    candidate="$(command -v "$candidate" 2>/dev/null)" || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "Python 3.12 or newer is needed and was not found (set PYTHON=/path/to/python3.12)" >&2
  return 1
}

install_project() {
  local target="$1"
  # A virtualenv made by an older interpreter is made again.
  if [[ -x "$VENV/bin/python" ]] &&
    ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    rm -rf "$VENV"
  fi
  if [[ ! -x "$VENV/bin/python" ]]; then
    "$(find_python)" -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$(echo "$target" | tr -c 'a-z' '_')"
  # Every package at the version of constraints.txt (scripts/lock makes it again).
  if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" || constraints.txt -nt "$stamp" ]]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -c constraints.txt -e "$target"
    touch "$stamp"
  fi
}
