#!/usr/bin/env bash
# Installs the Debian packages execrec needs to build, test and run its demo.
# Idempotent: packages already installed are left alone and apt is not touched.
set -euo pipefail

# clang: the second compiler of .ci/run's build (warnings are errors with both).
# libmicrohttpd-dev: the metrics and health endpoints (no hand-written HTTP server).
# libssl-dev: libcrypto's SHA-256 of reject payloads. prometheus: the real server and
# promtool the metrics, alert-rule and dashboard tests use. python3-yaml: the offline
# checks of the compose and Kubernetes recipes. dpkg-dev, fakeroot: the Debian
# package test. openssl: the TLS test's self-signed CA. systemd: systemd-analyze.
# python3-confluent-kafka, python3-psycopg2: the benchmark's Python peer (what a user
# would write instead). libclang-rt-14-dev: libFuzzer's runtime, for the fuzzers CI runs.
PACKAGES=(build-essential clang clang-format cmake pkg-config
          librdkafka-dev libavro-dev libjansson-dev libpq-dev libcurl4-openssl-dev check libsubunit-dev
          libmicrohttpd-dev libssl-dev
          postgresql postgresql-contrib kcat python3 python3-yaml openssl
          prometheus dpkg-dev fakeroot systemd
          python3-confluent-kafka python3-psycopg2 libclang-rt-14-dev)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's postgresql package starts a system cluster; execrec never uses it.
echo "setup: packages present" >&2
