#!/usr/bin/env bash
# Qt (PySide6) needs a few system libraries that pip cannot install. This checks them and,
# on Debian/Ubuntu when run as root, installs what is missing; otherwise it prints the one
# command to run. Usage: packaging/system-deps.sh test|demo
#   test: what Qt needs to draw offscreen (the test suite)
#   demo: also what it needs for a real window on an X11 desktop
# For `test` it also tries to install the engine toolchains that the Unity and Godot SDK
# tests use (Mono's C# compiler, NUnit, a headless Godot 3). Those are optional: when they
# cannot be installed it says so, and their tests skip with the same message.
set -u
engines=(mono-mcs nunit-console godot3-server)
install_engines() {
  local missing=() pkg
  for pkg in "${engines[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing the engine SDK test toolchains: ${missing[*]}"
    apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || \
      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; } || \
      echo "Could not install ${missing[*]}: the Unity/Godot SDK tests will be skipped." >&2
  else
    echo "Not installed: ${missing[*]}; the Unity/Godot SDK tests will be skipped." >&2
    echo "To run them: sudo apt-get install ${missing[*]}" >&2
  fi
  return 0
}
mode=${1:-test}
need=(libgl1 libegl1 libfontconfig1 libglib2.0-0 libdbus-1-3 libxkbcommon0)
if [ "$mode" = demo ]; then
  need+=(libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 libxkbcommon-x11-0)
fi
if ! command -v dpkg-query >/dev/null 2>&1; then
  exit 0  # not Debian/Ubuntu: nothing to check here; Qt names any missing library when it starts
fi
[ "$mode" = test ] && install_engines
missing=()
for pkg in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing the system libraries Qt needs: ${missing[*]}"
  if ! { apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || \
         { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; }; }; then
    echo "Could not install ${missing[*]} with apt-get. Install them by hand, then run make again." >&2
    exit 1
  fi
  exit 0
fi
echo "Qt needs these system packages, which are not installed: ${missing[*]}" >&2
echo "Install them with:  sudo apt-get install ${missing[*]}" >&2
exit 1
