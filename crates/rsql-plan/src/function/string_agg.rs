//! The string-concatenating aggregates' names and call shapes, which the binder and the
//! DataFrame builders need without the execution layer: `listagg` and `string_agg` (Spark; no
//! separator by default), `group_concat` (DuckDB, MySQL; `,` by default), and the form an
//! order binds to, `string_agg(x, sep ORDER BY k)` or `listagg(x, sep) WITHIN GROUP (ORDER BY
//! k)`: the aggregate [`ORDERED_STRING_AGG`]`(x, sep, order, k1, k2, ..)`, whose `order` is a
//! string constant naming each key's direction (see [`order_spec`]).

use datafusion_common::ScalarValue;

use crate::expr::{Expr, SortExpr};

/// The aggregate ordered concatenations bind to.
pub const ORDERED_STRING_AGG: &str = "string_agg_ordered";

/// The separator a call of `name` without one uses, if `name` concatenates strings: nothing for
/// Spark's `listagg` and `string_agg`, `,` for `group_concat`.
pub fn default_separator(name: &str) -> Option<&'static str> {
    match name {
        "listagg" | "string_agg" => Some(""),
        "group_concat" => Some(","),
        _ => None,
    }
}

/// The arguments of [`ORDERED_STRING_AGG`] concatenating `x` with `separator` in the order of
/// `order_by`.
pub fn ordered_string_agg_args(x: Expr, separator: Expr, order_by: Vec<SortExpr>) -> Vec<Expr> {
    let spec = order_by
        .iter()
        .map(|key| order_spec(key.asc, key.nulls_first))
        .collect::<Vec<_>>()
        .join(", ");
    [x, separator, Expr::Literal(ScalarValue::Utf8(Some(spec)))]
        .into_iter()
        .chain(order_by.into_iter().map(|key| key.expr))
        .collect()
}

/// How one key's direction is written in the `order` argument.
pub fn order_spec(asc: bool, nulls_first: bool) -> &'static str {
    match (asc, nulls_first) {
        (true, true) => "ASC NULLS FIRST",
        (true, false) => "ASC NULLS LAST",
        (false, true) => "DESC NULLS FIRST",
        (false, false) => "DESC NULLS LAST",
    }
}

/// The `(asc, nulls_first)` of each key of an `order` argument; `None` if it is not one.
pub fn parse_order_spec(spec: &str) -> Option<Vec<(bool, bool)>> {
    spec.split(',')
        .map(|key| {
            [(true, true), (true, false), (false, true), (false, false)]
                .into_iter()
                .find(|&(asc, nulls_first)| key.trim() == order_spec(asc, nulls_first))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::col;

    #[test]
    fn order_specs_round_trip() {
        let args = ordered_string_agg_args(
            col("x"),
            Expr::Literal(ScalarValue::Utf8(Some(",".into()))),
            vec![
                SortExpr::new(col("a"), true, true),
                SortExpr::new(col("b"), false, false),
            ],
        );
        assert_eq!(args.len(), 5);
        let Expr::Literal(ScalarValue::Utf8(Some(spec))) = &args[2] else {
            panic!("no spec: {:?}", args[2])
        };
        assert_eq!(spec, "ASC NULLS FIRST, DESC NULLS LAST");
        assert_eq!(
            parse_order_spec(spec),
            Some(vec![(true, true), (false, false)])
        );
        assert_eq!(parse_order_spec("sideways"), None);
    }
}
