#!/usr/bin/env bash
# Qt (PySide6) needs a few system libraries that pip cannot install. This checks them and,
# on Debian/Ubuntu when run as root, installs what is missing; otherwise it prints the one
# command to run. Usage: packaging/system-deps.sh test|demo
#   test: what Qt needs to draw offscreen (the test suite)
#   demo: also what it needs for a real window on an X11 desktop
# For `test` it also tries to install the engine toolchains that the Unity and Godot SDK
# tests use (Mono's C# compiler, a headless Godot 3). Those are optional: when they
# cannot be installed it says so, and their tests skip with the same message.
set -u
mode=${1:-test}
need=(libgl1 libegl1 libfontconfig1 libglib2.0-0 libdbus-1-3 libxkbcommon0)
if [ "$mode" = demo ]; then
  need+=(libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 libxkbcommon-x11-0)
fi
engines=(mono-mcs godot3-server)
if ! command -v dpkg-query >/dev/null 2>&1; then
  exit 0  # not Debian/Ubuntu: nothing to check here; Qt names any missing library when it starts
fi

# The packages among the arguments that are not installed, space-separated.
not_installed() {
  local pkg out=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || out+=("$pkg")
  done
  echo "${out[*]:-}"
}

# apt-get install the packages given (as root), refreshing the package lists once if needed.
# $1 says what they are for. Returns 2 when this user cannot install packages.
apt_install() {
  local what=$1
  shift
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 2
  echo "Installing $what: $*"
  apt-get install -y -qq "$@" >/dev/null 2>&1 || \
    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$@" >/dev/null 2>&1; }
}

if [ "$mode" = test ]; then
  read -r -a missing <<< "$(not_installed "${engines[@]}")"
  if [ ${#missing[@]} -gt 0 ]; then
    if ! apt_install "the engine SDK test toolchains" "${missing[@]}"; then
      echo "Could not install ${missing[*]}: the Unity/Godot SDK tests will be skipped." >&2
      echo "To run them: sudo apt-get install ${missing[*]}" >&2
    fi
  fi
fi

read -r -a missing <<< "$(not_installed "${need[@]}")"
[ ${#missing[@]} -eq 0 ] && exit 0
apt_install "the system libraries Qt needs" "${missing[@]}"
case $? in
  0) exit 0 ;;
  2) echo "Qt needs these system packages, which are not installed: ${missing[*]}" >&2
     echo "Install them with:  sudo apt-get install ${missing[*]}" >&2 ;;
  *) echo "Could not install ${missing[*]} with apt-get. Install them by hand, then run make again." >&2 ;;
esac
exit 1
