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
[[ "$RUNS" =~ ^[1-9][0-9]*$ && "$PARTS" =~ ^[1-9][0-9]*$ && "$LIMIT" =~ ^[1-9][0-9]*$ ]] || usage

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export TZ=UTC

# shellcheck source=benches/lib/common.sh
source "$ROOT/benches/lib/common.sh"
# shellcheck source=benches/lib/tpch.sh
source "$ROOT/benches/lib/tpch.sh"
tpch_query_list "$QUERIES" || usage
tpch_valid_sf "$SF" || usage
OUT=$TPCH_WORK/out-sf$SF
RESULTS=$TPCH_WORK/results-sf$SF.md

# --- tools: tpchgen-cli, DuckDB (Python package and CLI), installed once ---------------------
install_tools "$TPCH_PACKAGES"
DUCKDB_MODE=${DUCKDB_MODE:-cli}
DUCKDB=
if [[ $DUCKDB_MODE == cli ]]; then
    find_duckdb_cli
    if [[ -z $DUCKDB ]]; then
        log "the duckdb-cli package has no duckdb binary: timing DuckDB's Python package instead"
        DUCKDB_MODE=python
    fi
fi
[[ $DUCKDB_MODE == cli || $DUCKDB_MODE == python ]] || { echo "DUCKDB_MODE must be cli or python" >&2; exit 2; }
find_time

# --- rsql -------------------------------------------------------------------------------------
find_rsql "$BUILD"

# --- the data, generated once per scale factor, and the oracle's answers, once per query -------
tpch_data "$SF" "$PARTS"
tpch_answers

# --- running ----------------------------------------------------------------------------------
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
    local system=$1 q=$2 output=$3
    case "$system" in
        rsql) tpch_rsql_command "$q" "$output" ;;
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

# Checks one run's CSV against the oracle's answer.
check_output() { tpch_check "$1" "$2"; }

OUT_EXT=csv
run_queries

# --- the table --------------------------------------------------------------------------------
write_results "$RESULTS" "## TPC-H SF $SF" \
    "$(awk -v b="$BYTES" -v p="$PARTS" 'BEGIN {printf "data: tpchgen-cli 4.0.0, Parquet (snappy), %d file(s) per table, %.1f MB on disk\n", p, b / 1e6}')"
