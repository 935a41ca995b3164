#!/usr/bin/env bash
# TPC-H on rsql and DuckDB: the 22 queries (benches/tpch/queries, qualification parameters) at a
# scale factor, each run through the rsql CLI and the DuckDB CLI, answers checked.
#
#   bash benches/tpch/run.sh [--sf 1] [--queries 1,3,5] [--runs N] [--parts N]
#                            [--limit SECONDS] [--no-build]
#
# It installs tpchgen-cli, DuckDB's Python package and the DuckDB CLI (the duckdb-cli package
# on PyPI, which ships the real duckdb binary) into a virtual environment (target/tpch/venv,
# once), generates the data once per scale factor with tpchgen-cli (target/tpch/sf<SF>/<table>/,
# a directory of Parquet files per table), computes the oracle answers once with DuckDB's Python
# package (answers.py, into target/tpch/sf<SF>-answers/), builds rsql in release mode, then for
# each query runs rsql and the DuckDB CLI N times, writing CSV. Every run's output is checked
# against the oracle with compare.py. It prints a markdown table (also written to
# target/tpch/results-sf<SF>.md): median wall seconds of each, rsql / DuckDB, peak RSS, and
# whether rsql's answer is right, then the geometric mean of the ratio over the queries rsql
# answered right. A query that fails, times out or answers wrong does not stop the others; the
# exit code is 1 when any did on rsql, after the table.
#
# Timing: wall clock of the whole process (bash's EPOCHREALTIME around it), for both systems:
# start-up, registering the eight tables (rsql: --table NAME=DIR; DuckDB: views over
# read_parquet), the query, and writing the CSV result. Peak RSS is /usr/bin/time -v's maximum
# resident set size (left out when /usr/bin/time is missing). Both use all cores by default.
# The data is read once by the oracle before the timed runs, so the files are in the page cache.
#
# Environment: RSQL_BIN=/path/to/rsql uses that binary and builds nothing; CARGO_TARGET_DIR is
# honoured; with --no-build a missing rsql binary leaves rsql out (DuckDB still runs).
# DUCKDB_MODE=python times DuckDB's Python package (answers.py in a fresh process per query)
# instead of the CLI.
set -euo pipefail

usage() {
    sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

SF=1
QUERIES=
RUNS=1
PARTS=1
LIMIT=1800
BUILD=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --sf) SF=${2:?}; shift 2 ;;
        --queries) QUERIES=${2:?}; shift 2 ;;
        --runs) RUNS=${2:?}; shift 2 ;;
        --parts) PARTS=${2:?}; shift 2 ;;
        --limit) LIMIT=${2:?}; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) usage ;;
        *) echo "unknown argument: $1" >&2; usage ;;
    esac
done
[[ "$SF" =~ ^([0-9]+(\.[0-9]+)?|\.[0-9]+)$ ]] || { echo "bad --sf: $SF" >&2; usage; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ && "$PARTS" =~ ^[1-9][0-9]*$ && "$LIMIT" =~ ^[1-9][0-9]*$ ]] || usage
if [[ -z $QUERIES ]]; then
    QUERIES=$(seq -s, 1 22)
