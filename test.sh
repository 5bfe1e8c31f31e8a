#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need,
# then runs unit, integration, doc, bench-smoke and loom model tests.
# `.ci/run` calls exactly this script.
set -euo pipefail
cd "$(dirname "$0")"

# Set-up: the Rust toolchain (with rustfmt and clippy) must be there; fail
# early and clearly if it is missing.
if ! command -v cargo >/dev/null; then
  echo "test.sh: cargo not found; install Rust from https://rustup.rs" >&2
  exit 1
fi

# The interop tests (tests/tests/interop_*.rs) run tools nobody on this team
# wrote and fail when one is missing: promtool, protoc with client_model's
# metrics.proto, Python's prometheus_client; the push tests use the
# pushgateway, behind nginx for https. Install whatever is missing (Debian;
# `apt-get update` only then). `./test.sh --setup` stops after this step.
apt_packages=()
# rustc links through cc, and `ring` (the tls tests) builds C.
command -v cc >/dev/null || apt_packages+=(gcc libc6-dev)
# libfuzzer-sys (the fuzz targets, which .ci/run compiles) builds C++.
command -v c++ >/dev/null || apt_packages+=(g++)
# promtool for the interop tests, the server for the e2e scrape test.
{ command -v promtool && command -v prometheus; } >/dev/null || apt_packages+=(prometheus)
command -v prometheus-pushgateway >/dev/null || apt_packages+=(prometheus-pushgateway)
# The second real receiver of the remote write tests (exporters/remote-write).
command -v victoria-metrics >/dev/null || apt_packages+=(victoria-metrics)
# The push client's system roots (rustls-native-certs reads them).
[ -f /etc/ssl/certs/ca-certificates.crt ] || apt_packages+=(ca-certificates)
# The TLS front of the push tests over https (in /usr/sbin, off a user's PATH).
{ command -v nginx || [ -x /usr/sbin/nginx ]; } >/dev/null || apt_packages+=(nginx)
command -v protoc >/dev/null || apt_packages+=(protobuf-compiler)
# The real brokers of the broker middleware tests (instrument/broker/servers.sh).
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || apt_packages+=(rabbitmq-server)
command -v nats-server >/dev/null || apt_packages+=(nats-server)
command -v redis-server >/dev/null || apt_packages+=(redis-server)
{ command -v mosquitto || [ -x /usr/sbin/mosquitto ]; } >/dev/null || apt_packages+=(mosquitto)
# Kafka has no Debian broker package: the tests use librdkafka's mock
# cluster, built from rdkafka-sys' bundled sources (Debian's librdkafka-dev
# 2.0.2 is older than the 2.12 rdkafka 0.39 links against) by its
# configure and make (C, and C++ for configure's checks, above).
command -v make >/dev/null || apt_packages+=(make)
dpkg -s golang-github-prometheus-client-model-dev >/dev/null 2>&1 \
  || apt_packages+=(golang-github-prometheus-client-model-dev)
# metrics.proto imports google/protobuf/timestamp.proto, shipped here.
[ -f /usr/include/google/protobuf/timestamp.proto ] || apt_packages+=(libprotobuf-dev)
# prometheus_client 0.22.0 is the first whose parsers read quoted UTF-8
# names (tests/tests/utf8_names.rs).
has_prometheus_client() {
  python3 -c 'import sys, prometheus_client as p, importlib.metadata as m
v = tuple(int(x) for x in m.version("prometheus-client").split(".")[:2])
sys.exit(v < (0, 22))' 2>/dev/null
}
if ! has_prometheus_client; then
  command -v python3 >/dev/null || apt_packages+=(python3)
  python3 -m pip --version >/dev/null 2>&1 || apt_packages+=(python3-pip)
fi
# The StatsD sink's tests (exporters/statsd/tests) run the npm `statsd`
# daemon with Node.js (the daemon: npm ci, below) and a Python DogStatsD parser.
{ command -v node && command -v npm; } >/dev/null || apt_packages+=(nodejs npm)
if ((${#apt_packages[@]})); then
  echo "== installing ${apt_packages[*]}"
  sudo=()
  if [ "$(id -u)" != 0 ]; then sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${apt_packages[@]}"
fi
if ! has_prometheus_client; then
  echo "== installing prometheus-client>=0.22.0 (pip)"
  python3 -m pip install -q 'prometheus-client>=0.22.0' 2>/dev/null \
    || python3 -m pip install -q --break-system-packages 'prometheus-client>=0.22.0'
fi
[ -f exporters/statsd/tests/statsd-daemon/node_modules/statsd/stats.js ] \
  || (cd exporters/statsd/tests/statsd-daemon && npm ci --no-audit --no-fund --omit=optional)
if [ "${1:-}" = --setup ]; then
  exit 0
fi

# RabbitMQ boots in seconds: start the brokers now, build meanwhile, wait
# before the tests (which fail, not skip, without them). On exit, stop what
# was started here (RabbitMQ's epmd too), and nothing that ran before.
. instrument/broker/servers.sh
trap brokers_stop EXIT
brokers_start

echo "== unit, integration and bench-smoke tests"
cargo test --workspace --all-targets --no-run
brokers_wait
cargo test --workspace --all-targets

echo "== the broker middlewares against the real RabbitMQ, NATS, Redis and Mosquitto, and librdkafka's mock Kafka cluster"
cargo test -p hotmetrics-broker --all-features --all-targets

echo "== the export runtime's tokio API (feature tokio, off in the workspace build)"
cargo test -p hotmetrics-export --features tokio --test tokio

echo "== doc tests"
cargo test --workspace --doc
# The facade alone with every feature: README.md's blocks are its doctests
# (they need http, tower, push, push-tokio and broker).
cargo test -p hotmetrics --all-features --doc

echo "== loom models of the merge, thread-exit, slot-reuse and expiry protocols"
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
  cargo test -p hotmetrics-core --lib --release
echo "== loom model of the StatsD timing ring"
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
  cargo test -p hotmetrics-statsd --lib --release
