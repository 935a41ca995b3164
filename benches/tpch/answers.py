#!/usr/bin/env python3
"""TPC-H answers from DuckDB, the independent engine the rsql results are checked against.

Usage: python answers.py DATA_DIR QUERY_DIR OUT_DIR [--queries 1,3,5] [--threads N]

DATA_DIR holds one directory of Parquet files per table (DATA_DIR/lineitem/*.parquet, ...), as
`tpchgen-cli parquet --parts N` writes them. Each of the eight tables becomes a DuckDB view over
`read_parquet('DATA_DIR/<table>/*.parquet')` (DuckDB's tpch extension is not needed). Every
QUERY_DIR/qNN.sql (or only those of --queries) is run with DuckDB's Python package and its
answer written to OUT_DIR/qNN.csv. With --timings, a line "qNN SECONDS" per query goes to
stdout (the wall time of DuckDB executing and fetching the result, not of the writing).

The answer format, which compare.py reads (and the Rust tests parse):
  * RFC 4180 CSV, UTF-8, "\\n" line ends, comma separated; a field is quoted only when it holds
    a comma, a double quote or a line break (as rsql's `--format csv` does).
  * The first line is the header: the result's column names as DuckDB reports them.
  * Then one line per row, in the order DuckDB returned them (the query's ORDER BY).
  * NULL is the empty field.
  * DECIMAL values are written exactly, in plain notation with the column's scale
    (`1234.5600`, never `1.2E+3`).
  * DOUBLE/REAL values are Python's repr: the shortest text that reads back as the same double
    (`0.05`, `25.522005853257337`, possibly with an exponent, `1e-05`).
  * Integers are plain digits; DATE is YYYY-MM-DD; strings are written as they are (no trimming).
  * Booleans are `true`/`false`.
"""

import argparse
import csv
import datetime
import decimal
import glob
import os
import sys
import time

import duckdb

TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]


def cell(value):
    """The text of one result value (see the format above)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return str(value)


def query_files(query_dir, wanted):
    """(name, path) for each qNN.sql in QUERY_DIR, in order, limited to `wanted` numbers."""
    found = []
    for path in sorted(glob.glob(os.path.join(query_dir, "q[0-9][0-9].sql"))):
        name = os.path.basename(path)[:-4]
        if wanted is None or int(name[1:]) in wanted:
            found.append((name, path))
    if wanted is not None:
        missing = sorted(wanted - {int(n[1:]) for n, _ in found})
        if missing:
            raise SystemExit(f"no such query in {query_dir}: {missing}")
    return found


def connect(data_dir, threads):
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    for table in TABLES:
        pattern = os.path.join(os.path.abspath(data_dir), table, "*.parquet")
        if not glob.glob(pattern):
            raise SystemExit(f"{pattern}: no Parquet files")
        quoted = pattern.replace("'", "''")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{quoted}')")
    return con


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir")
    parser.add_argument("query_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--queries", help="comma-separated query numbers (default: all)")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: DuckDB's own)")
    parser.add_argument("--timings", action="store_true", help="print 'qNN SECONDS' lines")
    args = parser.parse_args()
    wanted = None
    if args.queries:
        wanted = {int(q) for q in args.queries.split(",") if q.strip()}

    con = connect(args.data_dir, args.threads)
    os.makedirs(args.out_dir, exist_ok=True)
    for name, path in query_files(args.query_dir, wanted):
        with open(path, encoding="utf-8") as f:
            sql = f.read()
        start = time.perf_counter()
        result = con.execute(sql)
        rows = result.fetchall()
        seconds = time.perf_counter() - start
        header = [d[0] for d in result.description]
        target = os.path.join(args.out_dir, f"{name}.csv")
        with open(target + ".tmp", "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
            writer.writerow(header)
            for row in rows:
                writer.writerow([cell(v) for v in row])
        os.replace(target + ".tmp", target)
        if args.timings:
            print(f"{name} {seconds:.6f}", flush=True)
        else:
            print(f"{name}: {len(rows)} rows -> {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
