# shellcheck shell=bash
# Shell helpers shared by the whole-process benchmark drivers that time rsql against the DuckDB
# CLI (benches/tpch/run.sh, benches/general/run.sh) and measure it (benches/memory/run.sh).
# Source it from bash after `set -euo pipefail`; it defines functions, the RUNNING variable and
# an INT/TERM trap.
#
# A driver sets these before calling what uses them:
#   ROOT            the repository (find_rsql)
#   PY, VENV        the virtual environment's python and directory (install_tools)
#   LIMIT           seconds a run may take (measure)
#   RUNS, QLIST     runs per query and the query names, e.g. (q01 q02) (run_queries)
#   OUT             where outputs and logs go: OUT/<system>/<query>.<OUT_EXT> (run_queries)
#   OUT_EXT         the output files' extension, csv or parquet (run_queries)
#   DUCKDB_MODE     cli (DUCKDB is the binary) or python (write_results)
# and defines the hooks run_queries calls:
#   command_for SYSTEM QUERY OUTPUT   sets the array CMD: the command that runs QUERY with
#                                     SYSTEM (rsql or duckdb) and writes OUTPUT
#   check_output QUERY OUTPUT         exit status 0 when OUTPUT is QUERY's right answer, else
#                                     the differences on stdout
# run_queries fills ROWS (markdown table rows), RATIOS (rsql / DuckDB of the queries rsql
# answered right) and FAILED (queries rsql failed, timed out or answered wrong); write_results
# prints them as a table.

log() { echo "==> $*" >&2; }

# Installs PACKAGES (pip requirement specifiers, space separated) into VENV once: a marker file
# records what is installed.
install_tools() {
    local packages=$1
    if [[ "$(cat "$VENV/.installed" 2>/dev/null)" != "$packages" ]]; then
        log "installing $packages into $VENV"
        [[ -x $PY ]] || python3 -m venv "$VENV"
        # shellcheck disable=SC2086
        "$PY" -m pip install --quiet $packages
        echo "$packages" > "$VENV/.installed"
    fi
}

# Sets DUCKDB to the duckdb binary the duckdb-cli package ships, or to empty when the package
# has none. The package's `duckdb` command is a Python wrapper around that binary: running the
# binary itself keeps Python's start-up and memory out of the timings.
find_duckdb_cli() {
    DUCKDB=$("$PY" -c 'import duckdb_cli, os; print(os.path.join(os.path.dirname(duckdb_cli.__file__), "duckdb"))')
    [[ -x $DUCKDB ]] || DUCKDB=
}

# Sets TIME to /usr/bin/time, or to empty (peak RSS is then not measured).
find_time() {
    TIME=/usr/bin/time
    [[ -x $TIME ]] || { log "no /usr/bin/time: peak RSS is not measured"; TIME=; }
}

# Sets RSQL: $RSQL_BIN as given, else the release build under CARGO_TARGET_DIR (or
# ROOT/target), built first when BUILD (the argument) is 1; empty when there is no binary.
find_rsql() {
    local build=$1
    RSQL=${RSQL_BIN:-}
    if [[ -z $RSQL ]]; then
        RSQL=${CARGO_TARGET_DIR:-$ROOT/target}/release/rsql
        if [[ $build == 1 ]]; then
            log "building the rsql CLI"
            cargo build --quiet --release -p rsql-cli
        fi
    fi
    if [[ ! -x $RSQL ]]; then
        log "no rsql binary at $RSQL: only DuckDB runs"
        RSQL=
    fi
}

# The process group of the run under way, stopped on an interrupt.
RUNNING=
trap '[[ -n $RUNNING ]] && kill -TERM -- "-$RUNNING" 2> /dev/null; exit 130' INT TERM

# Runs CMD once under LIMIT seconds; sets STATUS (ok, limit, failed), WALL (s), RSS (MB, or
# empty) and RSS_KB (/usr/bin/time's figure in KiB, or empty). Its stdout and stderr go to LOG.
measure() {
    local log=$1 timing=$1.time start end rc=0
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
    RSS_KB=
    if [[ -s $timing ]]; then
        RSS_KB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$timing")
        [[ -n $RSS_KB ]] && RSS=$(( (RSS_KB + 512) / 1024 ))
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

# Runs every query of QLIST with DuckDB, then rsql, RUNS times each, checking every run's
# output with check_output; fills ROWS, RATIOS and FAILED (see the top of this file).
run_queries() {
    local q system run output peak d_wall r_wall ratio answer
    local -a walls
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
                output=$OUT/$system/$q.$OUT_EXT
                rm -f "$output"
                command_for "$system" "$q" "$output"
                log "$q $system run $run/$RUNS"
                measure "$OUT/$system/$q.log" || true
                case $STATUS in
                    limit) note[$system]="timed out (${LIMIT} s)"; break ;;
                    failed) note[$system]="FAILED: $(error_line "$OUT/$system/$q.log")"; break ;;
                esac
                if ! check_output "$q" "$output" > "$OUT/$system/$q.compare" 2>&1; then
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
}

# The machine: CPU model, cores and memory, e.g. "Intel Xeon @ 2.50GHz, 2 cores, 24 GB".
machine() {
    local cpu mem
    cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
    mem=$(awk '/^MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo)
    echo "$cpu, $(nproc) cores, $mem"
}

# Writes the table of ROWS and the geometric mean of RATIOS to the file RESULTS and to stdout,
# under the lines TITLE and DATA and a line naming the machine, the date and the versions;
# returns 1 when FAILED is not 0.
write_results() {
    local results=$1 title=$2 data=$3 duckdb_version rsql_version
    duckdb_version=$([[ $DUCKDB_MODE == cli ]] && "$DUCKDB" --version 2>/dev/null | awk '{print $1}' || echo "python $("$PY" -c 'import duckdb; print(duckdb.__version__)')")
    rsql_version=$([[ -n $RSQL ]] && "$RSQL" --version 2>/dev/null | awk '{print $2}' || echo –)
    mkdir -p "$(dirname "$results")"
    {
        echo "$title"
        echo
        echo "$data"
        echo "machine: $(machine) · $(date -u +%Y-%m-%d) · median of $RUNS run(s) · rsql $rsql_version · DuckDB $duckdb_version ($DUCKDB_MODE)"
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
    } > "$results.tmp"
    mv "$results.tmp" "$results"
    cat "$results"
    log "table written to $results"
    if (( FAILED > 0 )); then
        log "$FAILED of ${#QLIST[@]} queries failed or answered wrong on rsql"
        return 1
    fi
}
