#!/usr/bin/env bash
# Crash soak: runs the kill -9 scenario of broker/tests/crash.rs for many cycles against the
# release build. Every cycle publishes QoS 1 messages as fast as the broker acknowledges them,
# kills the broker with SIGKILL at a random moment and starts it again on the same data
# directory; at the end every acknowledged message must be in the topic log and reach the
# persistent subscriber. The test prints its seed and a "crash summary:" line.
#
#   scripts/soak.sh                      200 cycles, fresh seed
#   CRASH_CYCLES=1000 scripts/soak.sh    more cycles
#   CRASH_SEED=123 scripts/soak.sh       replay a run (same seed, same random choices)
#   SOAK_RUNS=5 scripts/soak.sh          repeat the whole scenario, each with a new seed
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tallymq/target}"
export CRASH_CYCLES="${CRASH_CYCLES:-200}"
runs="${SOAK_RUNS:-1}"

for ((run = 1; run <= runs; run++)); do
    echo "soak: run $run of $runs, $CRASH_CYCLES cycles"
    cargo test --release --locked -p tallymq --test crash acknowledged_messages_survive_kill_9 -- --nocapture
done
