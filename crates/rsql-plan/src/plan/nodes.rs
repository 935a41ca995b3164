//! The node types of a logical plan and the constructors that compute their output schemas.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, FieldRef, Schema};
use datafusion_common::{DFSchema, DFSchemaRef, JoinType, TableReference};

use super::LogicalPlan;
use super::source::TableSourceRef;
use crate::error::{PlanError, Result};
use crate::expr::{Expr, SortExpr};
use crate::function::FunctionRegistry;

fn schema_of(fields: Vec<(Option<TableReference>, FieldRef)>) -> Result<DFSchemaRef> {
    DFSchema::new_with_metadata(fields, HashMap::new())
        .map(Arc::new)
        .map_err(|e| match e {
            datafusion_common::DataFusionError::SchemaError(inner, _) => {
                PlanError::invalid(format!("{inner}; give the columns distinct aliases"))
            }
            other => other.into(),
        })
}

/// Reads a table: only the `projection` columns (indices into the source schema, all when
/// `None`); `filters` are predicates pushed down for pruning (partitions, row groups), which the
/// scan may apply inexactly, so a `Filter` above keeps them exact; `fetch` caps the rows read.
#[derive(Debug, Clone)]
pub struct TableScan {
    /// The name the table is qualified by.
    pub table_name: TableReference,
    /// The table.
    pub source: TableSourceRef,
    /// Indices of the columns read, in output order.
    pub projection: Option<Vec<usize>>,
    /// The output schema: the projected columns, qualified by `table_name`.
    pub projected_schema: DFSchemaRef,
    /// Pushed-down predicates over the output columns.
    pub filters: Vec<Expr>,
    /// At most this many rows are needed.
    pub fetch: Option<usize>,
}

impl TableScan {
    /// A scan; fails if a projection index is out of range.
    pub fn try_new(
        table_name: impl Into<TableReference>,
        source: TableSourceRef,
        projection: Option<Vec<usize>>,
        filters: Vec<Expr>,
        fetch: Option<usize>,
    ) -> Result<Self> {
        let table_name = table_name.into();
        let full = source.schema();
        let projected = match &projection {
            Some(indices) => Arc::new(full.project(indices).map_err(|e| {
                PlanError::Internal(format!("bad scan projection {indices:?}: {e}"))
            })?),
            None => full,
        };
        let qualified = DFSchema::try_from_qualified_schema(table_name.clone(), &projected)?;
        Ok(TableScan {
            table_name,
            source,
            projection,
            projected_schema: Arc::new(qualified),
            filters,
            fetch,
        })
    }
}

/// Computes one output column per expression.
#[derive(Debug, Clone)]
pub struct Projection {
    /// The output expressions.
    pub exprs: Vec<Expr>,
    /// The input.
    pub input: Arc<LogicalPlan>,
    /// One field per expression.
    pub schema: DFSchemaRef,
}

impl Projection {
    /// A projection; fails on unknown columns or duplicate output names.
    pub fn try_new(
        exprs: Vec<Expr>,
        input: Arc<LogicalPlan>,
        registry: &FunctionRegistry,
    ) -> Result<Self> {
        let fields = exprs
            .iter()
            .map(|e| e.to_field(input.schema(), registry))
            .collect::<Result<Vec<_>>>()?;
        Ok(Projection {
            schema: schema_of(fields)?,
            exprs,
            input,
        })
    }
}

/// Keeps the rows for which `predicate` is true.
#[derive(Debug, Clone)]
pub struct Filter {
    /// A boolean expression over the input.
    pub predicate: Expr,
    /// The input; its schema is the output schema.
    pub input: Arc<LogicalPlan>,
}

impl Filter {
    /// A filter; fails unless the predicate is boolean.
    pub fn try_new(
        predicate: Expr,
        input: Arc<LogicalPlan>,
        registry: &FunctionRegistry,
    ) -> Result<Self> {
        match predicate.get_type(input.schema(), registry)? {
            DataType::Boolean | DataType::Null => Ok(Filter { predicate, input }),
            other => Err(PlanError::type_mismatch(format!(
                "a filter predicate must be boolean, got {other}: {predicate}"
            ))),
        }
    }
}

