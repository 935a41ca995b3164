#!/usr/bin/env bash
# Group-by and sort suites on rsql and DuckDB: queries over one generated table (db-benchmark
# style, 10 million rows by default), each run through the rsql CLI and the DuckDB CLI, answers
# checked.
#
#   bash benches/general/run.sh --suite groupby|sort|window [--rows 10000000] [--parts 4]
#                               [--queries 1,3,5] [--runs N] [--limit SECONDS] [--no-build]
#
# The table `t` (gen_data.py, which documents it): id1, id2 strings of 100 values; id3 a string
# of rows / 100 values; id4, id5 integers of 100 and 10,000 values; id6 an integer of about
# 0.63 x rows values; v1, v2 integers 1..5 and 1..15; v3 a double with NULLs in about 1% of
# rows. It is generated once per --rows and --parts with DuckDB's Python package (seeded by
# construction: every value is a hash of the row number) into target/bench-data/general-<rows>
# -<parts>/, a directory of --parts Parquet files.
#
# The queries are benches/general/queries/<suite>/*.sql, one statement each, whose first line
# says what it measures and whose `-- check:` line says how its answer is checked (check.py):
#   groupby  g01-g13: keys of 100, 10,000, rows / 100 and about rows values; integer, string
#            and multi-column keys; sum, avg, count, min, max, median, stddev, count(DISTINCT).
#   sort     s01-s06: ORDER BY a string column, an integer column, and two columns (string
#            ascending, double with NULLs descending), each with and without LIMIT 100.
#   window   w01-w06: row_number top-3 per group (QUALIFY), a running sum and a sliding ROWS
#            frame over one partition of every row, median and stddev over 100 partitions,
#            approx_count_distinct beside count(DISTINCT).
# A query file's `-- rsql-args:` line gives rsql more flags for that query (w06 runs under
# `--memory-limit 256MB`); DuckDB runs every query with its defaults.
# Every query writes its whole result as one Parquet file, on both sides: rsql with
# `--output FILE.parquet --format parquet`, DuckDB with `COPY (query) TO 'FILE' (FORMAT
# parquet)`. So a sort without LIMIT produces all of its rows (three columns of the table), in
# a compressed binary format both write fast, rather than 10 million CSV lines whose formatting
# would dominate; the group-by with about one group per row (g10) is written the same way.
#
# It installs DuckDB's Python package and the DuckDB CLI (the duckdb-cli PyPI package, which
# ships the real duckdb binary) into target/bench-general/venv (once), generates the data,
# computes the oracle's answers once with DuckDB's Python package (answers.py, into
# target/bench-general/answers-<rows>-<parts>/), builds rsql in release mode if needed, then
# for each query runs the DuckDB CLI and rsql N times. Every run's output is checked against the
# oracle with check.py: group-by results as sets of rows, sorted results in ORDER BY order with
# ties in any order; numbers within 1e-6 relative. It prints a markdown table (also written to
# target/bench-results/<suite>-<rows>.md): median wall seconds of each, rsql / DuckDB, peak
# RSS, and whether rsql's answer is right, then the geometric mean of the ratio over the
# queries rsql answered right. A query that fails, times out or answers wrong does not stop the
# others; the exit code is 1 when any did on rsql, after the table.
#
# Timing: wall clock of the whole process (bash's EPOCHREALTIME around it), for both systems:
# start-up, registering the table (rsql: --table t=DIR; DuckDB: a view over read_parquet), the
# query, and writing the result. Peak RSS is /usr/bin/time -v's maximum resident set size.
# Both use all cores by default. The oracle reads all the data before the timed runs, so the
# files are in the page cache.
#
# Environment: RSQL_BIN=/path/to/rsql uses that binary and builds nothing; CARGO_TARGET_DIR is
# honoured; with --no-build a missing rsql binary leaves rsql out (DuckDB still runs).
set -euo pipefail

usage() {
    sed -n '6,7p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

SUITE=
NROWS=10000000
PARTS=4
QUERIES=
RUNS=1
LIMIT=1800
BUILD=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --suite) SUITE=${2:?}; shift 2 ;;
        --rows) NROWS=${2:?}; shift 2 ;;
        --parts) PARTS=${2:?}; shift 2 ;;
        --queries) QUERIES=${2:?}; shift 2 ;;
        --runs) RUNS=${2:?}; shift 2 ;;
        --limit) LIMIT=${2:?}; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) usage ;;
        *) echo "unknown argument: $1" >&2; usage ;;
    esac
done
case "$SUITE" in
    groupby) PREFIX=g TITLE=Group-by ;;
    sort) PREFIX=s TITLE=Sorts ;;
    window) PREFIX=w TITLE=Windows ;;
    *) echo "--suite must be groupby, sort or window" >&2; usage ;;
