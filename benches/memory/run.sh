#!/usr/bin/env bash
# Peak RSS under a memory limit (issue 13): rsql runs the events job and the TPC-H queries with
# `--memory-limit`, and each run's peak RSS must stay within 1.5 x the limit + 100 MB.
#
#   bash benches/memory/run.sh [--limit-mb 512] [--events 100m] [--sf 1] [--queries 1,3]
#                              [--skip-events] [--skip-tpch] [--timeout SECONDS] [--no-build]
#
# Each piece of work is one rsql process, `rsql --memory-limit <N>MB ...`, under /usr/bin/time
# -v: the events job (benches/events/job.sql) over --events records (default 100m; 10m for a
# quick try), then each TPC-H query of --queries (default all 22) at scale factor --sf (default
# 1). Every answer is checked against DuckDB's: the events output with benches/events/compare.py
# against DuckDB's Python package running the same job (benches/events/duckdb_job.py), the
# TPC-H outputs with benches/tpch/compare.py against benches/tpch/answers.py. The data and the
# answers are made once and shared with the other drivers: the events data set in
# target/bench-data/events-SIZE (benches/lib/events.sh), TPC-H in target/tpch/sf<SF>
# (benches/lib/tpch.sh), with the tools in target/tpch/venv.
#
# It prints a markdown table, also written to target/bench-results/memory-<N>.md: per piece of
# work, the wall seconds, /usr/bin/time's maximum resident set size, the budget, whether the
# peak is within it, and the answer (ok, FAILED: <rsql's error line>, WRONG, timed out). Sizes
# are in MB of 10^6 bytes, as rsql reads `512MB`. A run that fails does not stop the others; the
# exit code is 1 when any run is over budget, failed, timed out or answered wrong.
#
# Environment: RSQL_BIN=/path/to/rsql and GEN_EVENTS_BIN=/path/to/gen-events use those binaries
# and build nothing; otherwise they are built in release mode (CARGO_TARGET_DIR is honoured)
# unless --no-build is given.
set -euo pipefail

usage() {
    sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

LIMIT_MB=512
EVENTS=100m
SF=1
QUERIES=
SKIP_EVENTS=0
SKIP_TPCH=0
LIMIT=1800
BUILD=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --limit-mb) LIMIT_MB=${2:?}; shift 2 ;;
        --events) EVENTS=${2:?}; shift 2 ;;
        --sf) SF=${2:?}; shift 2 ;;
        --queries) QUERIES=${2:?}; shift 2 ;;
        --skip-events) SKIP_EVENTS=1; shift ;;
        --skip-tpch) SKIP_TPCH=1; shift ;;
        --timeout) LIMIT=${2:?}; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) usage ;;
        *) echo "unknown argument: $1" >&2; usage ;;
    esac
