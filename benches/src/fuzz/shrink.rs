//! Minimising a failing query and its data: greedily take any smaller variant that still
//! fails the same way (a dropped clause, conjunct, select item or join, an expression
//! replaced by one of its operands, fewer rows), until none does.

use super::ast::{BinaryOp, Expr, JoinKind, Query, Select, Source};
use super::check::{Harness, Outcome};
use super::schema::Database;

/// `query` made as small as it can be while `harness` still reports a failure like `failure`.
pub fn minimise_query(harness: &Harness, query: &Query, failure: &Outcome) -> Query {
    let mut current = query.clone();
    while let Some(smaller) = query_candidates(&current)
        .into_iter()
        .find(|candidate| failure.same_failure(&harness.check(candidate)))
    {
        current = smaller;
    }
    current
}

/// `db` with as many rows dropped as can be while `query` still fails like `failure`.
pub fn minimise_data(
    db: &Database,
    query: &Query,
    failure: &Outcome,
    broadcast: bool,
) -> anyhow::Result<Database> {
    let still_fails = |db: &Database| -> anyhow::Result<bool> {
        let harness = Harness::new(db.clone(), broadcast)?;
        Ok(failure.same_failure(&harness.check(query)))
    };
    let mut current = db.clone();
    for t in 0..current.tables.len() {
        // Drop chunks of rows, halving the chunk size down to single rows.
        let mut chunk = current.tables[t].rows.len().div_ceil(2).max(1);
        loop {
            let mut start = 0;
            while start < current.tables[t].rows.len() {
                let mut candidate = current.clone();
                let rows = &mut candidate.tables[t].rows;
                let end = (start + chunk).min(rows.len());
                rows.drain(start..end);
                if still_fails(&candidate)? {
                    current = candidate;
                } else {
                    start += chunk;
                }
            }
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
    }
    Ok(current)
}

/// Smaller variants of `query`, the boldest first.
fn query_candidates(query: &Query) -> Vec<Query> {
    match query {
        Query::Select(select) => select_candidates(select)
            .into_iter()
            .map(|s| Query::Select(Box::new(s)))
            .collect(),
        Query::SetOperation { op, left, right } => {
            let mut out = vec![Query::Select(left.clone()), Query::Select(right.clone())];
            for l in select_candidates(left) {
                out.push(Query::SetOperation {
                    op: *op,
                    left: Box::new(l),
                    right: right.clone(),
                });
            }
            for r in select_candidates(right) {
                out.push(Query::SetOperation {
                    op: *op,
                    left: left.clone(),
                    right: Box::new(r),
                });
            }
            out
        }
    }
}

fn select_candidates(select: &Select) -> Vec<Select> {
    let mut out = Vec::new();
    let mut variant = |change: &dyn Fn(&mut Select)| {
        let mut candidate = select.clone();
        change(&mut candidate);
        if candidate != *select {
            out.push(candidate);
        }
    };
    // Whole clauses and joins.
    for j in 0..select.joins.len() {
        variant(&|s| {
            s.joins.remove(j);
        });
    }
    if !select.joins.is_empty() {
        variant(&|s| s.from = s.joins.remove(0).relation);
    }
    variant(&|s| s.filter = None);
    variant(&|s| s.having = None);
    variant(&|s| {
        s.order_by.clear();
        s.limit = None;
    });
    variant(&|s| s.limit = None);
    variant(&|s| s.distinct = false);
    for i in 0..select.group_by.len() {
        variant(&|s| {
            s.group_by.remove(i);
        });
    }
    if select.items.len() > 1 {
        for i in 0..select.items.len() {
            variant(&|s| remove_item(s, i));
        }
    }
    for j in 0..select.joins.len() {
        variant(&|s| s.joins[j].kind = JoinKind::Inner);
    }
    // Smaller expressions and derived tables, one place at a time.
    for (i, item) in select.items.iter().enumerate() {
        for smaller in expr_candidates(item) {
            variant(&|s| s.items[i] = smaller.clone());
        }
    }
    let clauses = [
        (select.filter.as_ref(), Clause::Filter),
        (select.having.as_ref(), Clause::Having),
    ];
    for (expr, clause) in clauses {
        for smaller in expr.map(expr_candidates).unwrap_or_default() {
            variant(&|s| *clause.of(s) = Some(smaller.clone()));
        }
    }
    for (j, join) in select.joins.iter().enumerate() {
        for smaller in join.on.as_ref().map(expr_candidates).unwrap_or_default() {
            variant(&|s| s.joins[j].on = Some(smaller.clone()));
        }
        if let Source::Derived(query) = &join.relation.source {
            for smaller in query_candidates(query) {
                variant(&|s| {
                    s.joins[j].relation.source = Source::Derived(Box::new(smaller.clone()))
                });
            }
        }
    }
    if let Source::Derived(query) = &select.from.source {
        for smaller in query_candidates(query) {
            variant(&|s| s.from.source = Source::Derived(Box::new(smaller.clone())));
        }
    }
    out
}

/// The optional clauses holding a predicate.
#[derive(Clone, Copy)]
enum Clause {
    Filter,
    Having,
}

impl Clause {
    fn of(self, select: &mut Select) -> &mut Option<Expr> {
        match self {
            Clause::Filter => &mut select.filter,
            Clause::Having => &mut select.having,
        }
    }
}

/// Drops select item `i` and the `ORDER BY` entry for it, renumbering the later ones.
fn remove_item(select: &mut Select, i: usize) {
    select.items.remove(i);
    select.order_by.retain(|(position, _)| *position != i);
    for (position, _) in &mut select.order_by {
        if *position > i {
            *position -= 1;
        }
    }
}

/// Smaller variants of `expr`: an operand of the same kind in its place (so a comparison of
/// texts never becomes a comparison of a text and a number, which SQLite would accept), or one
/// operand (or subquery) made smaller.
fn expr_candidates(expr: &Expr) -> Vec<Expr> {
    let mut copy = expr.clone();
    let operands: Vec<Expr> = children_mut(&mut copy)
        .into_iter()
        .map(|e| e.clone())
        .collect();
    let mut out: Vec<Expr> = same_kind_operands(expr)
        .into_iter()
        .map(|i| operands[i].clone())
        .collect();
    for (i, operand) in operands.iter().enumerate() {
        for smaller in expr_candidates(operand) {
            let mut candidate = expr.clone();
            *children_mut(&mut candidate).swap_remove(i) = smaller;
            out.push(candidate);
        }
    }
    if let Some(query) = subquery_mut(&mut copy) {
        for smaller in query_candidates(query) {
            let mut candidate = expr.clone();
            *subquery_mut(&mut candidate).expect("same shape") = smaller;
            out.push(candidate);
        }
    }
    out
}

/// Positions (in [`children_mut`]'s order) of the operands whose kind is `expr`'s own.
fn same_kind_operands(expr: &Expr) -> Vec<usize> {
    match expr {
        Expr::Not(_) | Expr::Negate(_) => vec![0],
        Expr::Binary {
            op:
                BinaryOp::Plus
                | BinaryOp::Minus
                | BinaryOp::Multiply
                | BinaryOp::Divide
                | BinaryOp::Modulo
                | BinaryOp::Concat
                | BinaryOp::And
                | BinaryOp::Or,
            ..
        } => vec![0, 1],
        Expr::Binary { .. } => Vec::new(),
        Expr::Case {
            operand,
            branches,
            otherwise,
        } => {
            // THEN values sit after each WHEN; the ELSE value, if any, comes last.
            let first = usize::from(operand.is_some());
            let thens = (0..branches.len()).map(|b| first + 2 * b + 1);
            let else_at = otherwise.as_ref().map(|_| first + 2 * branches.len());
            thens.chain(else_at).collect()
        }
        Expr::Function { name, args } => match *name {
            "coalesce" => (0..args.len()).collect(),
            "nullif" | "upper" | "lower" | "substring" => vec![0],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The operands of `expr` (not its subquery).
fn children_mut(expr: &mut Expr) -> Vec<&mut Expr> {
    match expr {
        Expr::Column { .. } | Expr::Literal(_) | Expr::Exists { .. } => Vec::new(),
        Expr::ScalarSubquery(_) => Vec::new(),
        Expr::Not(e) | Expr::Negate(e) | Expr::Cast { expr: e, .. } => vec![e],
        Expr::IsNull { expr, .. } | Expr::Like { expr, .. } | Expr::InSubquery { expr, .. } => {
            vec![expr]
        }
        Expr::Binary { left, right, .. } => vec![left, right],
        Expr::InList { expr, list, .. } => std::iter::once(&mut **expr).chain(list).collect(),
        Expr::Between {
            expr, low, high, ..
        } => vec![expr, low, high],
        Expr::Case {
            operand,
            branches,
            otherwise,
        } => operand
            .as_deref_mut()
            .into_iter()
            .chain(branches.iter_mut().flat_map(|(w, t)| [w, t]))
            .chain(otherwise.as_deref_mut())
            .collect(),
        Expr::Function { args, .. } => args.iter_mut().collect(),
        Expr::Aggregate { arg, .. } => arg.as_deref_mut().into_iter().collect(),
    }
}

fn subquery_mut(expr: &mut Expr) -> Option<&mut Query> {
    match expr {
        Expr::Exists { query, .. } | Expr::InSubquery { query, .. } => Some(query),
        Expr::ScalarSubquery(query) => Some(query),
        _ => None,
    }
}