/// Groups rows by `group_exprs` and computes `aggr_exprs` per group; the output has the group
/// columns then the aggregate columns, named by [`Expr::output_name`].
#[derive(Debug, Clone)]
pub struct Aggregate {
    /// The input.
    pub input: Arc<LogicalPlan>,
    /// Grouping keys (none: one group over all rows).
    pub group_exprs: Vec<Expr>,
    /// Aggregate function calls (possibly aliased).
    pub aggr_exprs: Vec<Expr>,
    /// Group fields then aggregate fields.
    pub schema: DFSchemaRef,
}

impl Aggregate {
    /// An aggregate; fails if a group key contains an aggregate or an aggregate expression is
    /// not an aggregate call.
    pub fn try_new(
        input: Arc<LogicalPlan>,
        group_exprs: Vec<Expr>,
        aggr_exprs: Vec<Expr>,
        registry: &FunctionRegistry,
    ) -> Result<Self> {
        if let Some(bad) = group_exprs.iter().find(|e| e.contains_aggregate()) {
            return Err(PlanError::invalid(format!(
                "aggregate functions are not allowed in GROUP BY: {bad}"
            )));
        }
        if let Some(bad) = aggr_exprs
            .iter()
            .find(|e| !matches!(e.unaliased(), Expr::AggregateFunction { .. }))
        {
            return Err(PlanError::Internal(format!("not an aggregate call: {bad}")));
        }
        let fields = group_exprs
            .iter()
            .chain(&aggr_exprs)
            .map(|e| e.to_field(input.schema(), registry))
            .collect::<Result<Vec<_>>>()?;
        Ok(Aggregate {
            schema: schema_of(fields)?,
            input,
            group_exprs,
            aggr_exprs,
        })
    }

    /// For an aggregation of grouping sets (over an [`Expand`], grouped by its key columns and
    /// then its set number), the numbers of the empty sets `()`: each has one result row even
    /// without input rows (the grand total of an empty input, as in PostgreSQL and DuckDB),
    /// with every key NULL.
    pub fn empty_grouping_sets(&self) -> Vec<i64> {
        let LogicalPlan::Expand(expand) = self.input.as_ref() else {
            return Vec::new();
        };
        match self.group_exprs.last().map(Expr::unaliased) {
            Some(Expr::Column(c)) if c.name == GROUPING_ID_COLUMN => expand.empty_sets(),
            _ => Vec::new(),
        }
    }
}

/// Computes window functions over the input's rows: the output is every input column, then one
/// column per window expression, named by [`Expr::output_name`].
#[derive(Debug, Clone)]
pub struct Window {
    /// The input.
    pub input: Arc<LogicalPlan>,
    /// Window function calls (possibly aliased).
    pub window_exprs: Vec<Expr>,
    /// Input fields then window fields.
    pub schema: DFSchemaRef,
}

impl Window {
    /// A window node; fails unless every expression is a window call.
    pub fn try_new(
        input: Arc<LogicalPlan>,
        window_exprs: Vec<Expr>,
        registry: &FunctionRegistry,
    ) -> Result<Self> {
        if let Some(bad) = window_exprs
            .iter()
            .find(|e| !matches!(e.unaliased(), Expr::WindowFunction(_)))
        {
            return Err(PlanError::Internal(format!("not a window call: {bad}")));
        }
        let mut fields: Vec<(Option<TableReference>, FieldRef)> = input
            .schema()
            .iter()
            .map(|(qualifier, field)| (qualifier.cloned(), Arc::clone(field)))
            .collect();
        for expr in &window_exprs {
            fields.push(expr.to_field(input.schema(), registry)?);
        }
        Ok(Window {
            schema: schema_of(fields)?,
            input,
            window_exprs,
        })
    }
}

