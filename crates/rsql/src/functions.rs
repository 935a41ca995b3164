//! Builders for the SQL functions, for DataFrame expressions: `count(col("x"))`,
//! `window(col("ts"), "1 hour")`, `concat_ws("|", [..])`. Each builds the same call SQL binds.

use rsql_plan::{Expr, lit};

/// A call of the scalar function `name` (built-in or registered UDF).
pub fn call(name: &str, args: impl IntoIterator<Item = Expr>) -> Expr {
    Expr::ScalarFunction {
        name: name.to_string(),
        args: args.into_iter().collect(),
    }
}

/// A call of the aggregate function `name` (built-in or registered UDAF).
pub fn call_aggregate(name: &str, args: impl IntoIterator<Item = Expr>) -> Expr {
    Expr::AggregateFunction {
        name: name.to_string(),
        args: args.into_iter().collect(),
        distinct: false,
    }
}

/// Defines builders of functions with fixed arguments, each an expression.
macro_rules! fixed_arity {
    ($($(#[$doc:meta])* $kind:ident $name:ident($($arg:ident),*);)*) => {
        $(
            $(#[$doc])*
            pub fn $name($($arg: Expr),*) -> Expr {
                fixed_arity!(@call $kind, stringify!($name), vec![$($arg),*])
            }
        )*
    };
    (@call scalar, $name:expr, $args:expr) => { call($name, $args) };
    (@call aggregate, $name:expr, $args:expr) => { call_aggregate($name, $args) };
}

fixed_arity! {
    /// Rows where `x` is not null.
    aggregate count(x);
    /// Sum of `x`.
    aggregate sum(x);
    /// Average of `x`.
    aggregate avg(x);
    /// Smallest `x`.
    aggregate min(x);
    /// Largest `x`.
    aggregate max(x);
    /// Every `x` of the group, as a list.
    aggregate collect_list(x);
    /// The distinct values of `x`, as a list.
    aggregate collect_set(x);
    /// A map of each value of `x` to how many rows carry it.
    aggregate count_values(x);
    /// `x` in lower case.
    scalar lower(x);
    /// `x` in upper case.
    scalar upper(x);
    /// Characters in `x`.
    scalar length(x);
    /// `x` without leading and trailing spaces.
    scalar trim(x);
    /// `x` with every `from` replaced by `to`.
    scalar replace(x, from, to);
    /// Whether `x` starts with `prefix`.
    scalar starts_with(x, prefix);
    /// Whether `x` contains `part`.
    scalar contains(x, part);
    /// `to_timestamp(x)`: text parsed as a timestamp.
    scalar to_timestamp(x);
    /// The year of timestamp `x`.
    scalar year(x);
    /// The month of timestamp `x`.
    scalar month(x);
    /// The day of month of timestamp `x`.
    scalar day(x);
    /// The hour of timestamp `x`.
    scalar hour(x);
    /// Null when `a = b`, else `a`.
    scalar nullif(a, b);
}

/// Every row: `count(*)`.
pub fn count_star() -> Expr {
    call_aggregate("count", [])
}

/// Distinct non-null values of `x`: `count(DISTINCT x)`.
pub fn count_distinct(x: Expr) -> Expr {
    Expr::AggregateFunction {
        name: "count".to_string(),
        args: vec![x],
        distinct: true,
    }
}

/// The characters of `x` from 1-based `start`, `length` of them.
pub fn substring(x: Expr, start: i64, length: i64) -> Expr {
    call("substring", [x, lit(start), lit(length)])
}

/// The texts of `parts` joined.
pub fn concat(parts: impl IntoIterator<Item = Expr>) -> Expr {
    call("concat", parts)
}

/// The texts of `parts` joined by `separator`.
pub fn concat_ws(separator: &str, parts: impl IntoIterator<Item = Expr>) -> Expr {
    call("concat_ws", std::iter::once(lit(separator)).chain(parts))
}

/// The first non-null of `values`.
pub fn coalesce(values: impl IntoIterator<Item = Expr>) -> Expr {
    call("coalesce", values)
}

/// Timestamp `x` truncated to `unit` (`'hour'`, `'day'`, ...).
pub fn date_trunc(unit: &str, x: Expr) -> Expr {
    call("date_trunc", [lit(unit), x])
}

/// Timestamp `x` as text in Spark's pattern language (`yyyy-MM-dd'T'HH:mm:ss`).
pub fn date_format(x: Expr, pattern: &str) -> Expr {
    call("date_format", [x, lit(pattern)])
}

/// The tumbling window of `duration` (`'1 hour'`) holding timestamp `ts`: a struct with
/// `start` and `end`, as Spark's `window`.
pub fn window(ts: Expr, duration: &str) -> Expr {
    call("window", [ts, lit(duration)])
}

/// A struct with the given field names and values.
pub fn named_struct<'a>(fields: impl IntoIterator<Item = (&'a str, Expr)>) -> Expr {
    call(
        "named_struct",
        fields
            .into_iter()
            .flat_map(|(name, value)| [lit(name), value]),
    )
}
