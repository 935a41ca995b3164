//! The events job written with the DataFrame API; shared by the example and its tests.

use anyhow::Result;
use rsql::functions::{
    concat_ws, count_distinct, count_star, count_values, date_format, named_struct, window,
};
use rsql::{DataFrame, Session, col, lit};

/// How the hour is printed in `ts` and `_id`.
const HOUR_FORMAT: &str = "yyyy-MM-dd'T'HH:mm:ss";

/// The job through the DataFrame API.
pub fn dataframe_job(session: &Session, input: &str) -> Result<DataFrame> {
    let events = session.read_parquet(input)?;
    // Group by the window struct and format its start once per group, not once per row.
    let grouped = events
        .group_by([
            col("customer"),
            col("url"),
            window(col("ts"), "1 hour").alias("window"),
        ])
        .agg([
            count_star().alias("page_views"),
            count_distinct(col("session_id")).alias("visitors"),
            count_values(col("referrer")).alias("referrers"),
        ])?;
    let hour = date_format(col("window").field("start"), HOUR_FORMAT);
    Ok(grouped.select([
        concat_ws("|", [col("url"), col("customer"), hour.clone()]).alias("_id"),
        col("customer"),
        col("url"),
        lit("1hour").alias("freq"),
        hour.alias("ts"),
        named_struct([
            ("page_views", col("page_views")),
            ("visitors", col("visitors")),
        ])
        .alias("metrics"),
        col("referrers"),
    ])?)
}