/// The ranking functions whose bound a [`WindowGroupLimit`] applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RankingFunction {
    /// `row_number()`: exactly the first `limit` rows of a partition pass.
    RowNumber,
    /// `rank()`: the rows with fewer than `limit` rows ordered strictly before them pass.
    Rank,
    /// `dense_rank()`: the rows holding one of the first `limit` distinct order values pass.
    DenseRank,
}

impl RankingFunction {
    /// The function's SQL name.
    pub fn name(self) -> &'static str {
        match self {
            RankingFunction::RowNumber => "row_number",
            RankingFunction::Rank => "rank",
            RankingFunction::DenseRank => "dense_rank",
        }
    }
}

/// Keeps, per `partition_by` key, only the rows whose `function` value over `order_by` could
/// be at most `limit` (Spark's `WindowGroupLimit`): a pre-filter below a `Window` whose
/// results are filtered by such a bound, so that the window sorts and ranks only those rows.
/// The rows it keeps are a superset of those passing the bound (ties broken any way), and the
/// `Filter` above the window stays.
#[derive(Debug, Clone)]
pub struct WindowGroupLimit {
    /// The input; its schema is the output schema.
    pub input: Arc<LogicalPlan>,
    /// The window's `PARTITION BY` keys.
    pub partition_by: Vec<Expr>,
    /// The window's `ORDER BY` keys.
    pub order_by: Vec<SortExpr>,
    /// The ranking function bounded.
    pub function: RankingFunction,
    /// The largest value of `function` a kept row may have (at least 1).
    pub limit: usize,
}

/// Orders rows; with `fetch`, only the first rows are needed (top-k).
#[derive(Debug, Clone)]
pub struct Sort {
    /// Sort keys, most significant first.
    pub exprs: Vec<SortExpr>,
    /// The input; its schema is the output schema.
    pub input: Arc<LogicalPlan>,
    /// Keep only this many rows.
    pub fetch: Option<usize>,
}

/// Skips `skip` rows, then keeps at most `fetch`.
#[derive(Debug, Clone)]
pub struct Limit {
    /// Rows to skip.
    pub skip: usize,
    /// Rows to keep after skipping (`None`: all).
    pub fetch: Option<usize>,
    /// The input; its schema is the output schema.
    pub input: Arc<LogicalPlan>,
}

/// Joins two inputs on equality of `on` pairs (left expression, right expression) and an
/// optional extra `filter`; an empty `on` without filter is a cross join.
#[derive(Debug, Clone)]
pub struct Join {
    /// Left input.
    pub left: Arc<LogicalPlan>,
    /// Right input.
    pub right: Arc<LogicalPlan>,
    /// Equi-join keys: expressions over left, over right.
    pub on: Vec<(Expr, Expr)>,
    /// A non-equi condition over both sides.
    pub filter: Option<Expr>,
    /// Inner, Left, Right, Full, LeftSemi, LeftAnti or LeftMark (every left row and a boolean
    /// `mark`: whether it has a match).
    pub join_type: JoinType,
    /// SQL's `IN` semantics on the one key of a `LeftAnti` (`NOT IN`) or `LeftMark` join: a
    /// null right key, or a null left key against a non-empty right side, makes the comparison
    /// unknown (no row passes an anti join; the mark is NULL).
    pub null_aware: bool,
    /// Left fields then right fields (made nullable on the outer side(s)); only the left
    /// fields for semi and anti joins, and the mark (qualified as the right side) for mark
    /// joins.
    pub schema: DFSchemaRef,
}

