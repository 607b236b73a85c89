#!/usr/bin/env bash
# Installs every Debian package that pare's build, tests, demo and sample data need. Idempotent: when everything is
# present it only checks and returns; otherwise it runs apt-get update once and installs what is missing.
set -euo pipefail

packages=(
    build-essential cmake pkg-config
    libonnx-dev libprotobuf-dev protobuf-compiler
    libdnnl-dev libcli11-dev nlohmann-json3-dev doctest-dev
    libssl-dev libzip-dev libstb-dev libeigen3-dev
    dataset-fashion-mnist libonnx-testdata
    python3-numpy
)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

# node and npm run the ONNX Runtime cross-checks (tests/ort). Checked by command: a nodejs from another source (e.g.
# NodeSource) bundles npm and conflicts with Debian's npm package.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi

if ((${#missing[@]})); then
    echo "install-deps: installing ${missing[*]}" >&2
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
