#!/usr/bin/env python3
"""pyarrow's decode throughput on the events dataset, measured like `read-events`.

Reads every data file of the dataset (all four columns, then one column), single-threaded and
with every core, and prints rows/s and MB/s (compressed bytes on disk per second).
Usage: python3 benches/io/read_events.py [DATASET_ROOT] [--repeat N]
"""

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.parquet as pq


def data_files(root):
    files = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(("_", "."))]
        files += [os.path.join(folder, n) for n in names if n.endswith(".parquet") and not n.startswith(("_", "."))]
    return sorted(files)


def read_once(files, columns, threads):
    start = time.perf_counter()
    if threads == 1:
        pa.set_cpu_count(1)
        pa.set_io_thread_count(1)
        rows = sum(pq.read_table(f, columns=columns, use_threads=False).num_rows for f in files)
    else:
        pa.set_cpu_count(threads)
        pa.set_io_thread_count(threads)
        with ThreadPoolExecutor(threads) as pool:
            rows = sum(pool.map(lambda f: pq.read_table(f, columns=columns, use_threads=False).num_rows, files))
    return rows, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root", nargs="?", default="events")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--column", default="url")
    args = parser.parse_args()
    files = data_files(args.root)
    size = sum(os.path.getsize(f) for f in files)
    cores = os.cpu_count() or 1
    print(f"dataset {args.root}: {len(files)} files, {size / 1e6:.1f} MB (pyarrow {pa.__version__})")
    for label, columns in [("all columns", ["url", "referrer", "session_id", "ts"]), ("one column", [args.column])]:
        for threads in sorted({1, cores}):
            best, rows = float("inf"), 0
            for _ in range(args.repeat):
                rows, seconds = read_once(files, columns, threads)
                best = min(best, seconds)
            print(f"pyarrow {label:11} threads={threads}: {rows} rows in {best:.3f} s = "
                  f"{rows / best / 1e6:.1f} Mrows/s, {size / best / 1e6:.1f} MB/s")


if __name__ == "__main__":
    main()
