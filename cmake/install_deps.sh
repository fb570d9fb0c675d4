#!/usr/bin/env bash
# Installs the Debian packages confsgm builds and tests with (only the missing
# ones; apt-get is not touched when everything is present).
set -euo pipefail
pkgs=(cmake g++ make libeigen3-dev libxtensor-dev xtl-dev catch2 librdkit-dev rdkit-data
      python3-rdkit libboost-dev libbenchmark-dev zlib1g-dev xtb libxtb-dev libopenmpi-dev openmpi-bin "$@")  # extra packages as arguments
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