done
[[ "$LIMIT_MB" =~ ^[1-9][0-9]*$ && "$LIMIT" =~ ^[1-9][0-9]*$ ]] || usage
(( SKIP_EVENTS == 0 || SKIP_TPCH == 0 )) || { echo "nothing to run" >&2; usage; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export TZ=UTC

# shellcheck source=benches/lib/common.sh
source "$ROOT/benches/lib/common.sh"
# shellcheck source=benches/lib/tpch.sh
source "$ROOT/benches/lib/tpch.sh"
# shellcheck source=benches/lib/events.sh
source "$ROOT/benches/lib/events.sh"
events_records "$EVENTS" || usage
tpch_query_list "$QUERIES" || usage
tpch_valid_sf "$SF" || usage

OUT=$ROOT/target/bench-out/memory-$LIMIT_MB
RESULTS=$ROOT/target/bench-results/memory-$LIMIT_MB.md
# The budget in MB: 1.5 x the limit + 100.
BUDGET_MB=$(awk -v l="$LIMIT_MB" 'BEGIN {printf "%d", 1.5 * l + 100}')
MEMORY_LIMIT=(--memory-limit "${LIMIT_MB}MB")

# --- tools and binaries -----------------------------------------------------------------------
# tpchgen-cli and DuckDB's Python package, the oracle of both the events job and TPC-H.
install_tools "$TPCH_PACKAGES"
find_time
[[ -n $TIME ]] || { echo "peak RSS needs /usr/bin/time" >&2; exit 1; }
find_rsql "$BUILD"
[[ -n $RSQL ]] || exit 1

# --- the data and the oracle's answers, made once ---------------------------------------------
DATA_LINES=()
if (( SKIP_EVENTS == 0 )); then
    find_gen_events "$BUILD" || exit 1
    events_data "$EVENTS" 1
    events_answer
    EVENTS_DATA=$DATA
    DATA_LINES+=("$(awk -v r="$RECORDS" -v f="$FILES" -v b="$BYTES" 'BEGIN {
        printf "events: %d records, %d Parquet files, %.1f MB on disk (gen-events)", r, f, b / 1e6 }')")
fi
if (( SKIP_TPCH == 0 )); then
    tpch_data "$SF" 1
    tpch_answers
    DATA_LINES+=("$(awk -v s="$SF" -v b="$BYTES" 'BEGIN {
        printf "TPC-H: SF %s, tpchgen-cli 4.0.0 Parquet, %.1f MB on disk", s, b / 1e6 }')")
fi

# --- running ----------------------------------------------------------------------------------
ROWS=()
FAILED=0

# Runs CMD as the piece of work WORK, its output going to LOG and its command line to
# LOG.command, then checks its answer with the command CHECK... (exit status 0 when right, the
# differences on stdout); adds a row to ROWS and counts a failure or an overrun in FAILED.
run_work() {
    local work=$1 log=$2 peak=– within=– answer=ok
    shift 2
    log "$work"
    printf '%q ' "${CMD[@]}" > "$log.command"
    measure "$log" || true
    if [[ -n $RSS_KB ]]; then
        peak=$(awk -v k="$RSS_KB" 'BEGIN {printf "%d", k * 1024 / 1e6 + 0.5}')
        if (( peak <= BUDGET_MB )); then within=yes; else within=no; fi
    fi
    case $STATUS in
        limit) answer="timed out (${LIMIT} s)" ;;
        failed) answer="FAILED: $(error_line "$log")" ;;
        ok) if ! "$@" > "$log.compare" 2>&1; then
                answer="WRONG (see $log.compare)"
                head -8 "$log.compare" >&2
            fi ;;
    esac
    if [[ $answer != ok || $within != yes ]]; then FAILED=$((FAILED + 1)); fi
    log "$work: $(seconds "$WALL") s, peak RSS ${peak} MB (budget $BUDGET_MB MB), $answer"
    ROWS+=("| $work | $(seconds "$WALL") | $peak | $BUDGET_MB | $within | $answer |")
}

if (( SKIP_EVENTS == 0 )); then
    mkdir -p "$OUT/events"
    output=$OUT/events/$EVENTS
    rm -rf "$output"
    events_rsql_command "$EVENTS_DATA" "$output" "${MEMORY_LIMIT[@]}"
    run_work "events job, $EVENTS" "$output.log" events_check "$output"
fi
if (( SKIP_TPCH == 0 )); then
    mkdir -p "$OUT/tpch-sf$SF"
    for q in "${QLIST[@]}"; do
        output=$OUT/tpch-sf$SF/$q.csv
        rm -f "$output"
        tpch_rsql_command "$q" "$output" "${MEMORY_LIMIT[@]}"
        run_work "TPC-H SF $SF $q" "$OUT/tpch-sf$SF/$q.log" tpch_check "$q" "$output"
    done
fi

# --- the table --------------------------------------------------------------------------------
mkdir -p "$(dirname "$RESULTS")"
{
    echo "## Peak RSS under --memory-limit ${LIMIT_MB}MB"
    echo
    printf '%s\n' "${DATA_LINES[@]}"
    echo "machine: $(machine) · $(date -u +%Y-%m-%d) · rsql $("$RSQL" --version 2>/dev/null | awk '{print $2}')"
    echo "budget: 1.5 × ${LIMIT_MB} MB + 100 MB = ${BUDGET_MB} MB; peak RSS is /usr/bin/time -v's maximum resident set size; MB = 10^6 bytes"
    echo
    echo "| work | wall s | peak RSS MB | budget MB | within budget | answer |"
    echo "| --- | ---: | ---: | ---: | --- | --- |"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "$(( ${#ROWS[@]} - FAILED )) of ${#ROWS[@]} runs answered right within the budget."
} > "$RESULTS.tmp"
mv "$RESULTS.tmp" "$RESULTS"
cat "$RESULTS"
log "table written to $RESULTS"
(( FAILED == 0 ))
