#!/usr/bin/env python3
"""The events job on PySpark, DataFrame API (see shared/events-job.md for the record).

Usage: python spark_job.py INPUT_DIR OUTPUT_DIR

As in the talk: read the hive-partitioned Parquet directory, group by customer, url and the
one-hour window of `ts`, count page views and distinct sessions, count_values the referrers,
shape the records and `write.json`. The talk registered a Scala UDAF for count_values; Spark has
no such built-in, and its built-in equivalent is a second grouping by (group, referrer) whose
counts become a map with `map_from_entries(collect_list(struct(referrer, count)))`, joined to
the metrics on the group key. Everything stays inside the JVM (no Python UDFs).

Parallelism: local mode with 2 cores (`local[2]`, the benchmark machine's cores); driver memory
3g (local mode runs the executors inside the driver); the session time zone is UTC.
"""

import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

HOUR_FORMAT = "yyyy-MM-dd'T'HH:mm:ss"


def main():
    src, out = sys.argv[1], sys.argv[2]
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("events-job")
        .config("spark.driver.memory", "3g")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")

    df = spark.read.parquet(src)
    keys = ["customer", "url", "ts"]
    hour_start = F.window("ts", "1 hour").start
    events = df.select("customer", "url", "referrer", "session_id", hour_start.alias("ts"))

    metrics = events.groupBy(*keys).agg(
        F.count("*").alias("page_views"),
        F.countDistinct("session_id").alias("visitors"),
    )
    referrers = (
        events.groupBy(*keys, "referrer")
        .agg(F.count("*").alias("n"))
        .groupBy(*keys)
        .agg(F.map_from_entries(F.collect_list(F.struct("referrer", "n"))).alias("referrers"))
    )
    hour = F.date_format("ts", HOUR_FORMAT)
    records = metrics.join(referrers, keys).select(
        F.concat_ws("|", "url", "customer", hour).alias("_id"),
        "customer",
        "url",
        F.lit("1hour").alias("freq"),
        hour.alias("ts"),
        F.struct("page_views", "visitors").alias("metrics"),
        "referrers",
    )
    records.write.json(out)
    spark.stop()


if __name__ == "__main__":
    main()