impl Join {
    /// A join; fails for join types other than inner/left/right/full/left semi/left anti and
    /// duplicate qualified names.
    pub fn try_new(
        left: Arc<LogicalPlan>,
        right: Arc<LogicalPlan>,
        on: Vec<(Expr, Expr)>,
        filter: Option<Expr>,
        join_type: JoinType,
    ) -> Result<Self> {
        let fields = match join_type {
            JoinType::Inner => [side_fields(&left, false), side_fields(&right, false)].concat(),
            JoinType::Left => [side_fields(&left, false), side_fields(&right, true)].concat(),
            JoinType::Right => [side_fields(&left, true), side_fields(&right, false)].concat(),
            JoinType::Full => [side_fields(&left, true), side_fields(&right, true)].concat(),
            JoinType::LeftSemi | JoinType::LeftAnti => side_fields(&left, false),
            JoinType::LeftMark => {
                let qualifier = right.schema().iter().next().and_then(|(q, _)| q.cloned());
                let mark = Arc::new(Field::new("mark", DataType::Boolean, true));
                [side_fields(&left, false), vec![(qualifier, mark)]].concat()
            }
            other => return Err(PlanError::not_supported(format!("{other} join"))),
        };
        Ok(Join {
            schema: schema_of(fields)?,
            left,
            right,
            on,
            filter,
            join_type,
            null_aware: false,
        })
    }

    /// A null-aware join on one pair of keys: `left.key NOT IN (right.key)` as a `LeftAnti`
    /// join, `left.key IN (right.key)` as a value (the mark) as a `LeftMark` join.
    pub fn null_aware(
        left: Arc<LogicalPlan>,
        right: Arc<LogicalPlan>,
        key: (Expr, Expr),
        join_type: JoinType,
    ) -> Result<Self> {
        Ok(Join {
            null_aware: true,
            ..Join::try_new(left, right, vec![key], None, join_type)?
        })
    }
}

/// The fields of one join input, made nullable for the outer side of a join.
fn side_fields(plan: &LogicalPlan, nullable: bool) -> Vec<(Option<TableReference>, FieldRef)> {
    plan.schema()
        .iter()
        .map(|(q, f)| {
            let field = if nullable && !f.is_nullable() {
                Arc::new(f.as_ref().clone().with_nullable(true))
            } else {
                FieldRef::clone(f)
            };
            (q.cloned(), field)
        })
        .collect()
}

/// Concatenates inputs with the same column types (`UNION ALL`); names come from the first.
#[derive(Debug, Clone)]
pub struct Union {
    /// Two or more inputs.
    pub inputs: Vec<Arc<LogicalPlan>>,
    /// The first input's fields, nullable where any input's is.
    pub schema: DFSchemaRef,
}

impl Union {
    /// A union; fails if inputs differ in column count or types.
    pub fn try_new(inputs: Vec<Arc<LogicalPlan>>) -> Result<Self> {
        let first = inputs
            .first()
            .ok_or_else(|| PlanError::Internal("a union needs inputs".into()))?;
        let mut fields: Vec<(Option<TableReference>, FieldRef)> = first
            .schema()
            .iter()
            .map(|(q, f)| (q.cloned(), FieldRef::clone(f)))
            .collect();
        for input in &inputs[1..] {
            let other = input.schema();
            if other.fields().len() != fields.len() {
                return Err(PlanError::invalid(format!(
                    "UNION inputs have {} and {} columns",
                    fields.len(),
                    other.fields().len()
                )));
            }
            for ((_, field), theirs) in fields.iter_mut().zip(other.fields()) {
                if field.data_type() != theirs.data_type() {
                    return Err(PlanError::type_mismatch(format!(
                        "UNION column '{}' is {} on one side and {} on the other",
                        field.name(),
                        field.data_type(),
                        theirs.data_type()
                    )));
                }
                if theirs.is_nullable() && !field.is_nullable() {
                    *field = Arc::new(field.as_ref().clone().with_nullable(true));
                }
            }
        }
        Ok(Union {
            schema: schema_of(fields)?,
            inputs,
        })
    }
}

/// Emits each input row as many times as its last column says (an `Int64`; a row whose count is
/// zero, negative or null is dropped), without that column: how `INTERSECT ALL` and
/// `EXCEPT ALL` give back the duplicates their aggregation counted.
#[derive(Debug, Clone)]
pub struct ReplicateRows {
    /// The input; its last column is the number of copies of each row.
    pub input: Arc<LogicalPlan>,
    /// The input's fields but the last.
    pub schema: DFSchemaRef,
}

