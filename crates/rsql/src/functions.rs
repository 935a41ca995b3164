//! Builders for the SQL functions, for DataFrame expressions: `count(col("x"))`,
//! `window(col("ts"), "1 hour")`, `concat_ws("|", [..])`. Each builds the same call SQL binds.

use rsql_plan::function::{ORDERED_STRING_AGG, ordered_string_agg_args};
use rsql_plan::{Expr, SortExpr, lit};

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
    /// Sample standard deviation of `x` (as `stddev_samp`).
    aggregate stddev(x);
    /// Sample standard deviation of `x`; NULL for fewer than two values.
    aggregate stddev_samp(x);
    /// Population standard deviation of `x`.
    aggregate stddev_pop(x);
    /// Sample variance of `x` (as `var_samp`).
    aggregate variance(x);
    /// Sample variance of `x`; NULL for fewer than two values.
    aggregate var_samp(x);
    /// Population variance of `x`.
    aggregate var_pop(x);
    /// Sample covariance of `a` and `b`, over the rows where neither is NULL.
    aggregate covar_samp(a, b);
    /// Population covariance of `a` and `b`, over the rows where neither is NULL.
    aggregate covar_pop(a, b);
    /// Pearson's correlation of `a` and `b`, over the rows where neither is NULL.
    aggregate corr(a, b);
    /// Slope of the least-squares line of `y` over `x`.
    aggregate regr_slope(y, x);
    /// Intercept of the least-squares line of `y` over `x`.
    aggregate regr_intercept(y, x);
    /// Coefficient of determination of the least-squares line of `y` over `x`.
    aggregate regr_r2(y, x);
    /// Rows where neither `y` nor `x` is NULL.
    aggregate regr_count(y, x);
    /// Mean of `x` over the rows where neither `y` nor `x` is NULL.
    aggregate regr_avgx(y, x);
    /// Mean of `y` over the rows where neither `y` nor `x` is NULL.
    aggregate regr_avgy(y, x);
    /// Sum of squared deviations of `x` (rows where neither is NULL).
    aggregate regr_sxx(y, x);
    /// Sum of squared deviations of `y` (rows where neither is NULL).
    aggregate regr_syy(y, x);
    /// Sum of products of the deviations of `x` and `y` (rows where neither is NULL).
    aggregate regr_sxy(y, x);
    /// Rows where the boolean `b` is true.
    aggregate count_if(b);
    /// Whether every non-null `b` is true.
    aggregate bool_and(b);
    /// Whether every non-null `b` is true (as `bool_and`).
    aggregate every(b);
    /// Whether some `b` is true.
    aggregate bool_or(b);
    /// Whether some `b` is true (as `bool_or`).
    aggregate some(b);
    /// `x` of some row of the group, NULL included.
    aggregate any_value(x);
    /// `x` of the row with the largest non-null `ord`.
    aggregate max_by(x, ord);
    /// `x` of the row with the smallest non-null `ord`.
    aggregate min_by(x, ord);
    /// The most frequent non-null `x`; ties go to the smallest value.
    aggregate mode(x);
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
    /// The number of elements of array (or entries of map) `a`; NULL for NULL.
    scalar size(a);
    /// Whether array `a` holds `value` (NULL if not but it holds a NULL).
    scalar array_contains(a, value);
    /// The 1-based position of `value` in array `a`, 0 if absent.
    scalar array_position(a, value);
    /// The distinct elements of array `a`, in first-seen order.
    scalar array_distinct(a);
    /// Array `a` sorted ascending, NULLs last.
    scalar array_sort(a);
    /// The smallest non-NULL element of array `a`.
    scalar array_min(a);
    /// The largest non-NULL element of array `a`.
    scalar array_max(a);
    /// Element `key` of array `a` (1-based, negative from the end) or the value of map `a` at
    /// `key`; NULL when out of range or missing.
    scalar element_at(a, key);
    /// The inner arrays of array `a` concatenated.
    scalar flatten(a);
    /// The keys of map `m`, as an array.
    scalar map_keys(m);
    /// The values of map `m`, as an array.
    scalar map_values(m);
    /// The entries of map `m`, as an array of `struct<key, value>`.
    scalar map_entries(m);
    /// Whether map `m` has the key `key`.
    scalar map_contains_key(m, key);
    /// A map pairing the elements of arrays `keys` and `values`; a key twice is an error.
    scalar map_from_arrays(keys, values);
    /// The value at JSON path `path` (`$.a.b[0]`) in JSON text `json`: a string's text, else
    /// compact JSON; NULL when missing or not JSON.
    scalar get_json_object(json, path);
    /// Struct, map or array `v` as JSON text, NULL fields left out.
    scalar to_json(v);
    /// One row per element of array `a` (`col`), or per entry of map `a` (`key`, `value`),
    /// the other selected columns repeated; only as a whole `select` item.
    scalar explode(a);
    /// As [`explode`], keeping rows whose array is NULL or empty once, with NULLs.
    scalar explode_outer(a);
    /// As [`explode`], with each element's 0-based position (`pos`) first.
    scalar posexplode(a);
    /// As [`posexplode`], keeping rows whose array is NULL or empty once, with NULLs.
    scalar posexplode_outer(a);
}

