"""The decimal-sum benchmark: `sum` over a DECIMAL(15,2) column against `sum` over a BIGINT
column of the same table, in the same run, through the rsql CLI and the DuckDB CLI.

    python benches/decimal/run.py                      # 10 million rows, 3 runs each
    python benches/decimal/run.py --rows 100000 --runs 1
    RSQL_BIN=/path/to/rsql python benches/decimal/run.py

Needs DuckDB's Python package (it generates the table and computes the expected answers) and
uses the DuckDB CLI of the `duckdb-cli` package when installed (else DuckDB's Python package is
timed instead). Builds nothing: rsql is $RSQL_BIN, else target/release/rsql.

The table (`target/bench-data/decimal-<rows>/t.parquet`, generated once): `k` an INT of 100
values, `b` a BIGINT in -10^9..10^9, `d` a DECIMAL(15,2) in -10^7..10^7 with cents, each from a
hash of the row number. Each query's answer is checked against DuckDB's, exactly for decimals
(compared as Python `Decimal`s). The last lines print rsql's decimal / bigint time ratios.
"""

import argparse
import csv
import io
import os
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]

QUERIES = {
    "sum_decimal": "SELECT sum(d) AS s FROM t",
    "sum_bigint": "SELECT sum(b) AS s FROM t",
    "grouped_sum_decimal": "SELECT k, sum(d) AS s FROM t GROUP BY k ORDER BY k",
    "grouped_sum_bigint": "SELECT k, sum(b) AS s FROM t GROUP BY k ORDER BY k",
}

# (decimal query, bigint query) pairs whose time ratio is printed.
RATIOS = [("sum_decimal", "sum_bigint"), ("grouped_sum_decimal", "grouped_sum_bigint")]


def generate(rows: int) -> Path:
    """Writes the table once; returns its Parquet file."""
    out = ROOT / "target" / "bench-data" / f"decimal-{rows}"
    path = out / "t.parquet"
    if path.exists():
        return path
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "t.parquet.tmp"
    duckdb.sql(
        f"""
        COPY (
            SELECT CAST(i % 100 AS INT) AS k,
                   CAST(hash(i) % 2000000001 AS BIGINT) - 1000000000 AS b,
                   CAST((CAST(hash(i + {rows}) % 2000000001 AS BIGINT) - 1000000000) / 100.0
                        AS DECIMAL(15,2)) AS d
            FROM range({rows}) AS r(i)
        ) TO '{tmp}' (FORMAT parquet)
        """
    )
    tmp.rename(path)
    return path


def expected(path: Path) -> dict:
    """DuckDB's answers, as lists of rows of strings."""
    con = duckdb.connect()
    con.sql(f"CREATE VIEW t AS SELECT * FROM read_parquet('{path}')")
    return {
        name: [tuple(str(v) for v in row) for row in con.sql(sql).fetchall()]
        for name, sql in QUERIES.items()
    }


def same(actual: list, wanted: list) -> bool:
    """Row by row, numbers compared exactly as decimals."""
    if len(actual) != len(wanted):
        return False
    return all(
        len(a) == len(w) and all(Decimal(x) == Decimal(y) for x, y in zip(a, w))
        for a, w in zip(actual, wanted)
    )


def timed(command: list) -> tuple:
    """Runs `command`; returns (seconds, stdout); raises on failure."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError((done.stderr or done.stdout).strip().splitlines()[-1])
    return seconds, done.stdout


def csv_rows(text: str) -> list:
    """CSV output without its header line, as rows of strings."""
    return [tuple(row) for row in list(csv.reader(io.StringIO(text)))[1:] if row]


def duckdb_cli() -> str | None:
    try:
        import duckdb_cli as package  # the duckdb-cli package's binary
    except ImportError:
        return None
    binary = Path(package.__file__).parent / "duckdb"
    return str(binary) if binary.exists() else None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    rsql = os.environ.get("RSQL_BIN") or str(ROOT / "target" / "release" / "rsql")
    if not Path(rsql).exists():
        print(f"no rsql binary at {rsql}: build it (release) or set RSQL_BIN", file=sys.stderr)
        return 2
    path = generate(args.rows)
    answers = expected(path)
    cli = duckdb_cli()

    systems = {
        "rsql": lambda sql: [rsql, "--quiet", "--table", f"t={path}", "-c", sql, "--format", "csv"],
        "duckdb": lambda sql: [
            cli, "-init", "/dev/null", "-batch", "-csv", "-c",
            f"CREATE VIEW t AS SELECT * FROM read_parquet('{path}'); {sql}",
        ],
    }
    if cli is None:
        systems["duckdb"] = lambda sql: [
            sys.executable, "-c",
            "import duckdb, sys; c = duckdb.connect(); "
            f"c.sql(\"CREATE VIEW t AS SELECT * FROM read_parquet('{path}')\"); "
            "r = c.sql(sys.argv[1]); print(','.join(r.columns)); "
            "[print(','.join(map(str, row))) for row in r.fetchall()]",
            sql,
        ]

    medians: dict = {}
    print(f"rows: {args.rows:,} · median of {args.runs} run(s) · DuckDB "
          f"{'CLI' if cli else 'Python'} {duckdb.__version__}\n")
    print("| query | rsql s | duckdb s | rsql answer |")
    print("| --- | --- | --- | --- |")
    failed = False
    for name, sql in QUERIES.items():
        cells = {"rsql": "–", "duckdb": "–", "answer": ""}
        for system, command in systems.items():
            try:
                runs = [timed(command(sql)) for _ in range(args.runs)]
            except RuntimeError as error:
                if system == "rsql":
                    cells["answer"] = f"FAILED: {error}"
                    failed = True
                continue
            medians[(system, name)] = statistics.median(t for t, _ in runs)
            cells[system] = f"{medians[(system, name)]:.3f}"
            if system == "rsql":
                right = all(same(csv_rows(out), answers[name]) for _, out in runs)
                cells["answer"] = "ok" if right else "WRONG"
                failed |= not right
        print(f"| {name} | {cells['rsql']} | {cells['duckdb']} | {cells['answer']} |")
    print()
    for decimal, bigint in RATIOS:
        if ("rsql", decimal) in medians and ("rsql", bigint) in medians:
            ratio = medians[("rsql", decimal)] / medians[("rsql", bigint)]
            print(f"rsql {decimal} / {bigint}: {ratio:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
