#!/usr/bin/env python3
"""The events job on DuckDB (see shared/events-job.md for the record).

Usage: python duckdb_job.py INPUT_DIR OUTPUT_DIR

DuckDB has a built-in count_values: `histogram(x)` returns a MAP of value -> count, which its
JSON writer prints as an object. Threads: DuckDB defaults to one per core; we set 2 explicitly
(the benchmark machine has 2 cores).
"""

import os
import sys

import duckdb


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=False)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    # Parquet `ts` is a UTC instant (TIMESTAMPTZ). With the session in UTC, casting it to a plain
    # TIMESTAMP gives the UTC wall time, which truncates without the ICU time-zone machinery.
    con.execute("SET TimeZone = 'UTC'")
    glob = os.path.join(src, "**", "*.parquet").replace("'", "''")
    target = os.path.join(out, "part-00000.json").replace("'", "''")
    con.execute(f"""
        COPY (
            WITH agg AS (
                SELECT customer,
                       url,
                       date_trunc('hour', ts::TIMESTAMP) AS ts_hour,
                       count(*) AS page_views,
                       count(DISTINCT session_id) AS visitors,
                       histogram(referrer) AS referrers
                FROM read_parquet('{glob}', hive_partitioning = true)
                GROUP BY ALL
            ),
            formatted AS (
                SELECT *, strftime(ts_hour, '%Y-%m-%dT%H:%M:%S') AS ts FROM agg
            )
            SELECT url || '|' || customer || '|' || ts AS _id,
                   customer,
                   url,
                   '1hour' AS freq,
                   ts,
                   {{'page_views': page_views, 'visitors': visitors}} AS metrics,
                   referrers
            FROM formatted
        ) TO '{target}' (FORMAT JSON)
    """)


if __name__ == "__main__":
    main()
