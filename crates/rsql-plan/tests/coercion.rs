//! `coerce_expr` on expressions built in code inserts exactly the casts the SQL binder inserts,
//! changes nothing on bound expressions, and fails where the binder fails.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use datafusion_common::{DFSchema, ScalarValue};
use rsql_plan::function::count_values_type;
use rsql_plan::{
    Catalog, Expr, FunctionRegistry, LogicalPlan, PathRequest, PlanError, Result, SchemaSource,
    Statement, TableSource, bind_sql, coerce_expr, col, lit,
};

/// Table `x`: one column of each type the coercion rules care about.
fn schema() -> SchemaRef {
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let st = DataType::Struct(Fields::from(vec![Field::new("V", DataType::Int32, true)]));
    Arc::new(Schema::new(vec![
        Field::new("i32", DataType::Int32, true),
        Field::new("i64", DataType::Int64, true),
        Field::new("f32", DataType::Float32, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("dict_str", dict, true),
        Field::new("ts", ts, true),
        Field::new("d", DataType::Date32, true),
        Field::new("b", DataType::Boolean, true),
        Field::new("st", st, true),
        Field::new("m", count_values_type(&DataType::Utf8), true),
    ]))
}

struct OneTable;

impl Catalog for OneTable {
    fn table(&self, name: &str) -> Option<Arc<dyn TableSource>> {
        (name == "x").then(|| Arc::new(SchemaSource::new(schema(), vec![])) as _)
    }

    fn resolve_path(&self, request: &PathRequest) -> Result<Arc<dyn TableSource>> {
        Err(PlanError::invalid(format!(
            "no files under {}",
            request.first_path()
        )))
    }
}

/// The bound form of the one select item of `SELECT {item} FROM x` (the aggregate call, for an
/// aggregate).
fn bind_item(item: &str) -> Result<Expr> {
    let sql = format!("SELECT {item} FROM x");
    let Statement::Query(LogicalPlan::Projection(projection)) =
        bind_sql(&sql, &OneTable, &FunctionRegistry::new())?
    else {
        panic!("{sql} is not a projection");
    };
    Ok(match projection.input.as_ref() {
        LogicalPlan::Aggregate(aggregate) => aggregate.aggr_exprs[0].clone(),
        _ => projection.exprs[0].clone(),
    })
}

fn coerce(expr: Expr) -> Result<Expr> {
    let input = DFSchema::try_from_qualified_schema("x", &schema()).unwrap();
    coerce_expr(expr, &input, &FunctionRegistry::new())
}

fn scalar(name: &str, args: Vec<Expr>) -> Expr {
    Expr::ScalarFunction {
        name: name.to_string(),
        args,
    }
}

fn aggregate(name: &str, args: Vec<Expr>, distinct: bool) -> Expr {
    Expr::AggregateFunction {
        name: name.to_string(),
        args,
        distinct,
    }
}

/// SQL select items and the same expressions built without any coercion.
fn cases() -> Vec<(&'static str, Expr)> {
    let c = |name: &str| col(&format!("x.{name}"));
    vec![
        ("i32 + 1", c("i32") + lit(1i64)),
        ("i64 / i32 % 2", c("i64") / c("i32") % lit(2i64)),
        ("dict_str = 'a'", c("dict_str").eq(lit("a"))),
        (
            "concat(i32, 'x')",
            scalar("concat", vec![c("i32"), lit("x")]),
        ),
        ("upper(s) || i32", {
            scalar("concat", vec![scalar("Upper", vec![c("s")]), c("i32")])
        }),
        ("ts < '2017-09-17'", c("ts").lt(lit("2017-09-17"))),
        (
            "d >= '2017-01-01' OR NULL",
            c("d").gt_eq(lit("2017-01-01")).or(lit(ScalarValue::Null)),
        ),
        (
            "-f32 > i32 AND NOT b",
            (-c("f32")).gt(c("i32")).and(!c("b")),
        ),
        (
            // SQL's 2.5 is DECIMAL(2,1), as in Spark.
            "i32 IN (1, 2.5)",
            Expr::InList {
                expr: Box::new(c("i32")),
                list: vec![lit(1i64), lit(ScalarValue::Decimal128(Some(25), 2, 1))],
                negated: false,
            },
        ),
        (
            "dict_str NOT IN ('a', s)",
            Expr::InList {
                expr: Box::new(c("dict_str")),
                list: vec![lit("a"), c("s")],
                negated: true,
            },
        ),
        (
            "i64 NOT BETWEEN i32 AND 10.5",
            Expr::Between {
                expr: Box::new(c("i64")),
                negated: true,
                low: Box::new(c("i32")),
                high: Box::new(lit(ScalarValue::Decimal128(Some(105), 3, 1))),
            },
        ),
        (
            "CASE WHEN b THEN i32 WHEN i64 > 0 THEN NULL ELSE f32 END",
            Expr::Case {
                operand: None,
                when_then: vec![
                    (c("b"), c("i32")),
                    (c("i64").gt(lit(0i64)), lit(ScalarValue::Null)),
                ],
                else_expr: Some(Box::new(c("f32"))),
            },
        ),
        (
            "CASE dict_str WHEN 'a' THEN 1 WHEN s THEN i32 END",
            Expr::Case {
                operand: Some(Box::new(c("dict_str"))),
                when_then: vec![(lit("a"), lit(1i64)), (c("s"), c("i32"))],
                else_expr: None,
            },
        ),
        (
            "dict_str LIKE 'a%'",
            Expr::Like {
                negated: false,
                expr: Box::new(c("dict_str")),
                pattern: Box::new(lit("a%")),
                case_insensitive: false,
            },
        ),
        (
            "struct(i32, s AS name, i64 + 1)",
            scalar(
                "struct",
                vec![c("i32"), c("s").alias("name"), c("i64") + lit(1i64)],
            ),
        ),
        ("st.v + 1", c("st").field("v") + lit(1i64)),
        ("m[1]", c("m").map_get(lit(1i64))),
        (
            "coalesce(i32, i64, 0)",
            scalar("coalesce", vec![c("i32"), c("i64"), lit(0i64)]),
        ),
        (
            "date_format(window(ts, '1 hour').start, 'yyyy')",
            scalar(
                "date_format",
                vec![
                    scalar("window", vec![c("ts"), lit("1 hour")]).field("start"),
                    lit("yyyy"),
                ],
            ),
        ),
        ("sum(i32)", aggregate("sum", vec![c("i32")], false)),
        ("avg(i32 + 1)", {
            aggregate("avg", vec![c("i32") + lit(1i64)], false)
        }),
        ("count(*)", aggregate("count", vec![], false)),
        (
            "count(DISTINCT dict_str)",
            aggregate("count", vec![c("dict_str")], true),
        ),
        (
            "count_values(dict_str)",
            aggregate("COUNT_VALUES", vec![c("dict_str")], false),
        ),
        (
            "max(dict_str)",
            aggregate("max", vec![c("dict_str")], false),
        ),
    ]
}

#[test]
fn built_expressions_coerce_to_what_the_binder_binds() {
    for (sql, built) in cases() {
        // The select item is named after its SQL text; the expression under the name counts.
        let bound = bind_item(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .unalias();
        let coerced = coerce(built).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(
            coerced, bound,
            "{sql}:\n  coerced {coerced}\n  bound   {bound}"
        );
    }
}

#[test]
fn casts_are_inserted_where_types_differ_and_nowhere_else() {
    let i32 = col("x.i32");
    assert_eq!(
        coerce(i32.clone() + lit(1i64)).unwrap(),
        i32.clone().cast_to(DataType::Int64) + lit(1i64)
    );
    // Dictionary operands of comparisons stay encoded.
    let dict = col("x.dict_str");
    assert_eq!(
        coerce(dict.clone().eq(lit("a"))).unwrap(),
        dict.eq(lit("a"))
    );
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    assert_eq!(
        coerce(col("x.ts").lt(lit("2017-09-17"))).unwrap(),
        col("x.ts").lt(lit("2017-09-17").cast_to(ts))
    );
    assert_eq!(
        coerce(scalar("concat", vec![i32.clone(), lit("x")])).unwrap(),
        scalar("concat", vec![i32.cast_to(DataType::Utf8), lit("x")])
    );
}

#[test]
fn coercion_is_idempotent() {
    for (sql, built) in cases() {
        let bound = bind_item(sql).unwrap();
        assert_eq!(coerce(bound.clone()).unwrap(), bound, "{sql}");
        let once = coerce(built).unwrap();
        assert_eq!(coerce(once.clone()).unwrap(), once, "{sql}");
    }
}

#[test]
fn mismatches_fail_with_the_binders_message() {
    let c = |name: &str| col(&format!("x.{name}"));
    let cases = [
        ("s + b", c("s") + c("b")),
        ("NOT i32", !c("i32")),
        ("-s", -c("s")),
        (
            "i32 LIKE 'a%'",
            Expr::Like {
                negated: false,
                expr: Box::new(c("i32")),
                pattern: Box::new(lit("a%")),
                case_insensitive: false,
            },
        ),
        (
            "CASE WHEN i32 THEN 1 END",
            Expr::Case {
                operand: None,
                when_then: vec![(c("i32"), lit(1i64))],
                else_expr: None,
            },
        ),
        (
            "b IN (1, 2)",
            Expr::InList {
                expr: Box::new(c("b")),
                list: vec![lit(1i64), lit(2i64)],
                negated: false,
            },
        ),
        ("sum(s)", aggregate("sum", vec![c("s")], false)),
        ("m[b]", c("m").map_get(c("b"))),
    ];
    for (sql, built) in cases {
        let (
            PlanError::TypeMismatch {
                message: bound,
                position: Some(_),
            },
            PlanError::TypeMismatch {
                message: coerced,
                position: None,
            },
        ) = (bind_item(sql).unwrap_err(), coerce(built).unwrap_err())
        else {
            panic!("{sql}: not a type mismatch in both");
        };
        assert_eq!(coerced, bound, "{sql}");
    }
    let err = coerce(c("s") + lit(true)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "type mismatch: cannot apply '+' to Utf8 and Boolean"
    );
}

#[test]
fn nested_aggregates_and_unknown_functions_are_rejected() {
    let nested = aggregate(
        "sum",
        vec![aggregate("count", vec![col("x.i32")], false)],
        false,
    );
    assert_eq!(
        coerce(nested).unwrap_err().to_string(),
        "aggregate calls cannot be nested: count(x.i32)"
    );
    let err = coerce(scalar("uper", vec![col("x.s")])).unwrap_err();
    assert!(matches!(err, PlanError::UnknownFunction { .. }), "{err:?}");
}
