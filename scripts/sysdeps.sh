#!/usr/bin/env bash
# Installs the system libraries the Python packages need, when they are missing:
# libmagic (python-magic's type sniffing). Needs root and apt; otherwise says what to install.
set -euo pipefail

missing=()
ldconfig -p 2>/dev/null | grep -q 'libmagic\.so\.1' || missing+=(libmagic1)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "sysdeps: installing ${missing[*]}"
  apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; }
else
  echo "sysdeps: please install ${missing[*]} (Debian/Ubuntu: apt-get install ${missing[*]}; macOS: brew install libmagic)" >&2
  exit 1
fi
