//! Binding generators outside the select list: `FROM t, UNNEST(t.a) AS u(x)` (DuckDB) and
//! `LATERAL VIEW [OUTER] explode(a) v AS x` (Spark). Both become a `Generate` over the relation
//! to their left; the generated columns are qualified by the alias given.

use datafusion_common::TableReference;
use sqlparser::ast::{self, Spanned};

use super::SqlBinder;
use super::expr::{Scope, sql_text};
use crate::error::{PlanError, Result};
use crate::expr::Expr;
use crate::plan::{LogicalPlan, generate, generator_flags, is_generator};

/// The generated columns' names: `given` if any (as many as the generator makes), else the
/// defaults; qualified by `qualifier`.
fn column_names(
    defaults: &[String],
    given: &[&ast::Ident],
    qualifier: Option<&str>,
) -> Result<Vec<(Option<TableReference>, String)>> {
    if !given.is_empty() && given.len() != defaults.len() {
        return Err(PlanError::invalid(format!(
            "the generator makes {} columns ({}) but {} names were given",
            defaults.len(),
            defaults.join(", "),
            given.len()
        )));
    }
    let names: Vec<String> = if given.is_empty() {
        defaults.to_vec()
    } else {
        given.iter().map(|i| i.value.clone()).collect()
    };
    Ok(names
        .into_iter()
        .map(|n| (qualifier.map(TableReference::bare), n))
        .collect())
}

impl SqlBinder<'_> {
    /// `input` joined laterally with `UNNEST(array)`: one row per element, the element in a
    /// column named `unnest` (or by the alias's column list; a map's entries give `key` and
    /// `value`).
    pub(super) fn bind_unnest(
        &self,
        input: LogicalPlan,
        factor: &ast::TableFactor,
    ) -> Result<LogicalPlan> {
        let ast::TableFactor::UNNEST {
            alias,
            array_exprs,
            with_offset,
            with_ordinality,
            ..
        } = factor
        else {
            return Err(PlanError::Internal("not an UNNEST".into()));
        };
        if *with_offset || *with_ordinality {
            return Err(
                PlanError::not_supported("UNNEST WITH OFFSET/ORDINALITY (use posexplode)")
                    .or_at(factor.span()),
            );
        }
        let [array] = array_exprs.as_slice() else {
            return Err(
                PlanError::not_supported("UNNEST of several arrays at once").or_at(factor.span())
            );
        };
        let arg = self.bind_expr(array, &Scope::plain(input.schema()))?;
        let arg = self
            .coercion(&Scope::plain(input.schema()))
            .scalar_call("unnest", vec![arg])
            .map_err(|e| e.or_at(array.span()))?;
        let Expr::ScalarFunction { mut args, .. } = arg else {
            return Err(PlanError::Internal("unnest did not bind to a call".into()));
        };
        let given: Vec<&ast::Ident> = alias
            .iter()
            .flat_map(|a| a.columns.iter().map(|c| &c.name))
            .collect();
        let qualifier = alias.as_ref().map(|a| a.name.value.as_str());
        let generated = generate(input, args.remove(0), false, false, self.registry, |d| {
            let defaults: Vec<String> = match d {
                [_] => vec!["unnest".to_string()],
                more => more.to_vec(),
            };
            column_names(&defaults, &given, qualifier)
        })
        .map_err(|e| e.or_at(factor.span()))?;
        Ok(LogicalPlan::Generate(generated))
    }

    /// `plan` with each `LATERAL VIEW [OUTER] generator(..) name [AS c1, ..]` applied in turn.
    pub(super) fn bind_lateral_views(
        &self,
        mut plan: LogicalPlan,
        views: &[ast::LateralView],
    ) -> Result<LogicalPlan> {
        for view in views {
            let scope = Scope::plain(plan.schema());
            let bound = self.bind_expr(&view.lateral_view, &scope)?;
            let (name, arg) = match bound {
                Expr::ScalarFunction { name, mut args }
                    if is_generator(&name) && args.len() == 1 =>
                {
                    (name.to_ascii_lowercase(), args.remove(0))
                }
                _ => {
                    return Err(PlanError::invalid(format!(
                        "LATERAL VIEW needs a generator such as explode(..), got {}",
                        sql_text(&view.lateral_view)
                    ))
                    .or_at(view.lateral_view.span()));
                }
            };
            let (position, outer) = generator_flags(&name);
            let given: Vec<&ast::Ident> = view.lateral_col_alias.iter().collect();
            let qualifier = view.lateral_view_name.to_string().replace('`', "");
            let generated = generate(
                plan,
                arg,
                position,
                outer || view.outer,
                self.registry,
                |defaults| column_names(defaults, &given, Some(&qualifier)),
            )
            .map_err(|e| e.or_at(view.lateral_view.span()))?;
            plan = LogicalPlan::Generate(generated);
        }
        Ok(plan)
    }
}
