//! The `Generate` node: one output row per element of an array (or entry of a map) column,
//! the other columns repeated — Spark's `explode`, `posexplode` and their `_outer` forms,
//! `LATERAL VIEW` and DuckDB's `UNNEST`.
//!
//! The node reads the arrays from one input column, so the planner computes the generator's
//! argument in a projection below it; [`plan_generator`] builds both from a select list.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{Field, FieldRef};
use datafusion_common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion_common::{Column, DFSchema, DFSchemaRef, TableReference};

use super::{LogicalPlan, Projection};
use crate::error::{PlanError, Result};
use crate::expr::Expr;
use crate::function::{FunctionRegistry, GENERATORS, generated_fields};

/// Repeats each input row once per element of its array (or entry of its map) in column
/// `column`, appending the element (`col`, or `key` and `value`) and, with `position`, its
/// 0-based position (`pos`) before it. The array column itself is dropped.
#[derive(Debug, Clone)]
pub struct Generate {
    /// The input.
    pub input: Arc<LogicalPlan>,
    /// The index of the input column holding the arrays or maps.
    pub column: usize,
    /// Whether a `pos` column comes first among the generated ones.
    pub position: bool,
    /// Whether a row whose array is NULL or empty is kept once, with NULL generated columns
    /// (`explode_outer`); otherwise it yields no row.
    pub outer: bool,
    /// The names (and qualifier) of the generated columns, in order.
    pub names: Vec<(Option<TableReference>, String)>,
    /// The input's columns but `column`, then the generated ones.
    pub schema: DFSchemaRef,
}

impl Generate {
    /// Generates rows from `input`'s column `column`, naming the generated columns `names` (as
    /// many as the generator makes: `pos` with `position`, then one for an array's items or two
    /// for a map's keys and values).
    pub fn try_new(
        input: Arc<LogicalPlan>,
        column: usize,
        position: bool,
        outer: bool,
        names: Vec<(Option<TableReference>, String)>,
    ) -> Result<Self> {
        let source = input.schema();
        if column >= source.fields().len() {
            return Err(PlanError::Internal(format!(
                "generator column {column} of {} columns",
                source.fields().len()
            )));
        }
        let generated = generated_fields(source.field(column).data_type(), position)?;
        if generated.len() != names.len() {
            return Err(PlanError::invalid(format!(
                "the generator makes {} columns but {} names were given",
                generated.len(),
                names.len()
            )));
        }
        let mut fields: Vec<(Option<TableReference>, FieldRef)> = source
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != column)
            .map(|(_, (q, f))| (q.cloned(), Arc::clone(f)))
            .collect();
        for (field, (qualifier, name)) in generated.iter().zip(&names) {
            let renamed = Field::new(name, field.data_type().clone(), true);
            fields.push((qualifier.clone(), Arc::new(renamed)));
        }
        let schema = DFSchema::new_with_metadata(fields, HashMap::new())
            .map_err(|e| PlanError::invalid(format!("{e}; give the columns distinct aliases")))?;
        Ok(Generate {
            input,
            column,
            position,
            outer,
            names,
            schema: Arc::new(schema),
        })
    }

    /// The generator's name as Spark spells it (`posexplode_outer`, ...).
    pub fn function_name(&self) -> String {
        format!(
            "{}explode{}",
            if self.position { "pos" } else { "" },
            if self.outer { "_outer" } else { "" }
        )
    }
}

