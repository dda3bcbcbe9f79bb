# Shared by scripts/serve and scripts/test: a project virtualenv, installed when needed.
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

install_project() {
  local target="$1"
  if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$(echo "$target" | tr -c 'a-z' '_')"
  if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e "$target"
    touch "$stamp"
  fi
}
