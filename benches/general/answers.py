#!/usr/bin/env python3
"""The answers of the group-by and sort queries from DuckDB's Python package, the oracle that
benches/general/run.sh checks both timed systems against.

Usage: python answers.py DATA_DIR OUT_DIR QUERY.sql [QUERY.sql ...]

DATA_DIR holds the table's Parquet files (gen_data.py); it becomes the view `t` over
read_parquet('DATA_DIR/*.parquet'). Each query's result is written, in the order DuckDB
returns it (its ORDER BY), to OUT_DIR/<query name>.parquet.
"""

import argparse
import os

import duckdb


def literal(text):
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def main():
    parser = argparse.ArgumentParser(description="Writes the oracle's answers as Parquet.")
    parser.add_argument("data_dir")
    parser.add_argument("out_dir")
    parser.add_argument("queries", nargs="+", metavar="QUERY.sql")
    args = parser.parse_args()

    os.makedirs(args.out_dir, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet({literal(os.path.join(args.data_dir, '*.parquet'))})")
    for path in args.queries:
        with open(path, encoding="utf-8") as f:
            sql = f.read().strip().rstrip(";")
        name = os.path.splitext(os.path.basename(path))[0]
        out = os.path.join(args.out_dir, f"{name}.parquet")
        con.execute(f"COPY ({sql}\n) TO {literal(out + '.tmp')} (FORMAT parquet)")
        os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