impl ReplicateRows {
    /// Replicates `input`'s rows; fails unless its last column is an `Int64`.
    pub fn try_new(input: Arc<LogicalPlan>) -> Result<Self> {
        let fields: Vec<(Option<TableReference>, FieldRef)> = input
            .schema()
            .iter()
            .map(|(q, f)| (q.cloned(), FieldRef::clone(f)))
            .collect();
        let Some(((_, count), kept)) = fields.split_last() else {
            return Err(PlanError::Internal(
                "replicating rows needs a count column".into(),
            ));
        };
        if count.data_type() != &DataType::Int64 {
            return Err(PlanError::Internal(format!(
                "the copy count of replicated rows must be Int64, got {}",
                count.data_type()
            )));
        }
        Ok(ReplicateRows {
            schema: schema_of(kept.to_vec())?,
            input,
        })
    }
}

/// The name of [`Expand`]'s output column numbering the grouping set a row belongs to.
pub const GROUPING_ID_COLUMN: &str = "__grouping_id";

/// The name of [`Expand`]'s output column holding group key `index`.
pub fn grouping_key_column(index: usize) -> String {
    format!("__grouping_key_{index}")
}

/// Emits every input row once per grouping set (`GROUPING SETS`, `ROLLUP`, `CUBE`), as
/// Spark's `Expand` does: the input columns unchanged (aggregate arguments read them), then one
/// column per group key, NULL where the set leaves that key out, then the set's position in
/// `sets` ([`GROUPING_ID_COLUMN`], an `Int64`). An ordinary aggregation grouped by the key
/// columns and the set number then computes every set at once.
#[derive(Debug, Clone)]
pub struct Expand {
    /// The input.
    pub input: Arc<LogicalPlan>,
    /// The group keys, expressions over the input; output as [`grouping_key_column`]s.
    pub keys: Vec<Expr>,
    /// The grouping sets: each lists the positions in `keys` it groups by.
    pub sets: Vec<Vec<usize>>,
    /// Input fields, then the (nullable) key fields, then the set number.
    pub schema: DFSchemaRef,
}

impl Expand {
    /// An expand node; fails if a set names a key that does not exist or there is no set.
    pub fn try_new(
        input: Arc<LogicalPlan>,
        keys: Vec<Expr>,
        sets: Vec<Vec<usize>>,
        registry: &FunctionRegistry,
    ) -> Result<Self> {
        if sets.is_empty() || sets.iter().flatten().any(|&k| k >= keys.len()) {
            return Err(PlanError::Internal(format!(
                "bad grouping sets {sets:?} over {} keys",
                keys.len()
            )));
        }
        let mut fields: Vec<(Option<TableReference>, FieldRef)> = input
            .schema()
            .iter()
            .map(|(qualifier, field)| (qualifier.cloned(), Arc::clone(field)))
            .collect();
        for (i, key) in keys.iter().enumerate() {
            let data_type = key.get_type(input.schema(), registry)?;
            let field = Field::new(grouping_key_column(i), data_type, true);
            fields.push((None, Arc::new(field)));
        }
        let id = Field::new(GROUPING_ID_COLUMN, DataType::Int64, false);
        fields.push((None, Arc::new(id)));
        Ok(Expand {
            schema: schema_of(fields)?,
            input,
            keys,
            sets,
        })
    }

    /// The numbers of the empty grouping sets (`()`, the grand total).
    pub fn empty_sets(&self) -> Vec<i64> {
        (0..self.sets.len())
            .filter(|&i| self.sets[i].is_empty())
            .map(|i| i as i64)
            .collect()
    }
}

/// Removes duplicate rows.
#[derive(Debug, Clone)]
pub struct Distinct {
    /// The input; its schema is the output schema.
    pub input: Arc<LogicalPlan>,
}

/// Renames the relation of every input column (`FROM (..) AS alias`, `FROM t AS alias`).
#[derive(Debug, Clone)]
pub struct SubqueryAlias {
    /// The input.
    pub input: Arc<LogicalPlan>,
    /// The new qualifier.
    pub alias: TableReference,
    /// The input's fields, qualified by `alias`.
    pub schema: DFSchemaRef,
}

