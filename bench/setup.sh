#!/usr/bin/env bash
# Installs what `npm run bench` uses when present: Debian's wrk (the load generator that costs
# the least CPU) and OpenSSH's server and client (for the `ssh -R` comparison path).
# The bench runs without them too: autocannon replaces wrk, and the ssh path is skipped.
# The bench runs its own private sshd on a loopback port with a temporary config and never uses
# the system's. In these containers policy-rc.d keeps the package from starting a system sshd; on a
# machine with systemd, Debian's package enables and starts ssh.service, which the bench does not
# need (`systemctl disable --now ssh` turns it off again).
set -euo pipefail

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)

if [ ${#missing[@]} -eq 0 ]; then
  echo "bench/setup.sh: wrk, sshd, ssh and ssh-keygen are already installed"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "bench/setup.sh: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
  sudo=(sudo)
fi

echo "bench/setup.sh: installing ${missing[*]}"
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u)