/// The generator call `expr` is (under an alias, if any): its name and argument.
fn generator_call(expr: &Expr) -> Option<(&str, &Expr)> {
    match expr.unaliased() {
        Expr::ScalarFunction { name, args } if is_generator(name) => match args.as_slice() {
            [arg] => Some((name.as_str(), arg)),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `name` is a generator function (`explode`, `unnest`, ...).
pub fn is_generator(name: &str) -> bool {
    GENERATORS.iter().any(|g| g.eq_ignore_ascii_case(name))
}

/// Whether `expr` calls a generator anywhere.
fn contains_generator(expr: &Expr) -> bool {
    let mut found = false;
    let _ = expr.apply(|e| {
        if let Expr::ScalarFunction { name, .. } = e
            && is_generator(name)
        {
            found = true;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// Whether the generator `name` (lower case) adds positions, and keeps rows without elements.
pub fn generator_flags(name: &str) -> (bool, bool) {
    (name.starts_with("pos"), name.ends_with("_outer"))
}

/// A [`Generate`] over `input` with `arg` (an array or map over `input`) projected as its
/// source column; `names` names the generated columns given their default names (`pos`,
/// `col`, `key`, `value`).
pub fn generate(
    input: LogicalPlan,
    arg: Expr,
    position: bool,
    outer: bool,
    registry: &FunctionRegistry,
    names: impl FnOnce(&[String]) -> Result<Vec<(Option<TableReference>, String)>>,
) -> Result<Generate> {
    let mut exprs: Vec<Expr> = input
        .schema()
        .columns()
        .into_iter()
        .map(Expr::Column)
        .collect();
    let column = exprs.len();
    exprs.push(arg.alias("__generator_input"));
    let projected = Projection::try_new(exprs, Arc::new(input), registry)?;
    let defaults: Vec<String> =
        generated_fields(projected.schema.field(column).data_type(), position)?
            .iter()
            .map(|f| f.name().clone())
            .collect();
    Generate::try_new(
        Arc::new(LogicalPlan::Projection(projected)),
        column,
        position,
        outer,
        names(&defaults)?,
    )
}

/// The generator plan for a select list bound over `input`: when one item is a generator call
/// (`explode(a) AS x`), `input` with the argument projected and a [`Generate`] over it, and the
/// items with the call replaced by the generated columns (named after the call's alias, or
/// `col`/`pos`/`key`/`value` as Spark names them). Without a generator, both as they are.
/// A generator anywhere but at the top of an item, or two of them, is an error.
pub fn plan_generator(
    input: LogicalPlan,
    items: Vec<Expr>,
    registry: &FunctionRegistry,
) -> Result<(LogicalPlan, Vec<Expr>)> {
    let calls: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, e)| generator_call(e).is_some())
        .map(|(i, _)| i)
        .collect();
    let nested = items
        .iter()
        .filter(|e| generator_call(e).is_none())
        .any(contains_generator);
    if nested
        || items
            .iter()
            .filter_map(generator_call)
            .any(|(_, arg)| contains_generator(arg))
    {
        return Err(PlanError::invalid(
            "a generator (explode, posexplode, unnest) must be a whole select item, not part of \
             an expression",
        ));
    }
    let index = match calls.as_slice() {
        [] => return Ok((input, items)),
        [index] => *index,
        _ => {
            return Err(PlanError::invalid(
                "only one generator (explode, posexplode, unnest) is allowed per select list",
            ));
        }
    };
    let Some((name, arg)) = generator_call(&items[index]) else {
        return Err(PlanError::Internal("generator call vanished".into()));
    };
    let name = name.to_ascii_lowercase();
    let (position, outer) = generator_flags(&name);
    let generate = generate(input, arg.clone(), position, outer, registry, |defaults| {
        Ok(defaults
            .iter()
            .map(|n| (None, format!("__generated_{n}")))
            .collect())
    })?;
    let internal = generate.names.clone();
    let default_names: Vec<&str> = internal
        .iter()
        .map(|(_, n)| n.trim_start_matches("__generated_"))
        .collect();
    let alias = match &items[index] {
        Expr::Alias { name, .. } => Some(name.clone()),
        _ => None,
    };
    let generated: Vec<Expr> = match (alias, default_names.len()) {
        (Some(alias), 1) => {
            vec![Expr::Column(Column::new_unqualified(&internal[0].1)).alias(alias)]
        }
        (Some(alias), n) => {
            return Err(PlanError::invalid(format!(
                "{name} makes {n} columns ({}); it cannot be given the one name '{alias}'",
                default_names.join(", ")
            )));
        }
        (None, _) => internal
            .iter()
            .zip(&default_names)
            .map(|((_, column), name)| Expr::Column(Column::new_unqualified(column)).alias(*name))
            .collect(),
    };
    let mut items = items;
    items.splice(index..=index, generated);
    Ok((LogicalPlan::Generate(generate), items))
}
