#!/usr/bin/env python3
"""Checks an rsql TPC-H result CSV against an answer CSV (from answers.py).

Usage: python compare.py ACTUAL EXPECTED [--query N] [--order COLS | --unordered] [--limit N]
                         [--rel 1e-6] [--abs 1e-9]

Both files are CSV with a header row (rsql's `--format csv`, answers.py's format); the header
only gives the column count: column names are not compared. A blank line in a one-column file
is a row holding one empty (NULL) field.

The results must have the same number of columns and rows. Two cells are equal when
  * both are integers (plain digits) and equal as integers, or
  * both are numbers (decimals, floats, exponents allowed) within the tolerance:
    |a - b| <= max(ABS, REL * max(|a|, |b|)), by default REL = 1e-6, ABS = 1e-9, or equal
    once rounded to the scale of the less precise one (|a - b| <= 0.5 * 10^-scale: a decimal
    average with Spark's 6 digits against DuckDB's double), or
  * otherwise their texts are equal after stripping surrounding whitespace.
So `305`, `305.00` and `305.0000001` are the same number, `1995-03-11` is compared as text.

Row order: the query's ORDER BY keys (the output columns it sorts on) are known for the 22
TPC-H queries; the query number comes from --query, or else from EXPECTED's name (qNN.csv).
The expected rows are cut into runs of equal sort keys; the actual rows must have the same keys
in the same order, and each run must hold the same rows in any order (a multiset), so ties
the ORDER BY leaves open may come out either way. A query with no ORDER BY (or one whose
single-row result needs none) is one run, compared as a multiset. With a LIMIT that the
expected result fills, the last run may have been cut at any of its tied rows, so only its
keys are compared. --order 2,1 (1-based output columns) and --limit N override the table;
--unordered compares the whole results as multisets.

Exit status: 0 when equal, 1 with the first differences on stdout when not, 2 on usage
errors or unreadable files.
"""

import argparse
import csv
import math
import os
import re
import sys

# The output columns (0-based) each query's ORDER BY sorts on, in ORDER BY order.
ORDER_KEYS = {
    1: [0, 1],  # l_returnflag, l_linestatus
    2: [0, 2, 1, 3],  # s_acctbal desc, n_name, s_name, p_partkey
    3: [1, 2],  # revenue desc, o_orderdate
    4: [0],  # o_orderpriority
    5: [1],  # revenue desc
    6: [],  # one row
    7: [0, 1, 2],  # supp_nation, cust_nation, l_year
    8: [0],  # o_year
    9: [0, 1],  # nation, o_year desc
    10: [2],  # revenue desc
    11: [1],  # value desc
    12: [0],  # l_shipmode
    13: [1, 0],  # custdist desc, c_count desc
    14: [],  # one row
    15: [0],  # s_suppkey
    16: [3, 0, 1, 2],  # supplier_cnt desc, p_brand, p_type, p_size
    17: [],  # one row
    18: [4, 3],  # o_totalprice desc, o_orderdate
    19: [],  # one row
    20: [0],  # s_name
    21: [1, 0],  # numwait desc, s_name
    22: [0],  # cntrycode
}

# The LIMIT of each query that has one.
LIMITS = {2: 100, 3: 10, 10: 20, 18: 100, 21: 100}

INTEGER = re.compile(r"^[+-]?\d+$")
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")

MAX_SHOWN = 10


def scale(text):
    """Digits after the decimal point of a number written without an exponent, else None."""
    if "e" in text.lower() or "." not in text:
        return None
    return len(text.split(".", 1)[1])


class Cells:
    """Cell equality with a numeric tolerance."""

    def __init__(self, rel, abs_):
        self.rel = rel
        self.abs = abs_

    def equal(self, a, b):
        if a == b:
            return True
        if INTEGER.match(a) and INTEGER.match(b):
            return int(a) == int(b)
        if NUMBER.match(a) and NUMBER.match(b):
            x, y = float(a), float(b)
            if abs(x - y) <= max(self.abs, self.rel * max(abs(x), abs(y))):
                return True
            # Equal once rounded to the scale of the less precise one (a decimal average
            # with Spark's 6 digits against the oracle's double).
            scales = [scale(a), scale(b)]
            if None not in scales:
                return abs(x - y) <= 0.5 * 10 ** -min(scales) * (1 + 1e-9)
        return False

    def rows_equal(self, a, b, columns=None):
        indices = range(len(a)) if columns is None else columns
        return all(self.equal(a[i], b[i]) for i in indices)


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(2)


def read(path):
    """(column count, rows) of a CSV file with a header row; cells stripped."""
    if not os.path.isfile(path):
        fail(f"{path}: no such file")
    with open(path, encoding="utf-8", newline="") as f:
        records = list(csv.reader(f))
    if not records:
        fail(f"{path}: empty (no header row)")
    width = len(records[0])
    rows = []
    for record in records[1:]:
        if not record:
            if width != 1:
                continue  # a stray blank line: not a row of a wider result
            record = [""]
        rows.append([cell.strip() for cell in record])
    return width, rows


def sort_key(row):
    """Numbers before text, numbers by value: rows that are equal end up side by side."""
    return [(0, float(c), "") if NUMBER.match(c) else (1, 0.0, c) for c in row]


