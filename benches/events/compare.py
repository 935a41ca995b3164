#!/usr/bin/env python3
"""Checks that two output directories of the events job hold the same set of records.

Usage: python compare.py EXPECTED ACTUAL

EXPECTED and ACTUAL are output directories (or single files). Every regular file in a
directory is read as NDJSON except bookkeeping files (names starting with `_` or `.`, and
`*.crc`). Each line is parsed and re-serialised with sorted keys, so key order and whitespace
do not matter; the two multisets of records must be equal. Exits 0 when
they are, 1 with a short summary of the differences (or a missing path, or a line that is not
JSON) when not, 2 on usage errors.
"""

import json
import os
import sys
from collections import Counter


def data_files(path):
    """`path` itself if it is a file, else the data files below it."""
    if os.path.isfile(path):
        yield path
        return
    if not os.path.isdir(path):
        raise SystemExit(f"{path}: no such file or directory")
    for folder, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith(("_", "."))]
        for name in sorted(names):
            if not name.startswith(("_", ".")) and not name.endswith(".crc"):
                yield os.path.join(folder, name)


def records(path):
    """The multiset of canonical records in the data files of `path`."""
    found = Counter()
    for name in data_files(path):
        with open(name, encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise SystemExit(f"{name}:{number}: not JSON: {error}")
                found[json.dumps(record, sort_keys=True, separators=(",", ":"))] += 1
    return found


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    expected, actual = records(sys.argv[1]), records(sys.argv[2])
    if expected == actual:
        print(f"equal: {sum(expected.values())} records")
        return 0
    missing, extra = expected - actual, actual - expected
    print(
        f"different: expected {sum(expected.values())} records, got {sum(actual.values())}; "
        f"{sum(missing.values())} missing, {sum(extra.values())} unexpected"
    )
    for label, diff in (("missing", missing), ("unexpected", extra)):
        for record in sorted(diff)[:3]:
            print(f"  {label}: {record}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
