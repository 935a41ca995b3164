//! Cardinality estimates: how many rows a plan returns, from what tables know without being
//! read (row counts in Parquet footers) and textbook selectivity heuristics, as optimizers
//! without column histograms do. The cost-based join order and build side choices read them.
//!
//! An equi-join of `l` and `r` rows returns `l * r / max(distinct(lk), distinct(rk))` (each
//! key value of the side with fewer distinct values finds its match). The keys' values are
//! taken to come from a common domain as large as the smaller table the key columns come
//! from (the primary key side of a foreign key join), and a side holds at most as many
//! distinct values as it has rows: a foreign key side then matches as the primary key side
//! was filtered.

use arrow_schema::DataType;
use datafusion_common::{Column, JoinType};

use super::LogicalPlan;
use crate::expr::{Expr, Operator, split_conjunction};

/// Rows assumed for a table that reports no count.
const UNKNOWN_TABLE_ROWS: f64 = 1_000_000.0;

/// The bytes of input `plan` reads, as the physical planner counts them for a broadcast: its
/// tables' sizes, whatever filters keep.
fn input_bytes(plan: &LogicalPlan) -> Option<u64> {
    match plan {
        LogicalPlan::TableScan(scan) => scan
            .source
            .statistics()
            .total_byte_size
            .get_value()
            .map(|b| *b as u64),
        LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => Some(0),
        LogicalPlan::Join(_) => None,
        other => other.inputs().iter().map(|input| input_bytes(input)).sum(),
    }
}

/// The bytes `plan`'s rows are estimated to take once read: its estimated rows times its row
/// width (a fixed width per primitive value, 32 bytes per string or binary value, 64 per
/// nested one). Files are compressed and hold every column; this counts only what a broadcast
/// would hold.
pub fn estimated_row_bytes(plan: &LogicalPlan) -> f64 {
    let width: f64 = plan
        .schema()
        .fields()
        .iter()
        .map(|field| value_width(field.data_type()))
        .sum();
    plan.estimated_rows() * width.max(1.0)
}

/// The bytes a value of `data_type` is estimated to take.
fn value_width(data_type: &DataType) -> f64 {
    match data_type {
        DataType::Boolean => 1.0,
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView => 32.0,
        DataType::Dictionary(key, _) => value_width(key),
        other => other.primitive_width().map_or(64.0, |width| width as f64),
    }
}

/// What a broadcast of `plan` is estimated to hold, in bytes: the lesser of its input files'
/// size and its estimated rows' ([`estimated_row_bytes`]); `None` when the files' size is not
/// known.
pub fn broadcast_bytes(plan: &LogicalPlan) -> Option<u64> {
    input_bytes(plan).map(|bytes| bytes.min(estimated_row_bytes(plan) as u64))
}

/// The fraction of rows a predicate keeps, by heuristics on its shape.
pub fn selectivity(predicate: &Expr) -> f64 {
    let conjuncts = split_conjunction(predicate);
    if conjuncts.len() > 1 {
        return conjuncts.into_iter().map(selectivity).product();
    }
    match predicate {
        Expr::BinaryExpr { left, op, right } => match op {
            Operator::Or => {
                let (a, b) = (selectivity(left), selectivity(right));
                a + b - a * b
            }
            Operator::Eq => 0.1,
            Operator::NotEq => 0.9,
            Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq => 1.0 / 3.0,
            _ => 0.5,
        },
        Expr::Not(inner) => 1.0 - selectivity(inner),
        Expr::Between { negated, .. } => negate(0.25, *negated),
        Expr::Like { negated, .. } => negate(0.25, *negated),
        Expr::InList { list, negated, .. } => negate((0.1 * list.len() as f64).min(0.5), *negated),
        Expr::IsNull(_) => 0.05,
        Expr::IsNotNull(_) => 0.95,
        Expr::Literal(value) if value.is_null() => 0.0,
        _ => 0.5,
    }
}

fn negate(selectivity: f64, negated: bool) -> f64 {
    if negated {
        1.0 - selectivity
    } else {
        selectivity
    }
}