impl SubqueryAlias {
    /// An alias; fails if the input has two columns of the same name.
    pub fn try_new(input: Arc<LogicalPlan>, alias: impl Into<TableReference>) -> Result<Self> {
        let alias = alias.into();
        let fields = input
            .schema()
            .fields()
            .iter()
            .map(|f| (Some(alias.clone()), FieldRef::clone(f)))
            .collect();
        Ok(SubqueryAlias {
            schema: schema_of(fields)?,
            input,
            alias,
        })
    }
}

/// No columns; zero rows, or one row for `SELECT` without `FROM`.
#[derive(Debug, Clone)]
pub struct EmptyRelation {
    /// Produce one row of no columns.
    pub produce_one_row: bool,
    /// The (empty) schema.
    pub schema: DFSchemaRef,
}

impl EmptyRelation {
    /// An empty relation with no columns.
    pub fn new(produce_one_row: bool) -> Self {
        EmptyRelation {
            produce_one_row,
            schema: Arc::new(DFSchema::empty()),
        }
    }
}

/// Literal rows: `VALUES (1, 'a'), (2, 'b')`; columns are named `column1`, `column2`, ...
#[derive(Debug, Clone)]
pub struct Values {
    /// The rows; every row has one expression per column, of the column's type.
    pub values: Vec<Vec<Expr>>,
    /// `column1..n`.
    pub schema: DFSchemaRef,
}

impl Values {
    /// Values rows; fails on ragged rows or types that differ between rows.
    pub fn try_new(values: Vec<Vec<Expr>>, registry: &FunctionRegistry) -> Result<Self> {
        let empty = DFSchema::empty();
        let width = values.first().map_or(0, Vec::len);
        let mut fields: Vec<Field> = Vec::with_capacity(width);
        for row in &values {
            if row.len() != width {
                return Err(PlanError::invalid(format!(
                    "VALUES rows have {width} and {} columns",
                    row.len()
                )));
            }
            for (i, expr) in row.iter().enumerate() {
                let data_type = expr.get_type(&empty, registry)?;
                let nullable = expr.nullable(&empty)?;
                match fields.get_mut(i) {
                    None => {
                        fields.push(Field::new(format!("column{}", i + 1), data_type, nullable))
                    }
                    Some(field)
                        if field.data_type() == &data_type || data_type == DataType::Null =>
                    {
                        field.set_nullable(field.is_nullable() || nullable);
                    }
                    Some(field) if field.data_type() == &DataType::Null => {
                        *field = Field::new(field.name(), data_type, true);
                    }
                    Some(field) => {
                        return Err(PlanError::type_mismatch(format!(
                            "VALUES column {} is {} in one row and {data_type} in another",
                            i + 1,
                            field.data_type()
                        )));
                    }
                }
            }
        }
        let schema = DFSchema::try_from(Schema::new(fields))?;
        Ok(Values {
            values,
            schema: Arc::new(schema),
        })
    }
}

/// `EXPLAIN [ANALYZE]`: describes (and with `analyze`, runs) the plan.
#[derive(Debug, Clone)]
pub struct Explain {
    /// Run the plan and report metrics.
    pub analyze: bool,
    /// The explained plan.
    pub plan: Arc<LogicalPlan>,
    /// `plan_type` and `plan`, both strings.
    pub schema: DFSchemaRef,
}

impl Explain {
    /// Explains `plan`.
    pub fn new(plan: Arc<LogicalPlan>, analyze: bool) -> Self {
        let fields = Schema::new(vec![
            Field::new("plan_type", DataType::Utf8, false),
            Field::new("plan", DataType::Utf8, false),
        ]);
        let schema = DFSchema::try_from(fields).unwrap_or_else(|_| DFSchema::empty());
        Explain {
            analyze,
            plan,
            schema: Arc::new(schema),
        }
    }
}
