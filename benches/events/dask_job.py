#!/usr/bin/env python3
"""The events job on Dask, written as in the talk (see shared/events-job.md for the record).

Usage: python dask_job.py INPUT_DIR OUTPUT_DIR

Read the hive-partitioned Parquet directory, floor `ts` to the hour, group by customer, url and
hour with two custom `dd.Aggregation`s (distinct sessions and a referrer counter, each a chunk
function run on every partition and an agg function that merges chunks), then shape each row
into a record and write the records through a bag with `to_textfiles`, as the talk did.

Scheduler: as in the talk, a local distributed cluster of single-threaded worker processes
(the pandas code holds the GIL); 2 workers, one per core of the benchmark machine.
"""

import json
import os
import sys
from collections import Counter
from itertools import chain

import dask.dataframe as dd
from dask.distributed import Client, LocalCluster


# count_values: each chunk becomes a list of (value, count) pairs; agg adds lists of pairs. Dask
# may apply agg again to its own output (tree reduction), so it returns the same shape.
def counter_chunk(values):
    return list(Counter(values).items())


def counter_agg(chunks):
    total = Counter()
    for chunk in chunks:
        total.update(dict(chunk))
    return list(total.items())


counter = dd.Aggregation(
    "counter",
    lambda s: s.apply(counter_chunk),
    lambda s: s.apply(counter_agg),
)


# count(DISTINCT): the distinct values of each chunk, merged, counted at the end.
def nunique_chunk(values):
    return list(set(values))


def nunique_agg(chunks):
    return list(set(chain.from_iterable(chunks)))


count_unique = dd.Aggregation(
    "count_unique",
    lambda s: s.apply(nunique_chunk),
    lambda s: s.apply(nunique_agg),
    finalize=lambda s: s.apply(len),
)


def transform_one(row):
    """One aggregated row as the record of the events job."""
    ts = row["ts"].strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "_id": f"{row['url']}|{row['customer']}|{ts}",
        "customer": row["customer"],
        "url": row["url"],
        "freq": "1hour",
        "ts": ts,
        "metrics": {"page_views": int(row["page_views"]), "visitors": int(row["visitors"])},
        "referrers": {referrer: int(n) for referrer, n in row["referrers"]},
    }


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=False)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="4GB")
    with cluster, Client(cluster):
        df = dd.read_parquet(src, columns=["customer", "url", "referrer", "session_id", "ts"])
        # `ts` is datetime64[us, UTC]: floor and format in UTC.
        df["ts"] = df["ts"].dt.floor("1h")
        # The string columns come back as per-file categoricals: group on observed values only.
        gb = df.groupby(["customer", "url", "ts"], observed=True)
        # split_out=1: a tree reduction into one partition, as the talk's Dask did. The result is
        # one row per group (small), and recent Dask's default here, a P2P shuffle into several
        # partitions, fails on these object-valued aggregations.
        ag = gb.agg(
            {"session_id": [count_unique, "count"], "referrer": counter}, split_out=1
        ).reset_index()
        # Flatten the two-level column names before shaping records.
        ag.columns = ["customer", "url", "ts", "visitors", "page_views", "referrers"]
        (
            ag.to_bag(format="dict")
            .map(transform_one)
            .map(json.dumps)
            .to_textfiles(os.path.join(out, "part-*.json"))
        )


if __name__ == "__main__":
    main()