impl LogicalPlan {
    /// The estimated number of rows this plan returns (at least 1 unless it is empty by
    /// construction).
    pub fn estimated_rows(&self) -> f64 {
        match self {
            LogicalPlan::TableScan(scan) => {
                let rows = scan
                    .source
                    .statistics()
                    .num_rows
                    .get_value()
                    .map_or(UNKNOWN_TABLE_ROWS, |&rows| rows as f64);
                scan.fetch.map_or(rows, |fetch| rows.min(fetch as f64))
            }
            LogicalPlan::Filter(filter) => {
                (filter.input.estimated_rows() * selectivity(&filter.predicate)).max(1.0)
            }
            LogicalPlan::Projection(p) => p.input.estimated_rows(),
            LogicalPlan::SubqueryAlias(s) => s.input.estimated_rows(),
            LogicalPlan::Distinct(d) => d.input.estimated_rows(),
            LogicalPlan::ReplicateRows(r) => r.input.estimated_rows(),
            // Without array-length statistics: one element per row.
            LogicalPlan::Generate(g) => g.input.estimated_rows(),
            LogicalPlan::Window(w) => w.input.estimated_rows(),
            LogicalPlan::WindowGroupLimit(l) => {
                let input = l.input.estimated_rows();
                let partitions: f64 = l
                    .partition_by
                    .iter()
                    .map(|key| l.input.distinct_values(key).unwrap_or(input))
                    .product();
                input.min(partitions * l.limit as f64)
            }
            LogicalPlan::Expand(e) => e.input.estimated_rows() * e.sets.len() as f64,
            LogicalPlan::Explain(e) => e.plan.estimated_rows(),
            LogicalPlan::Sort(s) => {
                let rows = s.input.estimated_rows();
                s.fetch.map_or(rows, |fetch| rows.min(fetch as f64))
            }
            LogicalPlan::Limit(l) => {
                let rows = (l.input.estimated_rows() - l.skip as f64).max(0.0);
                l.fetch.map_or(rows, |fetch| rows.min(fetch as f64))
            }
            LogicalPlan::Aggregate(a) => {
                let input = a.input.estimated_rows();
                if a.group_exprs.is_empty() {
                    return 1.0;
                }
                let groups: f64 = a
                    .group_exprs
                    .iter()
                    .map(|g| a.input.distinct_values(g).unwrap_or(input))
                    .product();
                groups.min(input).max(1.0)
            }
            LogicalPlan::Join(j) => {
                let (left, right) = (j.left.estimated_rows(), j.right.estimated_rows());
                let divisor =
                    j.on.iter()
                        .map(|(l, r)| {
                            // The keys' common domain: the smaller table they come from (the
                            // primary key side of a foreign key join).
                            let origins = (j.left.key_origin_rows(l), j.right.key_origin_rows(r));
                            let domain = match origins {
                                (Some(a), Some(b)) => a.min(b),
                                (Some(a), None) | (None, Some(a)) => a,
                                (None, None) => left.max(right),
                            };
                            left.min(domain).max(right.min(domain))
                        })
                        .fold(1.0, f64::max);
                let filter = j.filter.as_ref().map_or(1.0, selectivity);
                let inner = (left * right / divisor * filter).max(1.0);
                match j.join_type {
                    JoinType::Left => inner.max(left),
                    JoinType::Right => inner.max(right),
                    JoinType::Full => inner.max(left + right),
                    JoinType::LeftSemi => inner.min(left),
                    JoinType::LeftMark => left,
                    JoinType::LeftAnti => (left - inner.min(left)).max(left * 0.1),
                    _ => inner,
                }
            }
            LogicalPlan::Union(u) => u.inputs.iter().map(|i| i.estimated_rows()).sum(),
            LogicalPlan::Values(v) => v.values.len() as f64,
            LogicalPlan::EmptyRelation(e) => f64::from(u8::from(e.produce_one_row)),
        }
    }

    /// The estimated number of distinct values of `expr` over this plan's rows: for a column,
    /// the row count of the table it comes from, at most this plan's rows; `None` for other
    /// expressions or when its origin is unknown.
    pub fn distinct_values(&self, expr: &Expr) -> Option<f64> {
        let origin = self.key_origin_rows(expr)?;
        Some(origin.min(self.estimated_rows()).max(1.0))
    }

