#!/usr/bin/env python3
"""Generates the table the group-by and sort benchmarks query, with DuckDB's Python package.

Usage: python gen_data.py OUT_DIR --rows N [--parts P]

Writes OUT_DIR/part-1.parquet ... part-P.parquet (snappy), rows 0..N-1 split into P runs of
consecutive rows. The columns follow the db-benchmark (h2oai) group-by data:

    id1  VARCHAR  'id001' .. 'id100'                      100 values
    id2  VARCHAR  'id001' .. 'id100'                      100 values (id1, id2: 10,000 pairs)
    id3  VARCHAR  'id0000000001' .. (N / 100 of them)     N / 100 values (100,000 at 10M rows)
    id4  INTEGER  1 .. 100                                100 values
    id5  INTEGER  1 .. 10,000                             10,000 values
    id6  INTEGER  1 .. N                                  about 0.63 N values (drawn with repeats)
    v1   INTEGER  1 .. 5
    v2   INTEGER  1 .. 15
    v3   DOUBLE   0 .. 100 with 6 decimals; NULL in about 1% of rows

Every value is DuckDB's `hash` of 16 * row number + a per-column salt, so the data is the same
on every run and with any number of threads (no random state), and the columns are independent
of each other (`hash(i, salt)`, DuckDB's combined hash, is not: it gives 2,500 (id1, id2) pairs).
"""

import argparse
import os

import duckdb


def columns(rows):
    """The SELECT list computing each column from the row number i."""
    id3_values = max(1, rows // 100)

    def draw(salt, n):
        return f"(hash(i * 16 + {salt}) % {n} + 1)"

    return f"""
        'id' || lpad({draw(1, 100)}::VARCHAR, 3, '0') AS id1,
        'id' || lpad({draw(2, 100)}::VARCHAR, 3, '0') AS id2,
        'id' || lpad({draw(3, id3_values)}::VARCHAR, 10, '0') AS id3,
        {draw(4, 100)}::INTEGER AS id4,
        {draw(5, 10_000)}::INTEGER AS id5,
        {draw(6, rows)}::INTEGER AS id6,
        {draw(7, 5)}::INTEGER AS v1,
        {draw(8, 15)}::INTEGER AS v2,
        CASE WHEN hash(i * 16 + 9) % 100 = 0 THEN NULL
             ELSE (hash(i * 16 + 10) % 100000001)::DOUBLE / 1e6 END AS v3
    """


def main():
    parser = argparse.ArgumentParser(description="Generates the group-by / sort benchmark table.")
    parser.add_argument("out_dir")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--parts", type=int, default=1)
    args = parser.parse_args()
    if args.rows < 1 or args.parts < 1:
        parser.error("--rows and --parts must be positive")

    os.makedirs(args.out_dir, exist_ok=True)
    con = duckdb.connect()
    select = columns(args.rows)
    for part in range(args.parts):
        lo = args.rows * part // args.parts
        hi = args.rows * (part + 1) // args.parts
        path = os.path.join(args.out_dir, f"part-{part + 1}.parquet").replace("'", "''")
        con.execute(
            f"COPY (SELECT {select} FROM range({lo}, {hi}) r(i) ORDER BY i) "
            f"TO '{path}' (FORMAT parquet, COMPRESSION snappy)"
        )


if __name__ == "__main__":
    main()
