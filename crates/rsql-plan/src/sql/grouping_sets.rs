//! Binding `GROUP BY`: plain keys, `GROUPING SETS (..)`, `ROLLUP (..)`, `CUBE (..)` and `()`,
//! several of them giving the cross product of their sets (as in Spark and PostgreSQL:
//! `GROUP BY a, ROLLUP (b, c)` groups by `(a, b, c)`, `(a, b)` and `(a)`), with `WITH ROLLUP`
//! and `WITH CUBE` applying to the whole list; and the `grouping()` / `grouping_id()` calls
//! that tell the sets apart.

use datafusion_common::DFSchema;
use sqlparser::ast::{self, Spanned};

use super::SqlBinder;
use super::expr::Scope;
use super::ident::find_column;
use super::query::{ordinal, ordinal_index};
use super::select::collect_calls;
use crate::error::{PlanError, Result};
use crate::expr::{Expr, lit};
use crate::function::{GROUPING_ID, is_grouping_function};

/// The most elements a `CUBE` may have (it makes 2^n grouping sets).
const MAX_CUBE_ELEMENTS: usize = 12;

/// The most grouping sets one `GROUP BY` may make.
const MAX_GROUPING_SETS: usize = 4096;

/// What a SELECT groups by.
#[derive(Debug)]
pub(super) struct Grouping {
    /// The distinct group keys, expressions over the SELECT's input, in the order written.
    pub keys: Vec<Expr>,
    /// The grouping sets, each as positions in `keys`; `None` for one set of every key (a
    /// plain `GROUP BY`, no `GROUP BY` at all, or `GROUP BY ()`).
    pub sets: Option<Vec<Vec<usize>>>,
    /// Whether the query has a `GROUP BY` clause (`GROUP BY ()` groups without keys).
    pub explicit: bool,
}

/// Whether `expr` is a `grouping(..)` or `grouping_id(..)` call.
pub(super) fn is_grouping_call(expr: &Expr) -> bool {
    matches!(expr, Expr::ScalarFunction { name, .. } if is_grouping_function(name))
}

/// `ROLLUP` of `n` elements: the prefixes of `0..n`, longest first.
fn rollup(n: usize) -> Vec<Vec<usize>> {
    (0..=n).rev().map(|k| (0..k).collect()).collect()
}

/// `CUBE` of `n` elements: every subset of `0..n`, the whole set first and the empty one last.
fn cube(n: usize) -> Result<Vec<Vec<usize>>> {
    if n > MAX_CUBE_ELEMENTS {
        return Err(PlanError::not_supported(format!(
            "CUBE of more than {MAX_CUBE_ELEMENTS} elements"
        )));
    }
    Ok((0..1usize << n)
        .rev()
        .map(|mask| (0..n).filter(|i| mask & (1 << (n - 1 - i)) != 0).collect())
        .collect())
}

/// The sets `positions` (of elements of `lists`) as sets of expressions, each element's
/// expressions in turn.
fn pick<'e>(lists: &[&'e [ast::Expr]], positions: Vec<Vec<usize>>) -> Vec<Vec<&'e ast::Expr>> {
    positions
        .into_iter()
        .map(|set| set.into_iter().flat_map(|i| lists[i]).collect())
        .collect()
}

/// The elements of a `ROLLUP` or `CUBE`, each a list of expressions.
fn slices(lists: &[Vec<ast::Expr>]) -> Vec<&[ast::Expr]> {
    lists.iter().map(Vec::as_slice).collect()
}

/// The grouping sets one element of a `GROUP BY` list stands for.
fn element_sets(element: &ast::Expr) -> Result<Vec<Vec<&ast::Expr>>> {
    Ok(match element {
        ast::Expr::Rollup(lists) => pick(&slices(lists), rollup(lists.len())),
        ast::Expr::Cube(lists) => pick(
            &slices(lists),
            cube(lists.len()).map_err(|e| e.or_at(element.span()))?,
        ),
        ast::Expr::GroupingSets(sets) => sets.iter().map(|set| set.iter().collect()).collect(),
        ast::Expr::Tuple(items) if items.is_empty() => vec![vec![]],
        key => vec![vec![key]],
    })
}

