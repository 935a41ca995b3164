//! The optimizer on the 22 TPC-H queries over the TPC-H schema at scale factor 1 (row counts
//! and file sizes as table statistics): no plan joins two relations without a condition (a join against the
//! one row of an aggregate without `GROUP BY` aside), and the join orders picked for Q5, Q8,
//! Q9 and Q21 are pinned.

use std::path::Path;
use std::sync::Arc;

use arrow_schema::SchemaRef;
use datafusion_common::JoinType;
use rsql_plan::plan::Join;
use rsql_plan::{
    Catalog, FunctionRegistry, LogicalPlan, Optimizer, PathRequest, PlanError, Result,
    SchemaSource, Statement, TableSource, bind_sql,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow, RegionArrow,
    SupplierArrow,
};

/// The TPC-H tables with their scale factor 1 row counts.
struct TpchCatalog;

impl Catalog for TpchCatalog {
    fn table(&self, name: &str) -> Option<Arc<dyn TableSource>> {
        // Rows at scale factor 1, and the bytes of the Parquet files `tpchgen-cli` writes.
        let (schema, rows, bytes): (SchemaRef, usize, usize) = match name {
            "lineitem" => (LineItemArrow::schema_ref(), 6_001_215, 231_676_183),
            "orders" => (OrderArrow::schema_ref(), 1_500_000, 63_493_807),
            "partsupp" => (PartSuppArrow::schema_ref(), 800_000, 44_831_456),
            "part" => (PartArrow::schema_ref(), 200_000, 6_904_599),
            "customer" => (CustomerArrow::schema_ref(), 150_000, 13_928_381),
            "supplier" => (SupplierArrow::schema_ref(), 10_000, 906_447),
            "nation" => (NationArrow::schema_ref(), 25, 7_490),
            "region" => (RegionArrow::schema_ref(), 5, 5_893),
            _ => return None,
        };
        Some(Arc::new(
            SchemaSource::new(schema, vec![])
                .with_num_rows(rows)
                .with_total_bytes(bytes),
        ))
    }

    fn resolve_path(&self, request: &PathRequest) -> Result<Arc<dyn TableSource>> {
        Err(PlanError::invalid(format!(
            "no path {} in TPC-H",
            request.first_path()
        )))
    }
}

fn optimized(query: usize) -> LogicalPlan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../benches/tpch/queries/q{query:02}.sql"));
    let sql = std::fs::read_to_string(&path).unwrap();
    let registry = FunctionRegistry::new();
    let plan = match bind_sql(sql.trim().trim_end_matches(';'), &TpchCatalog, &registry) {
        Ok(Statement::Query(plan)) => plan,
        other => panic!("Q{query} does not bind: {other:?}"),
    };
    Optimizer::new()
        .optimize(plan, &registry)
        .unwrap_or_else(|e| panic!("Q{query} does not optimize: {e}"))
}

/// Whether `plan` returns exactly one row: an aggregate without `GROUP BY`, through aliases
/// and projections.
fn one_row(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Aggregate(a) => a.group_exprs.is_empty(),
        LogicalPlan::Projection(_) | LogicalPlan::SubqueryAlias(_) | LogicalPlan::Filter(_) => {
            one_row(plan.inputs()[0])
        }
        _ => false,
    }
}

/// The first table a relation reads (its name, or its alias), to name it in join orders.
fn relation_name(plan: &LogicalPlan) -> String {
    match plan {
        LogicalPlan::TableScan(scan) => scan.table_name.to_string(),
        LogicalPlan::SubqueryAlias(alias) if !alias.alias.table().starts_with("__sq_") => {
            alias.alias.to_string()
        }
        other => other
            .inputs()
            .first()
            .map_or_else(|| "?".to_string(), |input| relation_name(input)),
    }
}

/// The joins of `plan` as nested pairs of relation names: `(lineitem ⋈ orders)`.
fn join_order(plan: &LogicalPlan) -> String {
    match plan {
        LogicalPlan::Join(Join {
            left,
            right,
            join_type,
            ..
        }) => {
            let symbol = match join_type {
                JoinType::Inner => "⋈",
                JoinType::Left => "⟕",
                JoinType::LeftSemi => "⋉",
                JoinType::LeftAnti => "▷",
                JoinType::LeftMark => "mark",
                _ => "?",
            };
            format!("({} {symbol} {})", join_order(left), join_order(right))
        }
        LogicalPlan::TableScan(_) => relation_name(plan),
        LogicalPlan::SubqueryAlias(alias) if !contains_join(&alias.input) => relation_name(plan),
        other => match other.inputs().as_slice() {
            [input] => join_order(input),
            _ => relation_name(other),
        },
    }
}

fn contains_join(plan: &LogicalPlan) -> bool {
    matches!(plan, LogicalPlan::Join(_)) || plan.inputs().iter().any(|i| contains_join(i))
}

/// The joins without an equality between their sides.
fn cross_products(plan: &LogicalPlan, found: &mut Vec<String>) {
    if let LogicalPlan::Join(join) = plan
        && join.on.is_empty()
        && !(one_row(&join.left) || one_row(&join.right))
    {
        found.push(format!(
            "{} with {}",
            join_order(&join.left),
            join_order(&join.right)
        ));
    }
    for input in plan.inputs() {
        cross_products(input, found);
    }
}

#[test]
fn no_tpch_plan_joins_without_a_condition() {
    for query in 1..=22 {
        let mut found = Vec::new();
        cross_products(&optimized(query), &mut found);
        assert!(found.is_empty(), "Q{query} has cross products: {found:?}");
    }
}

#[test]
fn join_orders_are_pinned() {
    let orders: Vec<String> = [5, 8, 9, 21]
        .into_iter()
        .map(|q| format!("Q{q}: {}", join_order(&optimized(q))))
        .collect();
    // Broadcast-sized dimensions join their filtered neighbours first (supplier with nation,
    // with region through nation) and the fact table probes them before any shuffle; the
    // larger sides (orders, customer) come after, once the fact rows are few.
    assert_eq!(
        orders,
        vec![
            "Q5: ((lineitem ⋈ (supplier ⋈ (nation ⋈ region))) ⋈ (orders ⋈ customer))",
            "Q8: (((lineitem ⋈ part) ⋈ (orders ⋈ (customer ⋈ (n1 ⋈ region)))) ⋈ (supplier ⋈ n2))",
            "Q9: ((((lineitem ⋈ part) ⋈ (supplier ⋈ nation)) ⋈ orders) ⋈ partsupp)",
            "Q21: ((((l1 ⋈ (supplier ⋈ nation)) ⋈ orders) ⋉ l2) ▷ l3)",
        ]
    );
}
