#!/usr/bin/env bash
# Installs the programs the end-to-end tests run for real, when missing:
# Debian's chromium, prometheus and prometheus-alertmanager, fonts so that
# screenshots render Japanese, PostgreSQL (the replica store's tests start a
# throwaway cluster of their own with initdb) and systemd-analyze for the
# unit file. Needs root (or sudo) and Debian's apt.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
command -v git >/dev/null 2>&1 || need+=(git)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
# systemd-analyze verifies deploy/systemd/wallboard.service (no running systemd needed).
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
[ ${#need[@]} -eq 0 ] && exit 0
echo "test-deps: installing ${need[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts the packaged services on install; the tests run their own.
for svc in prometheus prometheus-alertmanager prometheus-node-exporter postgresql; do
  $SUDO systemctl stop "$svc" >/dev/null 2>&1 || true
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