/// The grouping sets of a `GROUP BY` list: the cross product of its elements' sets, each set
/// the concatenation of one set per element; `WITH ROLLUP` / `WITH CUBE` take the elements
/// as the elements of one `ROLLUP` / `CUBE`.
fn grouping_sets<'e>(
    elements: &'e [ast::Expr],
    modifiers: &[ast::GroupByWithModifier],
) -> Result<Vec<Vec<&'e ast::Expr>>> {
    let singletons: Vec<&[ast::Expr]> = elements.iter().map(std::slice::from_ref).collect();
    match modifiers {
        [] => {}
        [ast::GroupByWithModifier::Rollup] => {
            return Ok(pick(&singletons, rollup(elements.len())));
        }
        [ast::GroupByWithModifier::Cube] => {
            return Ok(pick(&singletons, cube(elements.len())?));
        }
        _ => {
            let written: Vec<String> = modifiers.iter().map(ToString::to_string).collect();
            return Err(PlanError::not_supported(format!(
                "GROUP BY .. {}",
                written.join(" ")
            )));
        }
    }
    let mut product: Vec<Vec<&ast::Expr>> = vec![vec![]];
    for element in elements {
        let alternatives = element_sets(element)?;
        if product.len() * alternatives.len() > MAX_GROUPING_SETS {
            return Err(PlanError::not_supported(format!(
                "more than {MAX_GROUPING_SETS} grouping sets"
            ))
            .or_at(element.span()));
        }
        product = product
            .iter()
            .flat_map(|prefix| {
                alternatives
                    .iter()
                    .map(move |set| prefix.iter().chain(set).copied().collect())
            })
            .collect();
    }
    Ok(product)
}

impl SqlBinder<'_> {
    /// One group key: an ordinal of the select list, a select alias (unless an input column
    /// has that name) or an expression over the input.
    fn bind_group_key(
        &self,
        e: &ast::Expr,
        items: &[Expr],
        aliases: &[(String, Expr)],
        schema: &DFSchema,
    ) -> Result<Expr> {
        let bound = if let Some(position) = ordinal(e) {
            let index = ordinal_index(position, items.len(), "GROUP BY")
                .map_err(|err| err.or_at(e.span()))?;
            items[index].unaliased().clone()
        } else {
            let alias = match e {
                ast::Expr::Identifier(ident)
                    if find_column(schema, None, &ident.value, ident.span)?.is_none() =>
                {
                    aliases
                        .iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case(&ident.value))
                }
                _ => None,
            };
            match alias {
                Some((_, expr)) => expr.clone(),
                None => self.bind_expr(e, &Scope::plain(schema))?,
            }
        };
        if bound.contains_aggregate() {
            return Err(PlanError::invalid(format!(
                "aggregate functions are not allowed in GROUP BY: {bound}"
            ))
            .or_at(e.span()));
        }
        Ok(bound)
    }

    /// The keys and grouping sets of a `GROUP BY` clause.
    pub(super) fn bind_group_by(
        &self,
        group_by: &ast::GroupByExpr,
        items: &[Expr],
        aliases: &[(String, Expr)],
        schema: &DFSchema,
    ) -> Result<Grouping> {
        let (elements, modifiers) = match group_by {
            ast::GroupByExpr::All(_) => return Err(PlanError::not_supported("GROUP BY ALL")),
            ast::GroupByExpr::Expressions(elements, modifiers) => (elements, modifiers),
        };
        let written_sets = grouping_sets(elements, modifiers)?;
        let mut keys: Vec<Expr> = Vec::new();
        let mut sets: Vec<Vec<usize>> = Vec::with_capacity(written_sets.len());
        for written in written_sets {
            let mut set: Vec<usize> = Vec::with_capacity(written.len());
            for e in written {
                let bound = self.bind_group_key(e, items, aliases, schema)?;
                let position = match keys.iter().position(|k| k == &bound) {
                    Some(position) => position,
                    None => {
                        keys.push(bound);
                        keys.len() - 1
                    }
                };
                if !set.contains(&position) {
                    set.push(position);
                }
            }
            set.sort_unstable();
            sets.push(set);
        }
        Ok(Grouping {
            keys,
            sets: (sets.len() > 1).then_some(sets),
            explicit: !elements.is_empty(),
        })
    }
}

/// Resolves `grouping(..)` / `grouping_id(..)` calls against the grouping sets: to a constant
/// where every set gives the same value, else to a `CASE` over the grouping set number.
pub(super) struct GroupingIds<'a> {
    keys: &'a [Expr],
    sets: Vec<Vec<usize>>,
    /// The grouping set number column over the aggregate, when there are several sets.
    set_number: Option<Expr>,
}

