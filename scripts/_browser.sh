# Shared by scripts/test: what the browser tests need besides Python packages.
AXE_CORE_VERSION="4.14.1"
AXE_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/hocvuso-tests"

install_browser_tools() {
  # Debian's Chromium: Playwright's own browser download does not work on these machines.
  if [[ ! -x /usr/bin/chromium ]]; then
    echo "== installing chromium"
    local sudo=""
    [[ "$(id -u)" != 0 ]] && sudo="sudo"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq chromium
  fi
  # axe-core, for the accessibility checks of the browser tests only.
  if [[ ! -f "$AXE_CACHE/node_modules/axe-core/axe.min.js" ]]; then
    echo "== installing axe-core $AXE_CORE_VERSION into $AXE_CACHE"
    mkdir -p "$AXE_CACHE"
    npm install --silent --prefix "$AXE_CACHE" --no-save --no-audit --no-fund \
      "axe-core@$AXE_CORE_VERSION"
  fi
}
