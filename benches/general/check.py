#!/usr/bin/env python3
"""Checks a group-by or sort benchmark result (Parquet) against the oracle's (answers.py).

Usage: python check.py ACTUAL EXPECTED QUERY.sql [--rel 1e-6] [--abs 1e-9]

The rule comes from the query file's `-- check:` line:
  * `-- check: unordered`: the results hold the same rows in any order (a multiset);
  * `-- check: order 1,2 [limit N]`: the rows come out in the query's ORDER BY order: the
    listed (1-based) output columns, the sort keys, must be equal row by row, and the rows
    must be the same multiset, so rows with tied keys may come out in any order. With a LIMIT
    that the expected result fills, the rows tied with the last one may have been cut at any of
    them, so only their keys are compared.
Either rule may end with `rel X` for approximate answers (w04, approx_count_distinct): every
number, integers too, is then compared within the relative tolerance X instead of --rel.
The row order of a file is its Parquet row order. Columns are matched by position (names are
not compared). Two cells are equal when both are NULL; when both columns are integers, as
integers (so rsql's BIGINT sum equals DuckDB's HUGEINT one); when both are numbers and one is
not an integer, within |a - b| <= max(ABS, REL * max(|a|, |b|)); else as text.
To match rows in any order, both sides are sorted by all their columns, in order: the group
keys come first in every query, so values equal within the tolerance cannot change the order.

Exit status: 0 when equal, 1 with the first differences on stdout when not, 2 on usage errors.
"""

import argparse
import re
import sys

import duckdb

MAX_SHOWN = 10

INTEGER_TYPES = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
    "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
}
NUMBER_TYPES = {"FLOAT", "DOUBLE"}


def kind(type_name):
    """integer, number or text."""
    if type_name in INTEGER_TYPES:
        return "integer"
    if type_name in NUMBER_TYPES or type_name.startswith("DECIMAL"):
        return "number"
    return "text"


def literal(text):
    return "'" + text.replace("'", "''") + "'"


def read_rule(path):
    """(keys, limit, rel) from the query file: keys None for an unordered result, else 0-based
    columns; rel the tolerance of an approximate answer, else None."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            match = re.match(r"^--\s*check:\s*(.*)$", line.strip())
            if not match:
                continue
            words = match.group(1).split()
            rel = None
            if len(words) >= 3 and words[-2] == "rel":
                rel = float(words[-1])
                words = words[:-2]
            if words == ["unordered"]:
                return None, None, rel
            if len(words) in (2, 4) and words[0] == "order" and (len(words) == 2 or words[2] == "limit"):
                keys = [int(c) - 1 for c in words[1].split(",")]
                return keys, int(words[3]) if len(words) == 4 else None, rel
            break
    sys.exit(f"{path}: no `-- check: unordered` or `-- check: order COLS [limit N]` line (optionally ending `rel X`)")


class Results:
    """The two results as views `a` (actual) and `e` (expected) with columns x0.. and the row
    position `pos`, and the SQL that compares their cells."""

    def __init__(self, con, actual, expected, rel, abs_, approximate):
        self.con = con
        widths = []
        kinds = []
        for name, path in (("a", actual), ("e", expected)):
            con.execute(
                f"CREATE VIEW raw_{name} AS SELECT * FROM read_parquet({literal(path)}, file_row_number = true)"
            )
            described = con.execute(f"DESCRIBE raw_{name}").fetchall()
            cols = [row[0] for row in described if row[0] != "file_row_number"]
            types = [row[1] for row in described if row[0] != "file_row_number"]
            widths.append(len(cols))
            kinds.append([kind(t) for t in types])
            select = ", ".join(f'"{c}" AS x{i}' for i, c in enumerate(cols))
            con.execute(f"CREATE VIEW {name} AS SELECT {select}, file_row_number AS pos FROM raw_{name}")
        self.widths = widths
        self.width = min(widths)
        self.kinds = [
            "integer" if ka == kb == "integer" and not approximate else "number" if {ka, kb} <= {"integer", "number"} else "text"
            for ka, kb in zip(*kinds)
        ]
        self.rel = rel
        self.abs = abs_

    def cell_equal(self, i, left, right):
        x, y = f"{left}.x{i}", f"{right}.x{i}"
        both_null = f"({x} IS NULL AND {y} IS NULL)"
        if self.kinds[i] == "integer":
            same = f"{x}::HUGEINT = {y}::HUGEINT"
        elif self.kinds[i] == "number":
            dx, dy = f"{x}::DOUBLE", f"{y}::DOUBLE"
            same = f"abs({dx} - {dy}) <= greatest({self.abs}, {self.rel} * greatest(abs({dx}), abs({dy})))"
        else:
            same = f"{x}::VARCHAR = {y}::VARCHAR"
        return f"coalesce({both_null} OR ({same}), false)"

    def rows_equal(self, columns, left, right):
        return " AND ".join(self.cell_equal(i, left, right) for i in columns) or "true"

    def shown(self, alias):
        return " || ',' || ".join(f"coalesce({alias}.x{i}::VARCHAR, 'NULL')" for i in range(self.width))

    def count(self, view):
        return self.con.execute(f"SELECT count(*) FROM {view}").fetchone()[0]

    def key_differences(self, keys):
        """Positions where the sort keys differ, with both rows."""
        return self.con.execute(
            f"SELECT e.pos + 1, {self.shown('e')}, {self.shown('a')} FROM e JOIN a USING (pos) "
            f"WHERE NOT ({self.rows_equal(keys, 'e', 'a')}) ORDER BY e.pos LIMIT {MAX_SHOWN}"
        ).fetchall()

    def multiset_differences(self, below):
        """Rows that differ once both sides (rows before position `below`, or all) are sorted."""
        where = "" if below is None else f"WHERE pos < {below}"
        order = ", ".join(f"x{i}" for i in range(self.width))
        ranked = (
            f"SELECT *, row_number() OVER (ORDER BY {order}) AS rank FROM {{}} {where}"
        )
        return self.con.execute(
            f"WITH ra AS ({ranked.format('a')}), re AS ({ranked.format('e')}) "
            f"SELECT {self.shown('re')}, {self.shown('ra')} FROM re FULL JOIN ra USING (rank) "
            f"WHERE NOT ({self.rows_equal(range(self.width), 're', 'ra')}) ORDER BY rank LIMIT {MAX_SHOWN}"
        ).fetchall()

    def last_run_start(self, keys):
        """The position of the first expected row whose keys equal the last row's."""
        last = "(SELECT * FROM e ORDER BY pos DESC LIMIT 1)"
        return self.con.execute(
            f"SELECT min(e.pos) FROM e, {last} AS l WHERE {self.rows_equal(keys, 'e', 'l')}"
        ).fetchone()[0]