/// `array(values..)`: an array of the values, cast to their common type.
pub fn array(values: impl IntoIterator<Item = Expr>) -> Expr {
    call("array", values)
}

/// `map(k1, v1, k2, v2, ..)`: a map of the key/value pairs.
pub fn map(pairs: impl IntoIterator<Item = (Expr, Expr)>) -> Expr {
    call("map", pairs.into_iter().flat_map(|(k, v)| [k, v]))
}

/// `map_concat(maps..)`: the entries of every map in order; NULL when one is NULL, an error
/// when a key appears twice.
pub fn map_concat(maps: impl IntoIterator<Item = Expr>) -> Expr {
    call("map_concat", maps)
}

/// `from_json(json, schema)`: JSON text read as the type `schema` names (`'a INT, b STRING'`
/// for a struct, or one type such as `'ARRAY<BIGINT>'`); NULL when it is not JSON or does not
/// fit.
pub fn from_json(json: Expr, schema: &str) -> Expr {
    call("from_json", [json, lit(schema)])
}

/// `sort_array(a, ascending)`: array `a` sorted, NULLs first when ascending, last otherwise.
pub fn sort_array(a: Expr, ascending: bool) -> Expr {
    call("sort_array", [a, lit(ascending)])
}

/// `array_join(a, separator)`: the elements of array `a` as text joined by `separator`,
/// skipping NULLs.
pub fn array_join(a: Expr, separator: &str) -> Expr {
    call("array_join", [a, lit(separator)])
}

/// `slice(a, start, length)`: `length` elements of array `a` from the 1-based `start`
/// (counted from the end when negative).
pub fn slice(a: Expr, start: i64, length: i64) -> Expr {
    call("slice", [a, lit(start), lit(length)])
}

/// Every row: `count(*)`.
pub fn count_star() -> Expr {
    call_aggregate("count", [])
}

/// `x` of the group's first row (as the rows arrive, or in a window's order); skipping NULLs
/// if `ignore_nulls`, as `first(x) IGNORE NULLS`.
pub fn first(x: Expr, ignore_nulls: bool) -> Expr {
    positional("first", x, ignore_nulls)
}

/// `x` of the group's last row; skipping NULLs if `ignore_nulls`, as `last(x) IGNORE NULLS`.
pub fn last(x: Expr, ignore_nulls: bool) -> Expr {
    positional("last", x, ignore_nulls)
}

