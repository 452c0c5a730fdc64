#!/bin/sh
# Install Debian's valkey-server, for the integration tier's Valkey runs.
# Debian 13 (trixie) and later have it in main. Debian 12 (bookworm) has it in
# bookworm-backports, which this adds from the machine's own Debian mirror
# (backports are pinned low by default, so nothing else is upgraded).
set -eu
export DEBIAN_FRONTEND=noninteractive
candidate() {
  apt-cache policy valkey-server 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -v '(none)' || true
}
apt-get update -qq
if [ -z "$(candidate)" ]; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  # The mirror of the release itself: from sources.list, or from a deb822 .sources file.
  mirror=$(awk -v c="$codename" '$1 == "deb" && $3 == c { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  if [ -z "$mirror" ]; then
    mirror=$(awk -v c="$codename" '
      /^URIs:/ { uri = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == c) { print uri; exit } }
    ' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  fi
  if [ "$codename" != bookworm ] || [ -z "$mirror" ]; then
    echo "valkey-server: no package for Debian '$codename' found; install it by hand" >&2
    exit 1
  fi
  echo "deb $mirror bookworm-backports main" > /etc/apt/sources.list.d/bookworm-backports.list
  apt-get update -qq
  apt-get install -y -qq -t bookworm-backports valkey-server >/dev/null
else
  apt-get install -y -qq valkey-server >/dev/null
fi