def compare(results, keys, limit):
    """The list of differences, empty when the results are equal."""
    if results.widths[0] != results.widths[1]:
        return [f"{results.widths[0]} columns, expected {results.widths[1]}"]
    actual_rows, expected_rows = results.count("a"), results.count("e")
    if actual_rows != expected_rows:
        return [f"{actual_rows} rows, expected {expected_rows}"]
    if keys is not None and any(k < 0 or k >= results.width for k in keys):
        return [f"sort key column out of range for {results.width} columns"]
    problems = []
    below = None
    if keys is not None:
        for pos, expected, actual in results.key_differences(keys):
            problems.append(f"row {pos}: sort keys differ (order or values):\n  expected {expected}\n  actual   {actual}")
        if problems:
            return problems
        if limit is not None and expected_rows == limit:
            below = results.last_run_start(keys)
    for expected, actual in results.multiset_differences(below):
        problems.append(f"rows differ once sorted:\n  expected {expected}\n  actual   {actual}")
    return problems


def main():
    parser = argparse.ArgumentParser(
        description="Checks a benchmark result against the oracle's.",
        epilog="See the top of this file for the rules.",
    )
    parser.add_argument("actual", help="the result to check (Parquet)")
    parser.add_argument("expected", help="the oracle's answer (Parquet, from answers.py)")
    parser.add_argument("query", help="the query file, with its `-- check:` line")
    parser.add_argument("--rel", type=float, default=1e-6, help="relative tolerance (1e-6)")
    parser.add_argument("--abs", type=float, default=1e-9, help="absolute tolerance (1e-9)")
    args = parser.parse_args()

    keys, limit, rel = read_rule(args.query)
    con = duckdb.connect()
    try:
        results = Results(con, args.actual, args.expected, rel or args.rel, args.abs, rel is not None)
    except duckdb.Error as e:
        print(f"MISMATCH: cannot read the results: {str(e).splitlines()[0]}")
        sys.exit(1)
    problems = compare(results, keys, limit)
    if problems:
        print(f"MISMATCH: {args.actual} vs {args.expected}")
        for problem in problems[:MAX_SHOWN]:
            print(problem)
        sys.exit(1)
    print(f"ok ({results.count('e')} rows)")


if __name__ == "__main__":
    main()
