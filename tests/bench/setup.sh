#!/usr/bin/env bash
# Installs the native programs the benchmarks compare against (Debian/Ubuntu): espeak-ng.
set -euo pipefail
if command -v espeak-ng >/dev/null; then echo "espeak-ng already installed: $(espeak-ng --version)"; exit 0; fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing espeak-ng with apt-get..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq espeak-ng
espeak-ng --version
