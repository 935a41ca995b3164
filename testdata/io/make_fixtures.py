#!/usr/bin/env python3
"""Writes the small Parquet fixtures of rsql-io's tests (run from this folder).

- int96.parquet: timestamps stored as INT96, as Spark 2.x wrote them.
- plain_schema_dict.parquet: a dictionary-encoded string column in a file without an embedded
  Arrow schema (as non-Arrow writers such as Spark produce).
"""

import datetime

import pyarrow as pa
import pyarrow.parquet as pq

ts = pa.array([datetime.datetime(2017, 9, 17, 1, 0, 0), datetime.datetime(2017, 9, 17, 23, 59, 59), None],
              type=pa.timestamp("us"))
pq.write_table(pa.table({"ts": ts, "id": [1, 2, 3]}), "int96.parquet",
               use_deprecated_int96_timestamps=True, store_schema=False)
pq.write_table(pa.table({"s": ["x", "y", "x", None]}), "plain_schema_dict.parquet",
               use_dictionary=True, store_schema=False)
