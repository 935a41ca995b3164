#!/usr/bin/env python3
"""The events job on Polars (see shared/events-job.md for the record).

Usage: python polars_job.py INPUT_DIR OUTPUT_DIR

A lazy scan with hive partitioning and one group_by: `len()` for page views, `n_unique()` for
visitors and `value_counts()` (a list of {referrer, count} structs) for count_values. Polars has
no map type, so the (small: one row per group) result is turned into JSON objects in Python.
Threads: Polars uses one per core by default (POLARS_MAX_THREADS), i.e. 2 on the benchmark
machine; we leave the default.
"""

import json
import os
import sys

import polars as pl


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=False)
    # `ts` is Datetime(us, "UTC"): truncate it in UTC, group on the instant, and format the hour
    # once per group.
    hour = pl.col("ts").dt.convert_time_zone("UTC").dt.truncate("1h")
    result = (
        pl.scan_parquet(os.path.join(src, "**", "*.parquet"), hive_partitioning=True)
        .group_by("customer", "url", hour.alias("ts"))
        .agg(
            pl.len().alias("page_views"),
            pl.col("session_id").n_unique().alias("visitors"),
            pl.col("referrer").value_counts().alias("referrers"),
        )
        .with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S"))
        .collect()
    )
    with open(os.path.join(out, "part-00000.json"), "w", encoding="utf-8") as sink:
        for row in result.iter_rows(named=True):
            record = {
                "_id": f"{row['url']}|{row['customer']}|{row['ts']}",
                "customer": row["customer"],
                "url": row["url"],
                "freq": "1hour",
                "ts": row["ts"],
                "metrics": {"page_views": row["page_views"], "visitors": row["visitors"]},
                "referrers": {item["referrer"]: item["count"] for item in row["referrers"]},
            }
            sink.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
