# shellcheck shell=bash
# The variables set here are for the driver that sources this file.
# shellcheck disable=SC2034
# The events job's data, its oracle answer and the rsql command line, shared by the drivers that
# run the job (benches/events/run.sh, benches/memory/run.sh), so the data is generated once, in
# one place. Source it with ROOT set (the repository) and a `log` function (benches/lib/common.sh
# has one); it defines the functions below.

# Sets RECORDS to the record count SIZE names: a count with an optional k or m suffix (1m =
# 1,000,000 records); returns 1 with a message on anything else.
events_records() {
    case "$1" in
        *[0-9]k) RECORDS=$(( ${1%k} * 1000 )) ;;
        *[0-9]m) RECORDS=$(( ${1%m} * 1000000 )) ;;
        *[0-9]) RECORDS=$1 ;;
        *) echo "bad events size: $1" >&2; return 1 ;;
    esac
}

# Sets GEN_EVENTS to the events generator: $GEN_EVENTS_BIN as given, else the release build
# under CARGO_TARGET_DIR (or ROOT/target), built first when BUILD (the argument) is 1.
find_gen_events() {
    local build=$1
    GEN_EVENTS=${GEN_EVENTS_BIN:-}
    if [[ -z $GEN_EVENTS ]]; then
        GEN_EVENTS=${CARGO_TARGET_DIR:-$ROOT/target}/release/gen-events
        if [[ $build == 1 ]]; then
            log "building gen-events"
            cargo build --quiet --release -p rsql-benches --bin gen-events
        fi
    fi
    [[ -x $GEN_EVENTS ]] || { echo "no events generator at $GEN_EVENTS" >&2; return 1; }
}

# Sets NAME (events-SIZE, with -cN for N customers but one), DATA (ROOT/target/bench-data/NAME,
# the hive-partitioned Parquet data set), ANSWER (DATA-duckdb, where events_answer puts the
# oracle's output), RECORDS, and FILES, FOLDERS and BYTES (Parquet files, hour/customer folders
# and bytes on disk) for SIZE records over CUSTOMERS customers, generating the data with
# GEN_EVENTS (find_gen_events) when it is missing or was made with other arguments; the answer
# then goes too.
events_data() {
    local size=$1 customers=$2 gen_args
    events_records "$size" || return 1
    NAME=events-$size
    [[ $customers == 1 ]] || NAME=$NAME-c$customers
    DATA=$ROOT/target/bench-data/$NAME
    ANSWER=$DATA-duckdb
    gen_args="--records $RECORDS --customers $customers"
    if [[ "$(cat "$DATA.done" 2>/dev/null)" != "$gen_args" ]]; then
        log "generating $RECORDS records into $DATA"
        rm -rf "$DATA" "$DATA.done" "$ANSWER" "$ANSWER.done"
        # shellcheck disable=SC2086
        "$GEN_EVENTS" $gen_args --out "$DATA" >&2
        echo "$gen_args" > "$DATA.done"
    fi
    FILES=$(find "$DATA" -name '*.parquet' | wc -l)
    FOLDERS=$(find "$DATA" -name '*.parquet' -printf '%h\n' | sort -u | wc -l)
    BYTES=$(find "$DATA" -name '*.parquet' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
}

# Runs the job once with DuckDB's Python package (benches/events/duckdb_job.py, with PY, a
# python that has duckdb) into ANSWER, unless it is there already: the independent answer an
# rsql output is checked against with events_check.
events_answer() {
    if [[ ! -e $ANSWER.done ]]; then
        log "computing the events job's answer with DuckDB's Python package into $ANSWER"
        rm -rf "$ANSWER"
        TZ=UTC "$PY" "$ROOT/benches/events/duckdb_job.py" "$DATA" "$ANSWER"
        touch "$ANSWER.done"
    fi
}

# Exit status 0 when the output directory OUTPUT holds the same records as ANSWER, else a
# summary of the differences on stdout (benches/events/compare.py).
events_check() { "$PY" "$ROOT/benches/events/compare.py" "$ANSWER" "$1"; }

# Sets CMD to RSQL running the job (benches/events/job.sql) over the data set INPUT, writing
# NDJSON part files into the directory OUTPUT; any further arguments are rsql options put
# before the others (e.g. --memory-limit 512MB).
events_rsql_command() {
    local input=$1 output=$2
    shift 2
    # The trailing `/` asks the CLI for a directory of part files.
    CMD=("$RSQL" "$@" --table "events=$input" -f "$ROOT/benches/events/job.sql" --format ndjson
         --output "$output/")
}