impl<'a> GroupingIds<'a> {
    /// The resolver for `grouping`, with `set_number` the aggregate output column numbering
    /// the sets (`None` without grouping sets).
    pub(super) fn new(grouping: &'a Grouping, set_number: Option<Expr>) -> Self {
        let sets = match &grouping.sets {
            Some(sets) => sets.clone(),
            None => vec![(0..grouping.keys.len()).collect()],
        };
        GroupingIds {
            keys: &grouping.keys,
            sets,
            set_number,
        }
    }

    /// The value of the call `name(args)` (`grouping` or `grouping_id`), the arguments being
    /// expressions over the SELECT's input.
    pub(super) fn resolve(&self, name: &str, args: &[Expr]) -> Result<Expr> {
        let positions: Vec<usize> = if args.is_empty() && name == GROUPING_ID {
            (0..self.keys.len()).collect()
        } else {
            args.iter()
                .map(|arg| {
                    self.keys.iter().position(|k| k == arg).ok_or_else(|| {
                        PlanError::invalid(format!(
                            "the argument {arg} of {name}() must be a GROUP BY key"
                        ))
                    })
                })
                .collect::<Result<_>>()?
        };
        if positions.len() > 63 {
            return Err(PlanError::invalid(format!(
                "{name}() takes at most 63 keys, got {}",
                positions.len()
            )));
        }
        let values: Vec<i64> = self
            .sets
            .iter()
            .map(|set| {
                positions
                    .iter()
                    .fold(0i64, |bits, p| (bits << 1) | i64::from(!set.contains(p)))
            })
            .collect();
        let constant = values.iter().all(|v| *v == values[0]);
        Ok(match &self.set_number {
            Some(set_number) if !constant => Expr::Case {
                operand: Some(Box::new(set_number.clone())),
                when_then: values
                    .iter()
                    .enumerate()
                    .map(|(set, value)| (lit(set as i64), lit(*value)))
                    .collect(),
                else_expr: None,
            },
            _ => lit(values[0]),
        })
    }
}

/// Fails if an aggregate call's arguments use `grouping()` or `grouping_id()`.
pub(super) fn check_no_grouping_in_aggregates(aggregates: &[Expr]) -> Result<()> {
    for aggregate in aggregates {
        if let Expr::AggregateFunction { args, .. } = aggregate
            && let Some(call) = collect_calls(args, is_grouping_call).first()
        {
            return Err(PlanError::invalid(format!(
                "{call} cannot be used inside the aggregate call {aggregate}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::optimizer::test_util::plan_of;

    #[test]
    fn rollup_is_one_expand_under_one_aggregate_keyed_by_the_set_number() {
        let plan = plan_of(
            "SELECT b, a + 1, grouping(b), sum(a) FROM t GROUP BY ROLLUP (b, a + 1) \
             HAVING grouping_id(b, a + 1) < 3",
        );
        assert_eq!(
            plan.display_indent(),
            r#"Projection: b, a + Int64(1) AS (a + 1), CASE __grouping_id WHEN Int64(0) THEN Int64(0) WHEN Int64(1) THEN Int64(0) WHEN Int64(2) THEN Int64(1) END AS grouping(b), sum(a)
  Filter: CASE __grouping_id WHEN Int64(0) THEN Int64(0) WHEN Int64(1) THEN Int64(1) WHEN Int64(2) THEN Int64(3) END < Int64(3)
    Aggregate: groupBy=[[__grouping_key_0 AS b, __grouping_key_1 AS a + Int64(1), __grouping_id]], aggr=[[sum(t.a)]]
      Expand: sets=[(t.b, t.a + Int64(1)), (t.b), ()]
        TableScan: t"#
        );
    }

    #[test]
    fn sets_multiply_across_elements_and_repeat_keys_collapse() {
        // (b) x ROLLUP(c) x CUBE(b): b appears in every set; CUBE(b) adds nothing new but the
        // duplicates stay separate sets, as in PostgreSQL and DuckDB.
        let plan = plan_of("SELECT count(*) FROM t GROUP BY b, ROLLUP (c), CUBE (b)");
        let text = plan.display_indent();
        assert!(
            text.contains("Expand: sets=[(t.b, t.c), (t.b, t.c), (t.b), (t.b)]"),
            "{text}"
        );
        // One set of every key is a plain GROUP BY, without Expand.
        let plain = plan_of("SELECT count(*) FROM t GROUP BY GROUPING SETS ((b, c))");
        assert!(!plain.display_indent().contains("Expand"));
    }
}
