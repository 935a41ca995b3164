//! The indented text form of a plan, like DataFusion's `EXPLAIN`:
//!
//! ```text
//! Projection: t.a, t.b
//!   Filter: t.a > Int64(1)
//!     TableScan: t projection=[a, b], filters=[t.a > Int64(1)]
//! ```

use std::fmt;

use datafusion_common::JoinType;

use super::LogicalPlan;
use crate::expr::Expr;

fn list<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl LogicalPlan {
    /// The one-line description of this node alone.
    pub fn node_description(&self) -> String {
        match self {
            LogicalPlan::TableScan(scan) => {
                let mut details = Vec::new();
                if scan.projection.is_some() {
                    let names: Vec<&str> = scan
                        .projected_schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect();
                    details.push(format!("projection=[{}]", names.join(", ")));
                }
                if !scan.filters.is_empty() {
                    details.push(format!("filters=[{}]", list(&scan.filters)));
                }
                if let Some(fetch) = scan.fetch {
                    details.push(format!("fetch={fetch}"));
                }
                let mut text = format!("TableScan: {}", scan.table_name);
                if !details.is_empty() {
                    text.push(' ');
                    text.push_str(&details.join(", "));
                }
                text
            }
            LogicalPlan::Projection(p) => format!("Projection: {}", list(&p.exprs)),
            LogicalPlan::Filter(f) => format!("Filter: {}", f.predicate),
            LogicalPlan::Aggregate(a) => format!(
                "Aggregate: groupBy=[[{}]], aggr=[[{}]]",
                list(&a.group_exprs),
                list(&a.aggr_exprs)
            ),
            LogicalPlan::Expand(e) => {
                let sets: Vec<String> = e
                    .sets
                    .iter()
                    .map(|set| {
                        let keys: Vec<Expr> = set.iter().map(|&k| e.keys[k].clone()).collect();
                        format!("({})", list(&keys))
                    })
                    .collect();
                format!("Expand: sets=[{}]", sets.join(", "))
            }
            LogicalPlan::Window(w) => format!("Window: [{}]", list(&w.window_exprs)),
            LogicalPlan::WindowGroupLimit(l) => format!(
                "WindowGroupLimit: {}() <= {}, partitionBy=[{}], orderBy=[{}]",
                l.function.name(),
                l.limit,
                list(&l.partition_by),
                list(&l.order_by)
            ),
            LogicalPlan::Sort(s) => match s.fetch {
                Some(fetch) => format!("Sort: {}, fetch={fetch}", list(&s.exprs)),
                None => format!("Sort: {}", list(&s.exprs)),
            },
            LogicalPlan::Limit(l) => match l.fetch {
                Some(fetch) => format!("Limit: skip={}, fetch={fetch}", l.skip),
                None => format!("Limit: skip={}, fetch=None", l.skip),
            },
            LogicalPlan::Join(j) => {
                if j.on.is_empty() && j.filter.is_none() && j.join_type == JoinType::Inner {
                    return "Cross Join:".to_string();
                }
                let kind = match j.join_type {
                    JoinType::Inner => "Inner",
                    JoinType::Left => "Left",
                    JoinType::Right => "Right",
                    JoinType::Full => "Full",
                    JoinType::LeftSemi => "LeftSemi",
                    JoinType::LeftAnti if j.null_aware => "NullAwareLeftAnti",
                    JoinType::LeftAnti => "LeftAnti",
                    JoinType::LeftMark if j.null_aware => "NullAwareLeftMark",
                    JoinType::LeftMark => "LeftMark",
                    _ => "Unsupported",
                };
                let on: Vec<String> = j.on.iter().map(|(l, r)| format!("{l} = {r}")).collect();
                let mut text = format!("{kind} Join: {}", on.join(", "));
                if let Some(filter) = &j.filter {
                    text.push_str(&format!(" Filter: {filter}"));
                }
                text
            }
            LogicalPlan::Union(_) => "Union".to_string(),
            LogicalPlan::Distinct(_) => "Distinct:".to_string(),
            LogicalPlan::ReplicateRows(r) => {
                let count = r.input.schema().fields().len().saturating_sub(1);
                format!("ReplicateRows: copies=#{count}")
            }
            LogicalPlan::Generate(g) => {
                let names: Vec<&str> = g.names.iter().map(|(_, n)| n.as_str()).collect();
                let source = g.input.schema().field(g.column).name();
                format!(
                    "Generate: {}({source}) AS ({})",
                    g.function_name(),
                    names.join(", ")
                )
            }
            LogicalPlan::SubqueryAlias(s) => format!("SubqueryAlias: {}", s.alias),
            LogicalPlan::EmptyRelation(e) => {
                format!("EmptyRelation: rows={}", usize::from(e.produce_one_row))
            }
            LogicalPlan::Values(v) => {
                let rows: Vec<String> = v
                    .values
                    .iter()
                    .map(|row| format!("({})", list::<Expr>(row)))
                    .collect();
                format!("Values: {}", rows.join(", "))
            }
            LogicalPlan::Explain(e) => {
                if e.analyze {
                    "Analyze".to_string()
                } else {
                    "Explain".to_string()
                }
            }
        }
    }

    /// The plan as indented text, one node per line, two spaces per level.
    pub fn display_indent(&self) -> String {
        let mut out = String::new();
        let mut stack = vec![(self, 0usize)];
        while let Some((plan, depth)) = stack.pop() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&"  ".repeat(depth));
            out.push_str(&plan.node_description());
            for input in plan.inputs().into_iter().rev() {
                stack.push((input, depth + 1));
            }
        }
        out
    }
}

impl fmt::Display for LogicalPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_indent())
    }
}
