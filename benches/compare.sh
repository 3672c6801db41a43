#!/usr/bin/env bash
# Side by side: tallymq and Mosquitto (and rumqttd, if it is on PATH) under the same
# tallymq-bench scenarios, in one run, and one table of their ratios.
#
# Each scenario runs against a fresh broker process, one broker after the other, with the
# broker pinned to core 0 and the load generator to core 1 (taskset). tallymq runs its
# release build with production settings: durability fsync, a fresh data directory under
# $DATA_PARENT (default /tmp: it must be on the disk to measure, fsync on tmpfs is free).
# Two settings differ from the defaults, because every load client connects from 127.0.0.1
# and uses topics of its own: `serve --open` (anonymous clients, any topic, as Mosquitto's
# allow_anonymous) and the per-address and per-client [limits] at their maximum. Mosquitto
# (Debian's package, installed here if missing) is configured to drop nothing:
# max_queued_messages 0, persistence off, anonymous on loopback. The harassment detector is
# on, as in production, for chat rooms and for the chat scenario's rooms (bench/+/chat/#).
#
#   benches/compare.sh                      # every scenario, about 6 minutes
#   benches/compare.sh --only fanout,conn   # some of them
#   benches/compare.sh --unmoderated        # add tallymq with moderation off (its overhead)
#   benches/compare.sh --durability flush,none  # add tallymq with moderation off at these
#                                           # storage.durability settings (what the sync costs)
#   benches/compare.sh --out results/       # keep the JSON results and SVG plots there
set -euo pipefail
cd "$(dirname "$0")/.."

only=""
out=""
unmoderated=0
durabilities=()
while (( $# )); do
    case "$1" in
        --only) only="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --unmoderated) unmoderated=1; shift ;;
        --durability)
            IFS=, read -r -a durabilities <<<"$2"; shift 2
            for durability in "${durabilities[@]}"; do
                case "$durability" in
                    fsync|flush|none) ;;
                    *) echo "compare: --durability takes fsync, flush or none, not $durability" >&2; exit 2 ;;
                esac
            done
            ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "compare: unknown argument $1" >&2; exit 2 ;;
    esac
done

# Scenario sizes for a 2-core machine: each runs 10-20 s per broker.
scenarios=(
    "fanout --clients 10 --duration-secs 15"
    "p2p --clients 10 --duration-secs 15"
    "fanin --clients 10 --duration-secs 15"
    "fanin-shared --clients 10 --shared-members 2 --duration-secs 15"
    "chat --clients 200 --rate 0.5 --duration-secs 20"
    "spike --clients 1000 --spike-window-ms 1000"
    "conn --clients 5000 --conn-rate 1000 --duration-secs 5"
)
common=(--mqtt 5 --qos 1 --payload 64 --inflight 10)

sudo=""
[[ "$(id -u)" -ne 0 ]] && sudo="sudo"
if ! command -v mosquitto >/dev/null && [[ ! -x /usr/sbin/mosquitto ]]; then
    echo "compare: installing mosquitto" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mosquitto >/dev/null
fi
mosquitto_bin="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
for tool in taskset nproc; do
    command -v "$tool" >/dev/null || { echo "compare: $tool is missing" >&2; exit 1; }
done
if (( $(nproc) < 2 )); then
    echo "compare: needs 2 cores (broker on core 0, load generator on core 1)" >&2
    exit 1
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tallymq/target}"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-${TALLYMQ_CACHE:-$HOME/.cache/tallymq}/onnxruntime-1.24.4/onnxruntime/capi/libonnxruntime.so.1.24.4}"
scripts/setup.sh
cargo build --release --locked -q -p tallymq -p tallymq-benches --bin tallymq --bin tallymq-bench
tallymq="$CARGO_TARGET_DIR/release/tallymq"
bench="$CARGO_TARGET_DIR/release/tallymq-bench"

# As root, the brokers and the load generator run at a higher priority (nice -10), so that
# other work on a shared machine disturbs the figures less; both brokers alike.
prio=()
if [[ "$(id -u)" -eq 0 ]]; then prio=(nice -n -10); fi

# Thousands of connections on each side of loopback.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (( $(ulimit -n) < 12000 )); then
    echo "compare: open files limit $(ulimit -n) is too low for 5000 connections" >&2
    exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/tallymq-compare.XXXXXX")"
