#!/usr/bin/env bash
# The events benchmark: the Spark-vs-Dask talk's aggregation job (shared/events-job.md) on rsql
# and its peers, PySpark, Dask, DuckDB, Polars and DataFusion.
#
#   bash benches/events/run.sh [--size 1m|10m|100m] [--runs N] [--systems "rsql spark ..."]
#                              [--limit SECONDS] [--customers N] [--no-build]
#
# It installs the peers into a virtual environment (target/bench-venv, once), builds rsql and the
# generator in release mode, generates the data once per size (target/bench-data/events-SIZE),
# runs each system N times under /usr/bin/time -v, checks every run's output equals rsql's as a
# set of records (compare.py), and prints a markdown table of median wall time, peak RSS and
# time relative to rsql, also written to target/bench-results/SIZE.md.
#
# Peak RSS is the larger of /usr/bin/time's maximum resident set size and the peak, sampled
# twice a second, of the summed RSS of the whole process tree: Spark's JVM and Dask's worker
# processes are children that /usr/bin/time alone would not add up.
#
# A peer whose run takes longer than --limit seconds is stopped and reported "skipped (limit)".
# rsql is the reference: it always runs, first, without a limit.
#
# Environment: CARGO_TARGET_DIR is honoured for the binaries; RSQL_MODE=cli|example forces how
# rsql is run (see run_rsql); --no-build uses the binaries already built.
set -euo pipefail

usage() {
    sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

SIZE=10m
RUNS=3
SYSTEMS="rsql spark dask duckdb polars datafusion"
LIMIT=1200
CUSTOMERS=1
BUILD=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --size) SIZE=${2:?}; shift 2 ;;
        --runs) RUNS=${2:?}; shift 2 ;;
        --systems) SYSTEMS=${2:?}; shift 2 ;;
        --limit) LIMIT=${2:?}; shift 2 ;;
        --customers) CUSTOMERS=${2:?}; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) usage ;;
        *) echo "unknown argument: $1" >&2; usage ;;
    esac
done

[[ "$RUNS" =~ ^[1-9][0-9]*$ && "$LIMIT" =~ ^[1-9][0-9]*$ && "$CUSTOMERS" =~ ^[1-9][0-9]*$ ]] || usage
for system in $SYSTEMS; do
    case "$system" in
        rsql|spark|dask|duckdb|polars|datafusion) ;;
        *) echo "unknown system: $system" >&2; usage ;;
    esac
done
# rsql first: it is the reference every other output is checked against.
PEERS=$(for s in $SYSTEMS; do [[ $s == rsql ]] || echo "$s"; done | awk '!seen[$0]++' | xargs)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=benches/lib/events.sh
source "$ROOT/benches/lib/events.sh"
# --size: a count with an optional k or m suffix (1m = 1,000,000 records).
events_records "$SIZE" || usage
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release   # where cargo puts the binaries
WORK=$ROOT/target                                # venv, data, outputs and results
VENV=$WORK/bench-venv
PY=$VENV/bin/python
OUT=$WORK/bench-out/events-$SIZE
[[ $CUSTOMERS == 1 ]] || OUT=$OUT-c$CUSTOMERS
RESULTS=$WORK/bench-results/$SIZE.md
[[ $CUSTOMERS == 1 ]] || RESULTS=$WORK/bench-results/$SIZE-c$CUSTOMERS.md

# Every engine reads and writes times in UTC.
export TZ=UTC
export PYSPARK_PYTHON=$PY

log() { echo "==> $*" >&2; }

# --- the peers' Python environment, installed once -------------------------------------------
PACKAGES="pyspark dask distributed pyarrow pandas duckdb polars datafusion"
if [[ -n "$PEERS" && "$(cat "$VENV/.installed" 2>/dev/null)" != "$PACKAGES" ]]; then
    log "installing $PACKAGES into $VENV"
    [[ -x $PY ]] || python3 -m venv "$VENV"
    # shellcheck disable=SC2086
    "$PY" -m pip install --quiet $PACKAGES
    echo "$PACKAGES" > "$VENV/.installed"
fi
if [[ " $PEERS " == *" spark "* ]] && ! command -v java > /dev/null; then
    echo "spark needs java (17) on PATH" >&2
    exit 1
fi
# compare.py needs only the standard library; any python3 will do without the venv.
[[ -x $PY ]] || PY=python3

# --- rsql and the generator ------------------------------------------------------------------
mkdir -p "$OUT"
find_gen_events "$BUILD" || exit 1
if [[ $BUILD == 1 ]]; then
    if [[ ${RSQL_MODE:-cli} == cli ]]; then
        log "building the rsql CLI"
        if cargo build --quiet --release -p rsql-cli > "$OUT/build-rsql-cli.log" 2>&1; then
            RSQL_MODE=cli
        elif [[ -n ${RSQL_MODE:-} ]]; then
            cat "$OUT/build-rsql-cli.log" >&2
            exit 1
        else
            log "rsql-cli did not build (see $OUT/build-rsql-cli.log): using the events_job example"
            RSQL_MODE=example
        fi
    fi
    if [[ $RSQL_MODE == example ]]; then
        log "building the events_job example"
        cargo build --quiet --release -p rsql --example events_job
    fi
elif [[ -z ${RSQL_MODE:-} ]]; then
    if [[ -x $BIN/rsql ]]; then RSQL_MODE=cli; else RSQL_MODE=example; fi
fi

# How rsql runs the job, INPUT OUTPUT -> the command in CMD. The CLI is the final form (the
# trailing `/` asks it for a directory of part files); the example from the engine issue runs
# the same benches/events/job.sql.
run_rsql() {
    case "$RSQL_MODE" in
        cli) RSQL=$BIN/rsql; events_rsql_command "$1" "$2" ;;
        example) CMD=("$BIN/examples/events_job" --sql "$1" "$2") ;;
        *) echo "RSQL_MODE must be cli or example" >&2; exit 2 ;;
    esac
}

