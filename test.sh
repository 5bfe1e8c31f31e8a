#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need,
# then runs unit, integration, doc, bench-smoke and loom model tests.
# `.ci/run` calls exactly this script.
set -euo pipefail
cd "$(dirname "$0")"

# Set-up: the Rust toolchain (with rustfmt and clippy) is the only
# prerequisite so far; fail early and clearly if it is missing.
if ! command -v cargo >/dev/null; then
  echo "test.sh: cargo not found; install Rust from https://rustup.rs" >&2
  exit 1
fi

echo "== unit, integration and bench-smoke tests"
cargo test --workspace --all-targets

echo "== doc tests"
cargo test --workspace --doc

echo "== loom models of the merge, thread-exit and slot-reuse protocols"
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
  cargo test -p hotmetrics-core --test loom --release