esac
for n in "$NROWS" "$PARTS" "$RUNS" "$LIMIT"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || usage
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
QUERY_DIR=$ROOT/benches/general/queries/$SUITE
QLIST=()
if [[ -z $QUERIES ]]; then
    for file in "$QUERY_DIR"/"$PREFIX"[0-9][0-9].sql; do QLIST+=("$(basename "$file" .sql)"); done
else
    for q in $(tr ',' '\n' <<< "$QUERIES" | sort -n -u); do
        [[ "$q" =~ ^[0-9]+$ ]] && name=$(printf '%s%02d' "$PREFIX" "$((10#$q))") || name=
        if [[ -z $name || ! -f $QUERY_DIR/$name.sql ]]; then
            echo "no query $q in the $SUITE suite" >&2
            usage
        fi
        QLIST+=("$name")
    done
fi
(( ${#QLIST[@]} > 0 )) || usage

WORK=$ROOT/target/bench-general        # venv, answers and outputs
VENV=$WORK/venv
PY=$VENV/bin/python
DATA=$ROOT/target/bench-data/general-$NROWS-$PARTS
ANSWERS=$WORK/answers-$NROWS-$PARTS
OUT=$WORK/out-$SUITE-$NROWS-$PARTS
RESULTS=$ROOT/target/bench-results/$SUITE-$NROWS.md
OUT_EXT=parquet

export TZ=UTC

# shellcheck source=benches/lib/common.sh
source "$ROOT/benches/lib/common.sh"

# --- tools: DuckDB (Python package and CLI), installed once -----------------------------------
# Pinned as in benches/tpch/run.sh.
install_tools "duckdb==2.0.1 duckdb-cli==1.5.6"
DUCKDB_MODE=cli
find_duckdb_cli
[[ -n $DUCKDB ]] || { log "the duckdb-cli package has no duckdb binary"; exit 1; }
find_time

# --- rsql -------------------------------------------------------------------------------------
find_rsql "$BUILD"

# --- the data, generated once per row count and number of files ------------------------------
GENERATOR=benches/general/gen_data.py
STAMP="$(sha256sum "$GENERATOR" | cut -c1-16) --rows $NROWS --parts $PARTS"
if [[ "$(cat "$DATA.done" 2>/dev/null)" != "$STAMP" ]]; then
    log "generating $NROWS rows into $DATA"
    rm -rf "$DATA" "$DATA.done" "$ANSWERS"
    "$PY" "$GENERATOR" "$DATA" --rows "$NROWS" --parts "$PARTS"
    echo "$STAMP" > "$DATA.done"
fi
BYTES=$(find "$DATA" -name '*.parquet' -printf '%s\n' | awk '{s += $1} END {print s + 0}')

# --- the oracle: DuckDB's Python package, once per data set and query -------------------------
MISSING=()
for q in "${QLIST[@]}"; do
    [[ -s $ANSWERS/$q.parquet && $ANSWERS/$q.parquet -nt $QUERY_DIR/$q.sql ]] || MISSING+=("$QUERY_DIR/$q.sql")
done
if (( ${#MISSING[@]} > 0 )); then
    log "computing the answers of ${#MISSING[@]} queries with DuckDB's Python package"
    "$PY" benches/general/answers.py "$DATA" "$ANSWERS" "${MISSING[@]}"
fi

# --- running ----------------------------------------------------------------------------------
# The DuckDB CLI script for query Q writing OUTPUT.
duckdb_script() {
    local q=$1 output=$2
    echo ".bail on"
    echo "CREATE VIEW t AS SELECT * FROM read_parquet('${DATA//"'"/"''"}/*.parquet');"
    echo "COPY ("
    sed 's/;[[:space:]]*$//' "$QUERY_DIR/$q.sql"
    echo ") TO '${output//"'"/"''"}' (FORMAT parquet);"
}

# The command running query Q with SYSTEM into OUTPUT, in CMD.
command_for() {
    local system=$1 q=$2 output=$3
    case "$system" in
        rsql)
            local extra
            read -r -a extra <<< "$(sed -n 's/^--[[:space:]]*rsql-args:[[:space:]]*//p' "$QUERY_DIR/$q.sql")"
            CMD=("$RSQL" --quiet "${extra[@]}" --table "t=$DATA" -f "$QUERY_DIR/$q.sql" --format parquet --output "$output") ;;
        duckdb)
            duckdb_script "$q" "$output" > "$output.script"
            CMD=("$DUCKDB" -init /dev/null -batch -f "$output.script") ;;
    esac
}

# Checks one run's output against the oracle's answer.
check_output() { "$PY" benches/general/check.py "$2" "$ANSWERS/$1.parquet" "$QUERY_DIR/$1.sql"; }

run_queries

# --- the table --------------------------------------------------------------------------------
write_results "$RESULTS" "## $TITLE: $NROWS rows" \
    "$(awk -v n="$NROWS" -v b="$BYTES" -v p="$PARTS" 'BEGIN {printf "data: benches/general/gen_data.py, %d rows, Parquet (snappy), %d file(s), %.1f MB on disk\n", n, p, b / 1e6}')"