fi
QLIST=()
for q in $(tr ',' '\n' <<< "$QUERIES" | sort -n -u); do
    if ! [[ "$q" =~ ^[0-9]+$ ]] || (( 10#$q < 1 || 10#$q > 22 )); then
        echo "bad query number: $q" >&2
        usage
    fi
    QLIST+=("$(printf 'q%02d' "$((10#$q))")")
done
(( ${#QLIST[@]} > 0 )) || usage

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
WORK=$ROOT/target/tpch                 # venv, data, answers, outputs and results
VENV=$WORK/venv
PY=$VENV/bin/python
DATA=$WORK/sf$SF
ANSWERS=$WORK/sf$SF-answers
OUT=$WORK/out-sf$SF
RESULTS=$WORK/results-sf$SF.md
QUERY_DIR=$ROOT/benches/tpch/queries
TABLES="region nation supplier customer part partsupp orders lineitem"

export TZ=UTC

log() { echo "==> $*" >&2; }

# --- tools: tpchgen-cli, DuckDB (Python package and CLI), installed once ---------------------
# Pinned: tpchgen-cli 4.0.0 writes the same data as the tpchgen-arrow 4.0.0 crate the Rust
# tests use; duckdb 2.0.1 is the version that produced testdata/tpch's answers.
PACKAGES="tpchgen-cli==4.0.0 duckdb==2.0.1 duckdb-cli==1.5.6"
if [[ "$(cat "$VENV/.installed" 2>/dev/null)" != "$PACKAGES" ]]; then
    log "installing $PACKAGES into $VENV"
    [[ -x $PY ]] || python3 -m venv "$VENV"
    # shellcheck disable=SC2086
    "$PY" -m pip install --quiet $PACKAGES
    echo "$PACKAGES" > "$VENV/.installed"
fi
# The duckdb-cli package's command is a Python wrapper around the binary it ships: run the
# binary itself, so that neither Python's start-up nor its memory is counted.
DUCKDB_MODE=${DUCKDB_MODE:-cli}
DUCKDB=
if [[ $DUCKDB_MODE == cli ]]; then
    DUCKDB=$("$PY" -c 'import duckdb_cli, os; print(os.path.join(os.path.dirname(duckdb_cli.__file__), "duckdb"))')
    if [[ ! -x $DUCKDB ]]; then
        log "the duckdb-cli package has no duckdb binary ($DUCKDB): timing DuckDB's Python package instead"
        DUCKDB_MODE=python
    fi
fi
[[ $DUCKDB_MODE == cli || $DUCKDB_MODE == python ]] || { echo "DUCKDB_MODE must be cli or python" >&2; exit 2; }
TIME=/usr/bin/time
[[ -x $TIME ]] || { log "no /usr/bin/time: peak RSS is not measured"; TIME=; }

# --- rsql -------------------------------------------------------------------------------------
RSQL=${RSQL_BIN:-}
if [[ -z $RSQL ]]; then
    RSQL=${CARGO_TARGET_DIR:-$ROOT/target}/release/rsql
    if [[ $BUILD == 1 ]]; then
        log "building the rsql CLI"
        cargo build --quiet --release -p rsql-cli
    fi
fi
if [[ ! -x $RSQL ]]; then
    log "no rsql binary at $RSQL: only DuckDB runs"
    RSQL=
fi

# --- the data, generated once per scale factor -----------------------------------------------
GEN_ARGS="parquet --scale-factor $SF --parts $PARTS"
if [[ "$(cat "$DATA.done" 2>/dev/null)" != "tpchgen-cli 4.0.0 $GEN_ARGS" ]]; then
    log "generating TPC-H SF $SF into $DATA"
    rm -rf "$DATA" "$DATA.done" "$ANSWERS"
    # shellcheck disable=SC2086
    "$VENV/bin/tpchgen-cli" $GEN_ARGS --output-dir "$DATA" --quiet
    echo "tpchgen-cli 4.0.0 $GEN_ARGS" > "$DATA.done"
fi
BYTES=$(find "$DATA" -name '*.parquet' -printf '%s\n' | awk '{s += $1} END {print s + 0}')

# --- the oracle: DuckDB's Python package, once per scale factor and query ----------------------
MISSING=()
for q in "${QLIST[@]}"; do
    [[ -s $ANSWERS/$q.csv && $ANSWERS/$q.csv -nt $QUERY_DIR/$q.sql ]] || MISSING+=("$((10#${q#q}))")
done
if (( ${#MISSING[@]} > 0 )); then
    log "computing the answers of ${#MISSING[@]} queries with DuckDB's Python package"
    "$PY" benches/tpch/answers.py "$DATA" "$QUERY_DIR" "$ANSWERS" \
        --queries "$(IFS=,; echo "${MISSING[*]}")"
fi

# --- running ----------------------------------------------------------------------------------
RUNNING=
trap '[[ -n $RUNNING ]] && kill -TERM -- "-$RUNNING" 2> /dev/null; exit 130' INT TERM

# The DuckDB CLI script for query Q writing OUTPUT.
duckdb_script() {
    local q=$1 output=$2 table data=${DATA//"'"/"''"}
    echo ".bail on"
    for table in $TABLES; do
        echo "CREATE VIEW $table AS SELECT * FROM read_parquet('$data/$table/*.parquet');"
    done
    echo ".mode csv"
    echo ".headers on"
    echo ".nullvalue ''"
    echo ".output $output"
    echo ".read $QUERY_DIR/$q.sql"
}

# The command running query Q with SYSTEM into OUTPUT, in CMD.
command_for() {
    local system=$1 q=$2 output=$3 table
    case "$system" in
        rsql)
            CMD=("$RSQL" --quiet)
            for table in $TABLES; do CMD+=(--table "$table=$DATA/$table"); done
            CMD+=(-f "$QUERY_DIR/$q.sql" --format csv --output "$output") ;;
        duckdb)
            if [[ $DUCKDB_MODE == cli ]]; then
                duckdb_script "$q" "$output" > "$output.script"
                CMD=("$DUCKDB" -init /dev/null -batch -f "$output.script")
            else
                CMD=("$PY" benches/tpch/answers.py "$DATA" "$QUERY_DIR" "$(dirname "$output")"
                     --queries "$((10#${q#q}))")
            fi ;;
    esac
}

# Runs CMD once under LIMIT seconds; sets STATUS (ok, limit, failed), WALL (s) and RSS (MB, or
# empty). Its stdout and stderr go to LOG.
measure() {
    local log=$1 timing=$1.time start end rc=0 kb
    rm -f "$timing"
    start=$EPOCHREALTIME
    if [[ -n $TIME ]]; then
        timeout --kill-after=10 "$LIMIT" "$TIME" -v -o "$timing" "${CMD[@]}" > "$log" 2>&1 < /dev/null &
    else
        timeout --kill-after=10 "$LIMIT" "${CMD[@]}" > "$log" 2>&1 < /dev/null &
    fi
    RUNNING=$!
    wait "$RUNNING" || rc=$?
    RUNNING=
    end=$EPOCHREALTIME
    WALL=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", b - a}')
    RSS=
    if [[ -s $timing ]]; then
        kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$timing")
        [[ -n $kb ]] && RSS=$(( (kb + 512) / 1024 ))
    fi
    if (( rc == 124 || rc == 137 )); then STATUS=limit
    elif (( rc != 0 )); then STATUS=failed
    else STATUS=ok
    fi
}

# The one line that says why a run failed: rsql's `error: ...` line, else the last line.
error_line() {
    local line
    line=$(grep -m1 -E '^(error|Error|[A-Za-z ]*Error):' "$1" || true)
    [[ -n $line ]] || line=$(grep -v '^[[:space:]]*$' "$1" | grep -v '^Command exited\|^Command terminated' | tail -1 || true)
    line=${line//|/\\|}
    echo "${line:0:200}"
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
seconds() { awk -v s="$1" 'BEGIN {printf (s < 10 ? "%.3f" : "%.2f"), s}'; }
# seconds, or – when there is no time.
cell_s() { if [[ -n $1 ]]; then seconds "$1"; else echo –; fi; }

ROWS=()
RATIOS=()
FAILED=0
for q in "${QLIST[@]}"; do
    declare -A wall=() rss=() note=()
    for system in duckdb rsql; do
        walls=() peak='' note[$system]=''
        if [[ $system == rsql && -z $RSQL ]]; then
            note[$system]="not run (no binary)"
            continue
        fi
        mkdir -p "$OUT/$system"
        for (( run = 1; run <= RUNS; run++ )); do
            output=$OUT/$system/$q.csv
            rm -f "$output"
            command_for "$system" "$q" "$output"
            log "$q $system run $run/$RUNS"
            measure "$OUT/$system/$q.log" || true
            case $STATUS in
                limit) note[$system]="timed out (${LIMIT} s)"; break ;;
                failed) note[$system]="FAILED: $(error_line "$OUT/$system/$q.log")"; break ;;
            esac
            if ! "$PY" benches/tpch/compare.py "$output" "$ANSWERS/$q.csv" > "$OUT/$system/$q.compare" 2>&1; then
                note[$system]="WRONG (see $OUT/$system/$q.compare)"
                head -8 "$OUT/$system/$q.compare" >&2
                break
            fi
            walls+=("$WALL")
            if [[ -n $RSS ]] && (( RSS > ${peak:-0} )); then peak=$RSS; fi
        done
        if [[ -z ${note[$system]} ]]; then
            wall[$system]=$(printf '%s\n' "${walls[@]}" | median)
            rss[$system]=${peak:-–}
            log "$q $system: $(seconds "${wall[$system]}") s, ${rss[$system]} MB"
        else
            log "$q $system: ${note[$system]}"
            # A wrong answer still has a time worth showing.
            if [[ ${note[$system]} == WRONG* ]]; then wall[$system]=$WALL; rss[$system]=${RSS:-–}; fi
        fi
    done
    d_wall=${wall[duckdb]:-} r_wall=${wall[rsql]:-}
    ratio=–
    if [[ -n $d_wall && -n $r_wall ]]; then
        ratio=$(awk -v r="$r_wall" -v d="$d_wall" 'BEGIN {printf "%.2f", (d > 0) ? r / d : 0}')
    fi
    answer=ok
    if [[ -n ${note[rsql]} ]]; then
        answer=${note[rsql]}
        [[ -z $RSQL ]] || FAILED=$((FAILED + 1))
    fi
    if [[ -n ${note[duckdb]} ]]; then answer="$answer (duckdb: ${note[duckdb]})"; fi
    if [[ $answer == ok && $ratio != – ]]; then RATIOS+=("$ratio"); fi
    ROWS+=("| $q | $(cell_s "$r_wall") | $(cell_s "$d_wall") | $ratio | ${rss[rsql]:-–} | ${rss[duckdb]:-–} | $answer |")
    unset wall rss note
done

# --- the table --------------------------------------------------------------------------------
CPU=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MEM=$(awk '/^MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo)
DUCKDB_VERSION=$([[ $DUCKDB_MODE == cli ]] && "$DUCKDB" --version 2>/dev/null | awk '{print $1}' || echo "python $("$PY" -c 'import duckdb; print(duckdb.__version__)')")
RSQL_VERSION=$([[ -n $RSQL ]] && "$RSQL" --version 2>/dev/null | awk '{print $2}' || echo –)
mkdir -p "$WORK"
{
    echo "## TPC-H SF $SF"
    echo
    awk -v b="$BYTES" -v p="$PARTS" 'BEGIN {printf "data: tpchgen-cli 4.0.0, Parquet (snappy), %d file(s) per table, %.1f MB on disk\n", p, b / 1e6}'
    echo "machine: $CPU, $(nproc) cores, $MEM · $(date -u +%Y-%m-%d) · median of $RUNS run(s) · rsql $RSQL_VERSION · DuckDB $DUCKDB_VERSION ($DUCKDB_MODE)"
    echo
    echo "| query | rsql s | duckdb s | rsql / duckdb | rsql peak RSS MB | duckdb peak RSS MB | answer |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
    printf '%s\n' "${ROWS[@]}"
    echo
    if (( ${#RATIOS[@]} > 0 )); then
        printf '%s\n' "${RATIOS[@]}" | awk -v n="${#QLIST[@]}" '
            $1 > 0 { s += log($1); k++ }
            END { printf "geometric mean of rsql / duckdb over the %d of %d queries answered right: %.2f\n", k, n, exp(s / k) }'
    else
        echo "geometric mean of rsql / duckdb: – (no query answered right by rsql)"
    fi
} > "$RESULTS.tmp"
mv "$RESULTS.tmp" "$RESULTS"
cat "$RESULTS"
log "table written to $RESULTS"
if (( FAILED > 0 )); then
    log "$FAILED of ${#QLIST[@]} queries failed or answered wrong on rsql"
    exit 1
fi
