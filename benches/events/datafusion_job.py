#!/usr/bin/env python3
"""The events job on DataFusion's Python package (see shared/events-job.md for the record).

Usage: python datafusion_job.py INPUT_DIR OUTPUT_DIR

DataFusion has no count_values aggregate, so the SQL a DataFusion user writes computes it with a
second grouping: count per (group, referrer), then `map(array_agg(referrer), array_agg(n))`
per group, joined to the page-view and visitor counts. Groups are keyed by the truncated
timestamp, formatted once per group after the aggregation. DataFusion's JSON writer prints the
map and the struct as objects. Threads: target_partitions is set to 2 (the benchmark machine's
cores, which is also DataFusion's default).
"""

import os
import sys

from datafusion import SessionConfig, SessionContext

# The hive folders, outermost first: DataFusion needs them declared.
PARTITION_COLUMNS = ("year", "month", "day", "hour", "customer")

JOB = """
WITH events_by_hour AS (
    SELECT customer, url, referrer, session_id, date_trunc('hour', ts) AS ts_hour
    FROM events
),
metrics AS (
    SELECT customer, url, ts_hour,
           count(*) AS page_views,
           count(DISTINCT session_id) AS visitors
    FROM events_by_hour
    GROUP BY customer, url, ts_hour
),
referrers AS (
    -- The JSON writer wants plain UTF-8 map keys, not the dictionary-encoded column.
    SELECT customer, url, ts_hour,
           map(array_agg(CAST(referrer AS VARCHAR)), array_agg(n)) AS referrers
    FROM (
        SELECT customer, url, ts_hour, referrer, count(*) AS n
        FROM events_by_hour
        GROUP BY customer, url, ts_hour, referrer
    ) AS per_referrer
    GROUP BY customer, url, ts_hour
),
joined AS (
    SELECT m.customer, m.url, to_char(m.ts_hour, '%Y-%m-%dT%H:%M:%S') AS ts,
           m.page_views, m.visitors, r.referrers
    FROM metrics AS m
    JOIN referrers AS r
      ON m.customer = r.customer AND m.url = r.url AND m.ts_hour = r.ts_hour
)
SELECT concat_ws('|', url, customer, ts) AS _id,
       customer,
       url,
       '1hour' AS freq,
       ts,
       named_struct('page_views', page_views, 'visitors', visitors) AS metrics,
       referrers
FROM joined
"""


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=False)
    config = SessionConfig().with_target_partitions(2)
    # `ts` is Timestamp(µs, "UTC"): date_trunc and to_char work on it in UTC.
    ctx = SessionContext(config)
    ctx.register_parquet(
        "events",
        src,
        table_partition_cols=[(name, "string") for name in PARTITION_COLUMNS],
        file_extension=".parquet",
    )
    ctx.sql(JOB).write_json(os.path.join(out, "part-00000.json"))


if __name__ == "__main__":
    main()