    /// The unfiltered row count of the table a column expression comes from.
    pub(crate) fn key_origin_rows(&self, expr: &Expr) -> Option<f64> {
        match expr.unaliased() {
            Expr::Column(column) => self.origin_rows(column),
            _ => None,
        }
    }

    /// The unfiltered row count of the table `column` comes from.
    fn origin_rows(&self, column: &Column) -> Option<f64> {
        let index = self
            .schema()
            .index_of_column_by_name(column.relation.as_ref(), &column.name)?;
        let input_column = |input: &LogicalPlan, index: usize| {
            let (qualifier, field) = input.schema().qualified_field(index);
            Column::new(qualifier.cloned(), field.name())
        };
        match self {
            LogicalPlan::TableScan(scan) => {
                let table = LogicalPlan::TableScan(crate::plan::TableScan {
                    fetch: None,
                    ..scan.clone()
                });
                Some(table.estimated_rows())
            }
            LogicalPlan::Projection(p) => match p.exprs.get(index)?.unaliased() {
                Expr::Column(c) => p.input.origin_rows(c),
                _ => None,
            },
            LogicalPlan::SubqueryAlias(s) => s.input.origin_rows(&input_column(&s.input, index)),
            LogicalPlan::Filter(_)
            | LogicalPlan::Sort(_)
            | LogicalPlan::Limit(_)
            | LogicalPlan::Distinct(_) => self.inputs()[0].origin_rows(column),
            LogicalPlan::Join(j) => {
                let left_width = j.left.schema().fields().len();
                let (own, side, other_side, on_this_side): (
                    Column,
                    &LogicalPlan,
                    &LogicalPlan,
                    bool,
                ) = if index < left_width {
                    (column.clone(), &j.left, &j.right, true)
                } else {
                    (
                        input_column(&j.right, index - left_width),
                        &j.right,
                        &j.left,
                        false,
                    )
                };
                let rows = side.origin_rows(&own)?;
                if j.join_type != JoinType::Inner {
                    return Some(rows);
                }
                // An inner join keeps only the values both of its keys hold: a key's domain is
                // at most its partner's (supplier's nation key joined with nation has 25).
                let is_own = |key: &Expr| matches!(key.unaliased(), Expr::Column(c) if *c == own);
                let partner = j.on.iter().find_map(|(l, r)| {
                    let (mine, theirs) = if on_this_side { (l, r) } else { (r, l) };
                    is_own(mine).then_some(theirs)
                });
                Some(
                    match partner.and_then(|key| other_side.key_origin_rows(key)) {
                        Some(partner_rows) => rows.min(partner_rows),
                        None => rows,
                    },
                )
            }
            LogicalPlan::Aggregate(a) => match a.group_exprs.get(index)?.unaliased() {
                Expr::Column(c) => a.input.origin_rows(c),
                _ => None,
            },
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizer::test_util::plan_of;

    #[test]
    fn a_broadcast_holds_the_lesser_of_the_files_and_the_estimated_rows() {
        // dim: 50 rows, 1,000 bytes of files; a row is an Int64 (8 bytes) and a string (32).
        let whole = plan_of("SELECT k, name FROM dim");
        assert_eq!(estimated_row_bytes(&whole), 50.0 * 40.0);
        assert_eq!(broadcast_bytes(&whole), Some(1000));
        // An equality keeps a tenth of the rows: 5 rows of 40 bytes.
        let filtered = plan_of("SELECT k, name FROM dim WHERE name = 'x'");
        assert_eq!(broadcast_bytes(&filtered), Some(200));
        // One column of the filtered rows: 5 rows of 8 bytes.
        let narrow = plan_of("SELECT k FROM dim WHERE name = 'x'");
        assert_eq!(broadcast_bytes(&narrow), Some(40));
        // Files of unknown size: never known to be small.
        assert_eq!(
            broadcast_bytes(&plan_of("SELECT a FROM t WHERE a = 1")),
            None
        );
    }
}