# The command for SYSTEM on INPUT writing OUTPUT, in CMD.
command_for() {
    case "$1" in
        rsql) run_rsql "$2" "$3" ;;
        *) CMD=("$PY" "benches/events/$1_job.py" "$2" "$3") ;;
    esac
}

# --- the data, generated once per size -------------------------------------------------------
events_data "$SIZE" "$CUSTOMERS"

# --- measuring -------------------------------------------------------------------------------
# Summed RSS in KB of the processes below PID, leaving out the timeout and time wrappers.
tree_rss_kb() {
    ps -e -o pid=,ppid=,rss=,comm= | awk -v root="$1" '
        { parent[$1] = $2; rss[$1] = $3; name[$1] = $4 }
        END {
            for (p in rss) {
                if (name[p] == "timeout" || name[p] == "time") continue
                for (q = parent[p]; q > 1; q = parent[q]) if (q == root) { sum += rss[p]; break }
            }
            print sum + 0
        }'
}

RUNNING=
trap '[[ -n $RUNNING ]] && kill -TERM -- "-$RUNNING" 2> /dev/null; exit 130' INT TERM

# Runs CMD once with LIMIT (0: none); sets STATUS (ok, limit, failed), WALL (s) and RSS (MB).
measure() {
    local log=$1 limit=$2 timing=$1.time peak=0 rss rc=0
    # timeout runs in its own process group and, on expiry, signals all of it (JVM included).
    timeout --kill-after=10 "$limit" /usr/bin/time -v -o "$timing" "${CMD[@]}" > "$log" 2>&1 &
    RUNNING=$!
    while kill -0 "$RUNNING" 2> /dev/null; do
        rss=$(tree_rss_kb "$RUNNING")
        if (( rss > peak )); then peak=$rss; fi
        sleep 0.5
    done
    wait "$RUNNING" || rc=$?
    RUNNING=
    if (( rc == 124 || rc == 137 )); then STATUS=limit; return; fi
    if (( rc != 0 )); then STATUS=failed; return; fi
    STATUS=ok
    WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$timing")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$timing")
    if (( rss > peak )); then peak=$rss; fi
    RSS=$(( (peak + 512) / 1024 ))
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
seconds() { awk -v s="$1" 'BEGIN {printf (s < 10 ? "%.2f" : "%.1f"), s}'; }

ROWS=()
RSQL_WALL=
REFERENCE=$OUT/rsql/run-1
for system in rsql $PEERS; do
    walls=() peak=0 row=
    for (( run = 1; run <= RUNS; run++ )); do
        dir=$OUT/$system/run-$run
        rm -rf "$dir"
        mkdir -p "$OUT/$system"
        command_for "$system" "$DATA" "$dir"
        limit=$LIMIT
        [[ $system == rsql ]] && limit=0
        log "$system run $run/$RUNS: ${CMD[*]}"
        measure "$OUT/$system/run-$run.log" "$limit"
        case $STATUS in
            limit) row="skipped (limit ${LIMIT} s)"; break ;;
            failed) row="FAILED (see $OUT/$system/run-$run.log)"; tail -5 "$OUT/$system/run-$run.log" >&2; break ;;
        esac
        if [[ $system != rsql ]] && ! "$PY" benches/events/compare.py "$REFERENCE" "$dir" > "$dir.compare" 2>&1; then
            row="MISMATCH (see $dir.compare)"
            cat "$dir.compare" >&2
            break
        fi
        log "$system run $run: $(seconds "$WALL") s, $RSS MB"
        walls+=("$WALL")
        if (( RSS > peak )); then peak=$RSS; fi
        # Keep the first output (rsql's is the reference) and drop the repeats.
        if (( run > 1 )); then rm -rf "$dir"; fi
    done
    if [[ $system == rsql && -n $row ]]; then
        echo "rsql did not complete: $row" >&2
        exit 1
    fi
    if [[ -z $row ]]; then
        wall=$(printf '%s\n' "${walls[@]}" | median)
        [[ $system == rsql ]] && RSQL_WALL=$wall
        ratio=$(awk -v a="$wall" -v b="$RSQL_WALL" 'BEGIN {printf "%.1f", a / b}')
        row="$(seconds "$wall") | $peak | $ratio"
    else
        row="$row | – | –"
    fi
    ROWS+=("| $system | $row |")
done

# --- the table -------------------------------------------------------------------------------
mkdir -p "$(dirname "$RESULTS")"
CPU=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MEM=$(awk '/^MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo)
{
    echo "## events job, $SIZE"
    echo
    # records/partition: records per file; files/hour: files per hour=HH/customer=C folder.
    awk -v r="$RECORDS" -v f="$FILES" -v d="$FOLDERS" -v b="$BYTES" -v c="$CUSTOMERS" 'BEGIN {
        per_hour = (f % d == 0) ? f / d : sprintf("%.1f", f / d)
        printf "records: %d · records/partition: %.0f · files/hour: %s · files: %d · customers: %d · %.1f MB on disk\n",
            r, r / f, per_hour, f, c, b / 1e6 }'
    echo "machine: $CPU, $(nproc) cores, $MEM · $(date -u +%Y-%m-%d) · median of $RUNS run(s) · rsql: $RSQL_MODE"
    echo
    echo "| system | median wall s | peak RSS MB | time / rsql |"
    echo "| --- | ---: | ---: | ---: |"
    printf '%s\n' "${ROWS[@]}"
} > "$RESULTS.tmp"
mv "$RESULTS.tmp" "$RESULTS"
cat "$RESULTS"
log "table written to $RESULTS"