def multiset_diff(cells, expected, actual):
    """(missing, unexpected): expected rows with no equal actual row, and the leftover actual
    rows; both empty when the two lists hold the same rows in some order."""
    exp = sorted(expected, key=sort_key)
    act = sorted(actual, key=sort_key)
    if len(exp) == len(act) and all(cells.rows_equal(e, a) for e, a in zip(exp, act)):
        return [], []
    # Sorting can part rows that are equal only within the tolerance: match greedily.
    unused = list(act)
    missing = []
    for row in exp:
        for i, candidate in enumerate(unused):
            if cells.rows_equal(row, candidate):
                del unused[i]
                break
        else:
            missing.append(row)
    return missing, unused


def show(row):
    return ",".join(row)


def compare(cells, expected, actual, keys, limit):
    """A list of difference messages, empty when the results are equal."""
    problems = []
    if keys is None:
        missing, unexpected = multiset_diff(cells, expected, actual)
        for row in missing[:MAX_SHOWN]:
            problems.append(f"missing row: {show(row)}")
        for row in unexpected[:MAX_SHOWN]:
            problems.append(f"unexpected row: {show(row)}")
        return problems

    start = 0
    while start < len(expected):
        end = start + 1
        while end < len(expected) and cells.rows_equal(expected[start], expected[end], keys):
            end += 1
        run_exp, run_act = expected[start:end], actual[start:end]
        where = f"rows {start + 1}-{end}" if end - start > 1 else f"row {start + 1}"
        for offset, row in enumerate(run_act):
            if not cells.rows_equal(expected[start], row, keys):
                problems.append(
                    f"row {start + offset + 1}: sort keys differ (order or values):\n"
                    f"  expected {show(run_exp[offset])}\n  actual   {show(row)}"
                )
                break
        else:
            cut = limit is not None and len(expected) == limit and end == len(expected)
            if not cut:
                missing, unexpected = multiset_diff(cells, run_exp, run_act)
                if missing or unexpected:
                    if len(run_exp) == 1:
                        problems.append(
                            f"{where}:\n  expected {show(run_exp[0])}\n  actual   {show(run_act[0])}"
                        )
                    else:
                        lines = [f"{where} (tied sort keys, any order):"]
                        lines += [f"  missing    {show(r)}" for r in missing[:MAX_SHOWN]]
                        lines += [f"  unexpected {show(r)}" for r in unexpected[:MAX_SHOWN]]
                        problems.append("\n".join(lines))
        if len(problems) >= MAX_SHOWN:
            break
        start = end
    return problems


def main():
    parser = argparse.ArgumentParser(
        description="Checks an rsql TPC-H result CSV against an answer CSV.",
        epilog="See the top of this file for the rules.",
    )
    parser.add_argument("actual", help="the result to check (rsql's CSV)")
    parser.add_argument("expected", help="the answer (qNN.csv from answers.py)")
    parser.add_argument("--query", type=int, help="TPC-H query number (default: from EXPECTED's name)")
    parser.add_argument("--order", help="1-based output columns the ORDER BY sorts on, e.g. 2,1")
    parser.add_argument("--unordered", action="store_true", help="compare as multisets")
    parser.add_argument("--limit", type=int, help="the query's LIMIT")
    parser.add_argument("--rel", type=float, default=1e-6, help="relative tolerance (1e-6)")
    parser.add_argument("--abs", type=float, default=1e-9, help="absolute tolerance (1e-9)")
    args = parser.parse_args()

    query = args.query
    if query is None:
        match = re.match(r"^q(\d+)\.csv$", os.path.basename(args.expected))
        query = int(match.group(1)) if match else None
    if args.unordered:
        keys = None
    elif args.order is not None:
        try:
            keys = [int(c) - 1 for c in args.order.split(",") if c.strip()]
        except ValueError:
            parser.error(f"--order: not a list of column numbers: {args.order}")
        if any(k < 0 for k in keys):
            parser.error("--order: columns are numbered from 1")
    elif query in ORDER_KEYS:
        keys = ORDER_KEYS[query]
    else:
        parser.error("give --query, --order or --unordered (EXPECTED is not named qNN.csv)")
    limit = args.limit if args.limit is not None else LIMITS.get(query)

    exp_width, expected = read(args.expected)
    act_width, actual = read(args.actual)
    cells = Cells(args.rel, args.abs)
    label = f"q{query:02d}: " if query is not None else ""
    problems = []
    if act_width != exp_width:
        problems.append(f"{act_width} columns, expected {exp_width}")
    for number, row in enumerate(actual, 2):
        if len(row) != act_width:
            problems.append(f"{args.actual}:{number}: {len(row)} fields under a {act_width}-column header")
            break
    if keys is not None and any(k >= exp_width for k in keys):
        problems.append(f"sort key column out of range for {exp_width} columns")
    if len(actual) != len(expected):
        problems.append(f"{len(actual)} rows, expected {len(expected)}")
        if act_width == exp_width:
            missing, unexpected = multiset_diff(cells, expected, actual)
            problems += [f"missing row: {show(r)}" for r in missing[:MAX_SHOWN]]
            problems += [f"unexpected row: {show(r)}" for r in unexpected[:MAX_SHOWN]]
    if not problems:
        problems = compare(cells, expected, actual, keys, limit)
    if problems:
        print(f"{label}MISMATCH: {args.actual} vs {args.expected}")
        for problem in problems[:MAX_SHOWN]:
            print(problem)
        if len(problems) > MAX_SHOWN:
            print("...")
        sys.exit(1)
    print(f"{label}ok ({len(actual)} rows)")


if __name__ == "__main__":
    main()