data_parent="${DATA_PARENT:-/tmp}"
out="${out:-$work/results}"
mkdir -p "$out"
broker_pid=""
cleanup() {
    if [[ -n "$broker_pid" ]]; then kill "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
    rm -rf "$work/data" "$work"/*.conf "$work"/*.toml
}
trap cleanup EXIT

port=21883
serve_flags=()
if "$tallymq" serve --help 2>/dev/null | grep -q -- '--open'; then
    serve_flags+=(--open)
    tallymq_note="serve --open"
else
    tallymq_note="no --open flag in this build"
fi
{
    echo '[listener.ws]'
    echo 'enabled = false'
    if "$tallymq" config defaults | grep -q '^\[limits\]'; then
        echo '[limits]'
        echo 'max_connections_per_address = 100000'
        echo 'connect_rate_per_address = 1000000'
        echo 'connect_burst_per_address = 1000000'
        echo 'publish_rate = 1000000'
        echo 'publish_burst = 1000000'
    fi
    if "$tallymq" config defaults | grep -q '^\[moderation\]'; then
        echo '[moderation]'
        echo 'topics = ["chat/#", "bench/+/chat/#"]'
    fi
} > "$work/tallymq.toml"
"$tallymq" config check "$work/tallymq.toml" >/dev/null
{
    cat "$work/tallymq.toml"
    echo 'enabled = false'
} > "$work/tallymq-unmoderated.toml"
for durability in "${durabilities[@]}"; do
    {
        cat "$work/tallymq-unmoderated.toml"
        echo '[storage]'
        echo "durability = \"$durability\""
    } > "$work/tallymq-$durability.toml"
    "$tallymq" config check "$work/tallymq-$durability.toml" >/dev/null
done

cat > "$work/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
set_tcp_nodelay true
EOF

brokers=(tallymq)
if (( unmoderated )); then brokers+=(tallymq-unmoderated); fi
for durability in "${durabilities[@]}"; do brokers+=("tallymq-$durability"); done
brokers+=(mosquitto)
if command -v rumqttd >/dev/null; then
    brokers+=(rumqttd)
    cat > "$work/rumqttd.toml" <<EOF
id = 0
[router]
id = 0
max_connections = 100010
max_outgoing_packet_count = 200
max_segment_size = 104857600
max_segment_count = 10
[v5.1]
name = "v5-1"
listen = "127.0.0.1:$port"
next_connection_delay_ms = 0
[v5.1.connections]
connection_timeout_ms = 60000
max_payload_size = 20480
max_inflight_count = 100
dynamic_filters = true
EOF
fi

wait_for_port() {
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        kill -0 "$broker_pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

start_broker() {
    case "$1" in
        tallymq*)
            rm -rf "$work/data"
            local data
            data="$(mktemp -d "$data_parent/tallymq-compare-data.XXXXXX")"
            ln -s "$data" "$work/data"
            "${prio[@]}" taskset -c 0 "$tallymq" serve --config "$work/$1.toml" "${serve_flags[@]}" \
                --listen "127.0.0.1:$port" --data-dir "$data" >"$work/$1.log" 2>&1 &
            ;;
        mosquitto)
            "${prio[@]}" taskset -c 0 "$mosquitto_bin" -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
            ;;
        rumqttd)
            "${prio[@]}" taskset -c 0 rumqttd --config "$work/rumqttd.toml" >"$work/rumqttd.log" 2>&1 &
            ;;
    esac
    broker_pid=$!
    if ! wait_for_port; then
        echo "compare: $1 did not start; its log:" >&2
        tail -20 "$work/$1.log" >&2
        stop_broker
        return 1
    fi
}

stop_broker() {
    kill "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=""
    if [[ -L "$work/data" ]]; then rm -rf "$(readlink "$work/data")" "$work/data"; fi
}

results=()
index=0
for scenario in "${scenarios[@]}"; do
    read -r -a args <<<"$scenario"
    name="${args[0]}"
    if [[ -n "$only" && ",$only," != *",$name,"* ]]; then continue; fi
    index=$((index + 1))
    for broker in "${brokers[@]}"; do
        if ! start_broker "$broker"; then
            # The optional third broker may lack what this configuration asks of it.
            [[ "$broker" == rumqttd ]] && continue
            exit 1
        fi
        file="$out/$(printf '%02d' "$index")-$name-$broker"
        echo "compare: $name against $broker" >&2
        "${prio[@]}" taskset -c 1 "$bench" "${args[@]}" "${common[@]}" --port "$port" --broker-pid "$broker_pid" \
            --label "$broker" --json "$file.json" --plot "$file.svg" >"$file.txt" \
            || { echo "compare: $name against $broker failed:" >&2; cat "$file.txt" >&2; stop_broker; continue; }
        stop_broker
        results+=("$file.json")
    done
done

echo
echo "tallymq vs Mosquitto, $(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), Linux $(uname -r)"
echo "broker on core 0, load generator on core 1${prio:+ (both at nice -10)}; MQTT 5.0, QoS 1, 64 B payloads, in-flight 10 per publisher"
echo "tallymq $("$tallymq" --version | cut -d' ' -f2): durability fsync, fresh data dir in $data_parent, $tallymq_note, anti-abuse [limits] lifted, detector on for chat topics"
if (( unmoderated )); then echo "tallymq-unmoderated: the same, [moderation] enabled = false"; fi
for durability in "${durabilities[@]}"; do
    echo "tallymq-$durability: the same, [moderation] enabled = false, [storage] durability = \"$durability\""
done
echo "mosquitto $("$mosquitto_bin" -h 2>/dev/null | head -1 | awk '{print $3}'): max_queued_messages 0, persistence false, set_tcp_nodelay true"
if [[ " ${brokers[*]} " == *" rumqttd "* ]]; then
    echo "$(rumqttd --version 2>/dev/null | head -1): MQTT 5 listener, max_inflight_count 100, no persistence"
fi
echo
"$bench" table --reference mosquitto "${results[@]}"
echo
echo "ratios are each broker over mosquitto: above 1 is better for deliveries/s, below 1 is better for CPU, latency and memory"
echo "results: $out"
