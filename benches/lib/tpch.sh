# shellcheck shell=bash
# The variables set here are for the driver that sources this file.
# shellcheck disable=SC2034
# TPC-H data, oracle answers and the rsql command line, shared by the drivers that run the TPC-H
# queries (benches/tpch/run.sh, benches/memory/run.sh), so the data and answers are made once,
# in one place. Source it after benches/lib/common.sh, with ROOT set (the repository). It sets
#   TPCH_WORK       ROOT/target/tpch: the venv, the data, the answers, outputs and results
#   VENV, PY        the virtual environment for tpchgen-cli and DuckDB (install_tools)
#   TPCH_PACKAGES   those tools, pinned
#   QUERY_DIR       benches/tpch/queries (q01.sql ... q22.sql)
#   TABLES          the eight table names
# and defines the functions below.

TPCH_WORK=$ROOT/target/tpch
VENV=$TPCH_WORK/venv
PY=$VENV/bin/python
QUERY_DIR=$ROOT/benches/tpch/queries
TABLES="region nation supplier customer part partsupp orders lineitem"
# Pinned: tpchgen-cli 4.0.0 writes the same data as the tpchgen-arrow 4.0.0 crate the Rust
# tests use; duckdb 2.0.1 is the version that produced testdata/tpch's answers.
TPCH_PACKAGES="tpchgen-cli==4.0.0 duckdb==2.0.1 duckdb-cli==1.5.6"

# Sets QLIST to the query names (q01 ...) of QUERIES, comma-separated numbers from 1 to 22 in
# any order (empty: all 22), sorted and without repeats; returns 1 on a bad number or an empty
# list.
tpch_query_list() {
    local queries=${1:-$(seq -s, 1 22)} q
    QLIST=()
    for q in $(tr ',' '\n' <<< "$queries" | sort -n -u); do
        if ! [[ "$q" =~ ^[0-9]+$ ]] || (( 10#$q < 1 || 10#$q > 22 )); then
            echo "bad query number: $q" >&2
            return 1
        fi
        QLIST+=("$(printf 'q%02d' "$((10#$q))")")
    done
    (( ${#QLIST[@]} > 0 ))
}

# Exit status 0 when SF is a scale factor (1, 10, 0.1, .01), else 1 with a message.
tpch_valid_sf() {
    [[ "$1" =~ ^([0-9]+(\.[0-9]+)?|\.[0-9]+)$ ]] || { echo "bad scale factor: $1" >&2; return 1; }
}

# Sets DATA (TPCH_WORK/sf<SF>, a directory of Parquet files per table), ANSWERS (the oracle's
# answers, TPCH_WORK/sf<SF>-answers) and BYTES (the data's size on disk) for scale factor SF,
# generating the data with PARTS files per table when it is missing or was made with other
# arguments (its answers are then dropped too). Needs the tools (install_tools
# "$TPCH_PACKAGES").
tpch_data() {
    local sf=$1 parts=$2 gen_args
    DATA=$TPCH_WORK/sf$sf
    ANSWERS=$TPCH_WORK/sf$sf-answers
    gen_args="parquet --scale-factor $sf --parts $parts"
    if [[ "$(cat "$DATA.done" 2>/dev/null)" != "tpchgen-cli 4.0.0 $gen_args" ]]; then
        log "generating TPC-H SF $sf into $DATA"
        rm -rf "$DATA" "$DATA.done" "$ANSWERS"
        # shellcheck disable=SC2086
        "$VENV/bin/tpchgen-cli" $gen_args --output-dir "$DATA" --quiet
        echo "tpchgen-cli 4.0.0 $gen_args" > "$DATA.done"
    fi
    BYTES=$(find "$DATA" -name '*.parquet' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
}

# Computes, with DuckDB's Python package (benches/tpch/answers.py), the answers in ANSWERS of
# the queries of QLIST that have none yet or one older than their query file.
tpch_answers() {
    local q missing=()
    for q in "${QLIST[@]}"; do
        [[ -s $ANSWERS/$q.csv && $ANSWERS/$q.csv -nt $QUERY_DIR/$q.sql ]] || missing+=("$((10#${q#q}))")
    done
    if (( ${#missing[@]} > 0 )); then
        log "computing the answers of ${#missing[@]} queries with DuckDB's Python package"
        "$PY" "$ROOT/benches/tpch/answers.py" "$DATA" "$QUERY_DIR" "$ANSWERS" \
            --queries "$(IFS=,; echo "${missing[*]}")"
    fi
}

# Sets CMD to RSQL running query Q over the eight tables of DATA, writing CSV to OUTPUT; any
# further arguments are rsql options put before the others (e.g. --memory-limit 512MB).
tpch_rsql_command() {
    local q=$1 output=$2 table
    shift 2
    CMD=("$RSQL" --quiet "$@")
    for table in $TABLES; do CMD+=(--table "$table=$DATA/$table"); done
    CMD+=(-f "$QUERY_DIR/$q.sql" --format csv --output "$output")
}

# Exit status 0 when the CSV OUTPUT is query Q's answer in ANSWERS, else the differences on
# stdout (benches/tpch/compare.py).
tpch_check() { "$PY" "$ROOT/benches/tpch/compare.py" "$2" "$ANSWERS/$1.csv"; }