/// `name(x)`, or `name(x, true)` to ignore NULLs.
fn positional(name: &str, x: Expr, ignore_nulls: bool) -> Expr {
    let flag = ignore_nulls.then(|| lit(true));
    call_aggregate(name, std::iter::once(x).chain(flag))
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

/// The number of distinct non-null values of `x`, estimated with HyperLogLog to the relative
/// standard deviation `relative_sd` (Spark's default 0.05 if `None`): see
/// `approx_count_distinct` in the SQL guide for the error bound.
pub fn approx_count_distinct(x: Expr, relative_sd: Option<f64>) -> Expr {
    call_aggregate(
        "approx_count_distinct",
        std::iter::once(x).chain(relative_sd.map(lit)),
    )
}

/// A value of `x` whose rank is close to `fraction` of the non-null values, from a sketch of
/// level capacity `accuracy` (Spark's default 10000 if `None`): see `approx_percentile` in the
/// SQL guide for the error bound.
pub fn approx_percentile(x: Expr, fraction: f64, accuracy: Option<i64>) -> Expr {
    call_aggregate(
        "approx_percentile",
        [x, lit(fraction)].into_iter().chain(accuracy.map(lit)),
    )
}

/// The non-null values of `x` as text joined by `separator`, in the order rows arrive
/// (`string_agg(x, separator)`).
pub fn string_agg(x: Expr, separator: &str) -> Expr {
    call_aggregate("string_agg", [x, lit(separator)])
}

/// The non-null values of `x` as text joined by `separator`, in the order of `order_by`
/// (`string_agg(x, separator ORDER BY ..)`).
pub fn string_agg_ordered(x: Expr, separator: &str, order_by: Vec<SortExpr>) -> Expr {
    call_aggregate(
        ORDERED_STRING_AGG,
        ordered_string_agg_args(x, lit(separator), order_by),
    )
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, AsArray, RecordBatch};
    use arrow::compute::concat_batches;
    use arrow::datatypes::{Float64Type, Int64Type};

    use super::*;
    use crate::{Session, col};

    fn collect_one(frame: &crate::DataFrame) -> RecordBatch {
        let batches = frame.collect().unwrap();
        concat_batches(&frame.schema(), &batches).unwrap()
    }

    /// The statistics of `statistics.slt`'s first group ('a': x 1..4, y 2, 4.5, 5.5, 9),
    /// whose answers DuckDB 2.0.1 computed.
    #[test]
    fn statistics_and_boolean_builders_bind_as_sql_does() {
        let session = Session::new().unwrap();
        let t = session
            .sql(
                "SELECT * FROM (VALUES ('a', 1, 2.0E0), ('a', 2, 4.5E0), ('a', 3, 5.5E0), \
                 ('a', 4, 9.0E0), ('b', NULL, NULL)) AS t(g, x, y)",
            )
            .unwrap();
        let out = t
            .group_by([col("g")])
            .agg([
                stddev_samp(col("x")),
                var_pop(col("y")),
                covar_samp(col("x"), col("y")),
                corr(col("x"), col("y")),
                regr_slope(col("y"), col("x")),
                regr_count(col("y"), col("x")),
                count_if(col("x").gt(lit(2))),
                bool_and(col("x").gt(lit(0))),
                max_by(col("y"), col("x")),
                first(col("y"), true),
            ])
            .unwrap()
            .sort([rsql_plan::SortExpr::new(col("g"), true, false)])
            .unwrap();
        let batch = collect_one(&out);
        let float = |c: usize| batch.column(c).as_primitive::<Float64Type>().clone();
        let close = |c: usize, want: f64| {
            let got = float(c).value(0);
            assert!((got - want).abs() < 1e-6, "column {c}: {got} != {want}");
        };
        close(1, 1.290994);
        close(2, 6.3125);
        close(3, 3.666667);
        close(4, 0.978987);
        close(5, 2.2);
        let count = |c: usize| batch.column(c).as_primitive::<Int64Type>().value(1);
        assert_eq!(batch.column(6).as_primitive::<Int64Type>().value(0), 4);
        assert_eq!(count(6), 0, "no pairs in 'b'");
        assert_eq!(count(7), 0, "no true x > 2 in 'b'");
        assert!(batch.column(8).as_boolean().value(0));
        assert_eq!(float(9).value(0), 9.0);
        assert_eq!(float(10).value(0), 2.0, "one partition, read in order");
        assert!(float(9).is_null(1) && float(10).is_null(1) && float(1).is_null(1));
    }

    /// Answers by hand: the maps' entries in order, and an error naming the repeated key.
    #[test]
    fn map_concat_joins_maps_and_rejects_a_repeated_key() {
        let session = Session::new().unwrap();
        let joined = map_concat([map([(col("k1"), lit(1))]), map([(col("k2"), lit(2))])]);
        let frame = |sql: &str| session.sql(sql).unwrap().select([joined.clone()]).unwrap();
        let batch = collect_one(&frame("SELECT 'a' AS k1, 'b' AS k2"));
        let keys = batch.column(0).as_map().keys().clone();
        let keys: Vec<&str> = keys.as_string::<i32>().iter().flatten().collect();
        assert_eq!(keys, ["a", "b"]);
        let err = frame("SELECT 'c' AS k1, 'c' AS k2").collect().unwrap_err();
        assert!(
            err.to_string()
                .contains("map_concat: duplicate map key c was found"),
            "{err}"
        );
    }

    /// Answers by hand: the JSON builders bind as the SQL functions do.
    #[test]
    fn json_builders_read_and_write_json() {
        let session = Session::new().unwrap();
        let t = session
            .sql(r#"SELECT '{"a": {"b": [7, 8]}, "c": "x"}' AS j"#)
            .unwrap();
        let out = t
            .select([
                get_json_object(col("j"), lit("$.a.b[1]")),
                to_json(from_json(col("j"), "a STRUCT<b ARRAY<INT>>")),
            ])
            .unwrap();
        let batch = collect_one(&out);
        let text = |c: usize| batch.column(c).as_string::<i32>().value(0).to_string();
        assert_eq!(text(0), "8");
        assert_eq!(text(1), r#"{"a":{"b":[7,8]}}"#);
    }

    /// Answers by hand: 'a' has x 3, 1, 2, 2 (ranks of the median: 1 2 2 3, the second is 2),
    /// 'b' only NULL.
    #[test]
    fn approximate_mode_and_string_builders_bind_as_sql_does() {
        let session = Session::new().unwrap();
        let t = session
            .sql(
                "SELECT * FROM (VALUES ('a', 3, 'z'), ('a', 1, 'x'), ('a', 2, 'y'),                  ('a', 2, NULL), ('b', NULL, NULL)) AS t(g, x, s)",
            )
            .unwrap();
        let out = t
            .group_by([col("g")])
            .agg([
                approx_count_distinct(col("x"), None),
                approx_count_distinct(col("s"), Some(0.01)),
                approx_percentile(col("x"), 0.5, None),
                approx_percentile(col("x"), 1.0, Some(100)),
                mode(col("x")),
                string_agg_ordered(
                    col("s"),
                    "+",
                    vec![rsql_plan::SortExpr::new(col("x"), false, false)],
                ),
            ])
            .unwrap()
            .sort([rsql_plan::SortExpr::new(col("g"), true, false)])
            .unwrap();
        let batch = collect_one(&out);
        let int = |c: usize| batch.column(c).as_primitive::<Int64Type>().clone();
        assert_eq!(int(1).values(), &[3, 0]);
        assert_eq!(int(2).values(), &[3, 0]);
        assert_eq!(
            (int(3).value(0), int(4).value(0), int(5).value(0)),
            (2, 3, 2)
        );
        assert!(int(3).is_null(1) && int(5).is_null(1));
        let text = batch.column(6).as_string::<i32>();
        assert_eq!(text.value(0), "z+y+x");
        assert!(text.is_null(1));
    }

    /// Answers by hand: ids 1 and 2 with arrays [3, 1, 3] and NULL.
    #[test]
    fn array_builders_and_explode_bind_as_sql_does() {
        let session = Session::new().unwrap();
        let t = session
            .sql("SELECT * FROM (VALUES (1, [3, 1, 3]), (2, NULL)) AS t(id, a)")
            .unwrap();
        let out = t
            .select([
                col("id"),
                size(col("a")),
                array_contains(col("a"), lit(1)),
                element_at(col("a"), lit(-1)),
                array_join(sort_array(array_distinct(col("a")), false), "/"),
                slice(col("a"), 2, 5),
                element_at(map([(lit("k"), col("id"))]), lit("k")),
                array([col("id"), lit(7)]),
            ])
            .unwrap()
            .sort([rsql_plan::SortExpr::new(col("id"), true, false)])
            .unwrap();
        let batch = collect_one(&out);
        let int32 = batch
            .column(1)
            .as_primitive::<arrow::datatypes::Int32Type>();
        assert_eq!((int32.value(0), int32.is_null(1)), (3, true));
        assert!(batch.column(2).as_boolean().value(0) && batch.column(2).is_null(1));
        assert_eq!(batch.column(3).as_primitive::<Int64Type>().value(0), 3);
        assert_eq!(batch.column(4).as_string::<i32>().value(0), "3/1");
        let sliced = batch.column(5).as_list::<i32>().value(0);
        assert_eq!(sliced.as_primitive::<Int64Type>().values(), &[1, 3]);
        assert_eq!(
            batch.column(6).as_primitive::<Int64Type>().values(),
            &[1, 2]
        );
        let built = batch.column(7).as_list::<i32>().value(1);
        assert_eq!(built.as_primitive::<Int64Type>().values(), &[2, 7]);

        let exploded = t
            .select([col("id"), posexplode_outer(col("a"))])
            .unwrap()
            .sort([
                rsql_plan::SortExpr::new(col("id"), true, false),
                rsql_plan::SortExpr::new(col("pos"), true, false),
            ])
            .unwrap();
        let batch = collect_one(&exploded);
        let names: Vec<&str> = batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["id", "pos", "col"]);
        let ids = batch.column(0).as_primitive::<Int64Type>();
        assert_eq!(ids.values(), &[1, 1, 1, 2]);
        let elements: Vec<Option<i64>> =
            batch.column(2).as_primitive::<Int64Type>().iter().collect();
        assert_eq!(elements, [Some(3), Some(1), Some(3), None]);
    }
}
