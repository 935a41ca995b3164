//! Coercing expressions: the casts and checks the SQL binder applies, for expressions built any
//! way.
//!
//! [`TypeCoercion`] coerces one node whose operands are already coerced; the binder calls it as
//! it builds each node from SQL, and [`coerce_expr`] calls it bottom-up over a whole tree (the
//! DataFrame API's `col("a").gt(lit(5))`). Both therefore insert exactly the same casts, and
//! coercing an already coerced expression changes nothing.

use arrow_schema::DataType;
use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::{DFSchema, ScalarValue};

use super::{
    binary_types, cast_for_comparison, cast_if_needed, common_type, is_string, literal_decimal,
    value_type,
};
use crate::error::{PlanError, Result};
use crate::expr::{
    Expr, Operator, WindowFunction, WindowFunctionKind, lit, map_entry_types, struct_field,
};
use crate::function::{BuiltinWindowFunction, FunctionRegistry};

/// Casts `expr` (and everything under it) the way the SQL binder would: operands of operators
/// to the type they meet at, function arguments to their signatures' types, `struct(..)` to
/// `named_struct`, field names to the struct's spelling. Fails like the binder on operands that
/// do not fit.
pub fn coerce_expr(expr: Expr, schema: &DFSchema, registry: &FunctionRegistry) -> Result<Expr> {
    TypeCoercion::new(schema, registry).coerce(expr)
}

/// Coercion of expressions over rows of one schema, node by node.
///
/// Every method takes operands that are already coerced and returns the node with its operands
/// cast (or an error naming the types that do not fit, without a position: the binder adds it).
#[derive(Debug, Clone, Copy)]
pub struct TypeCoercion<'a> {
    schema: &'a DFSchema,
    registry: &'a FunctionRegistry,
}

impl<'a> TypeCoercion<'a> {
    /// Coercion over rows of `schema`, with function signatures from `registry`.
    pub fn new(schema: &'a DFSchema, registry: &'a FunctionRegistry) -> Self {
        TypeCoercion { schema, registry }
    }

    fn type_of(&self, expr: &Expr) -> Result<DataType> {
        expr.get_type(self.schema, self.registry)
    }

    /// Coerces every node of `expr`, innermost first.
    pub fn coerce(&self, expr: Expr) -> Result<Expr> {
        expr.transform_up(|node| Ok(Transformed::yes(self.coerce_node(node)?)))
            .map(|transformed| transformed.data)
            .map_err(PlanError::from_datafusion)
    }

    /// Coerces one node whose children are coerced.
    fn coerce_node(&self, expr: Expr) -> Result<Expr> {
        Ok(match expr {
            Expr::BinaryExpr { left, op, right } => self.binary(*left, op, *right)?,
            Expr::Not(expr) => self.not(*expr)?,
            Expr::Negative(expr) => self.negative(*expr)?,
            Expr::Case {
                operand,
                when_then,
                else_expr,
            } => {
                let (whens, thens) = when_then.into_iter().unzip();
                let (operand, whens) = self.case_whens(operand.map(|o| *o), whens)?;
                let (thens, else_expr) = self.case_results(thens, else_expr.map(|e| *e))?;
                Expr::Case {
                    operand: operand.map(Box::new),
                    when_then: whens.into_iter().zip(thens).collect(),
                    else_expr: else_expr.map(Box::new),
                }
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => self.in_list(*expr, list, negated)?,
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => self.between(*expr, negated, *low, *high)?,
            Expr::Like {
                negated,
                expr,
                pattern,
                case_insensitive,
            } => Expr::Like {
                negated,
                expr: Box::new(self.like_operand(*expr)?),
                pattern: Box::new(self.like_operand(*pattern)?),
                case_insensitive,
            },
            Expr::ScalarFunction { name, args } => self.scalar_call(&name, args)?,
            Expr::AggregateFunction {
                name,
                args,
                distinct,
            } => self.aggregate_call(&name, args, distinct)?,
            Expr::GetField { expr, name } => self.get_field(*expr, &name)?,
            Expr::MapGet { expr, key } => self.map_get(*expr, *key)?,
            Expr::WindowFunction(window) => self.window_call(*window)?,
            leaf_or_cast @ (Expr::Column(_)
            | Expr::Literal(_)
            | Expr::ScalarSubquery(_)
            | Expr::InSubquery { .. }
            | Expr::Exists { .. }
            | Expr::OuterColumn { .. }
            | Expr::Alias { .. }
            | Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::Cast { .. }
            | Expr::TryCast { .. }) => leaf_or_cast,
        })
    }

    /// `left op right` with both operands cast to the types the operator works in; operands of
    /// comparisons that are dictionaries of that type stay as they are. An integer literal next
    /// to a decimal first becomes the narrowest decimal holding it (Spark's rule), so `price * 2`
    /// is `DECIMAL(p + 2, s)`, not `DECIMAL(p + 21, s)`.
    pub fn binary(&self, left: Expr, op: Operator, right: Expr) -> Result<Expr> {
        let (left, right) = if op.is_logical() {
            (left, right)
        } else {
            let (lt, rt) = (self.type_of(&left)?, self.type_of(&right)?);
            (narrow_literal(left, &rt), narrow_literal(right, &lt))
        };
        let (lt, rt) = (self.type_of(&left)?, self.type_of(&right)?);
        let types = binary_types(&lt, op, &rt)?;
        let cast = if op.is_comparison() {
            cast_for_comparison
        } else {
            cast_if_needed
        };
        Ok(Expr::BinaryExpr {
            left: Box::new(cast(left, &lt, &types.left)),
            op,
            right: Box::new(cast(right, &rt, &types.right)),
        })
    }

    /// `exprs` cast to the type they all meet at; with `compared`, dictionary operands of that
    /// value type stay uncast (see [`cast_for_comparison`]).
    pub fn common(&self, exprs: Vec<Expr>, compared: bool) -> Result<Vec<Expr>> {
        let cast = if compared {
            cast_for_comparison
        } else {
            cast_if_needed
        };
        let types = exprs
            .iter()
            .map(|e| self.type_of(e))
            .collect::<Result<Vec<_>>>()?;
        let mut target = DataType::Null;
        for t in &types {
            target = common_type(&target, t).ok_or_else(|| {
                PlanError::type_mismatch(format!("cannot compare {target} with {t}"))
            })?;
        }
        Ok(exprs
            .into_iter()
            .zip(&types)
            .map(|(e, t)| cast(e, t, &target))
            .collect())
    }

    /// `expr [NOT] IN (list)`, the value and the candidates compared at their common type.
    pub fn in_list(&self, expr: Expr, list: Vec<Expr>, negated: bool) -> Result<Expr> {
        let mut all = self.common(std::iter::once(expr).chain(list).collect(), true)?;
        let expr = all.remove(0);
        Ok(Expr::InList {
            expr: Box::new(expr),
            list: all,
            negated,
        })
    }

    /// `expr [NOT] BETWEEN low AND high`, the three compared at their common type.
    pub fn between(&self, expr: Expr, negated: bool, low: Expr, high: Expr) -> Result<Expr> {
        let [expr, low, high]: [Expr; 3] = self
            .common(vec![expr, low, high], true)?
            .try_into()
            .map_err(|_| PlanError::Internal("BETWEEN arity".into()))?;
        Ok(Expr::Between {
            expr: Box::new(expr),
            negated,
            low: Box::new(low),
            high: Box::new(high),
        })
    }

    /// The operand and `WHEN` values of a CASE: with an operand, all compared at their common
    /// type; without one, each `WHEN` must be a boolean condition.
    pub fn case_whens(
        &self,
        operand: Option<Expr>,
        whens: Vec<Expr>,
    ) -> Result<(Option<Expr>, Vec<Expr>)> {
        match operand {
            Some(operand) => {
                let mut all = self.common(std::iter::once(operand).chain(whens).collect(), true)?;
                let operand = all.remove(0);
                Ok((Some(operand), all))
            }
            None => {
                let whens = whens
                    .into_iter()
                    .map(|when| self.boolean(when))
                    .collect::<Result<_>>()?;
                Ok((None, whens))
            }
        }
    }

    /// The `THEN` values and the `ELSE` value of a CASE, cast to the type they all meet at.
    pub fn case_results(
        &self,
        thens: Vec<Expr>,
        else_expr: Option<Expr>,
    ) -> Result<(Vec<Expr>, Option<Expr>)> {
        let has_else = else_expr.is_some();
        let mut results = self.common(thens.into_iter().chain(else_expr).collect(), false)?;
        let else_expr = if has_else { results.pop() } else { None };
        Ok((results, else_expr))
    }

    /// An operand of `LIKE`: a string (dictionaries and NULL cast to `Utf8`).
    pub fn like_operand(&self, expr: Expr) -> Result<Expr> {
        let t = self.type_of(&expr)?;
        if is_string(value_type(&t)) || t == DataType::Null {
            Ok(cast_if_needed(expr, &t, &DataType::Utf8))
        } else {
            Err(PlanError::type_mismatch(format!(
                "LIKE needs strings, got {t}"
            )))
        }
    }

    /// `-expr`, for numbers; an untyped NULL is taken as a `DOUBLE` (Spark's default numeric
    /// type), since the kernels cannot negate a NULL array.
    pub fn negative(&self, expr: Expr) -> Result<Expr> {
        match self.type_of(&expr)? {
            DataType::Null => Ok(-expr.cast_to(DataType::Float64)),
            t if t.is_numeric() => Ok(-expr),
            t => Err(PlanError::type_mismatch(format!("cannot negate {t}"))),
        }
    }

    /// `NOT expr`, for a boolean condition.
    pub fn not(&self, expr: Expr) -> Result<Expr> {
        Ok(!self.boolean(expr)?)
    }

    /// `expr` as a boolean condition: a boolean stays as it is, an untyped NULL becomes a
    /// boolean NULL (the operators and filters read their input as a boolean array); any
    /// other type fails.
    pub fn boolean(&self, expr: Expr) -> Result<Expr> {
        match self.type_of(&expr)? {
            DataType::Boolean => Ok(expr),
            DataType::Null => Ok(expr.cast_to(DataType::Boolean)),
            other => Err(PlanError::type_mismatch(format!(
                "expected a boolean condition, got {other}: {expr}"
            ))),
        }
    }

    /// A call of the scalar function `name` with its arguments cast to the signature's types;
    /// `struct(a, b)` becomes `named_struct('a', a, 'b', b)`. Literal-dependent checks (`window`
    /// durations, `named_struct` field names) run here too.
    pub fn scalar_call(&self, name: &str, args: Vec<Expr>) -> Result<Expr> {
        let name = name.to_lowercase();
        let (name, args) = match name.as_str() {
            "struct" => ("named_struct".to_string(), struct_to_named(args)),
            _ => (name, args),
        };
        let types = self.types_of(&args)?;
        let targets = self.registry.coerce_scalar_args(&name, &types)?;
        let call = Expr::ScalarFunction {
            name,
            args: cast_all(args, &types, &targets),
        };
        self.type_of(&call)?;
        Ok(call)
    }

    /// A call of the aggregate function `name` with its arguments cast to the signature's types.
    /// Aggregate calls cannot be nested, and `DISTINCT` needs an argument.
    pub fn aggregate_call(&self, name: &str, args: Vec<Expr>, distinct: bool) -> Result<Expr> {
        if let Some(nested) = args.iter().find(|a| a.contains_aggregate()) {
            return Err(PlanError::invalid(format!(
                "aggregate calls cannot be nested: {nested}"
            )));
        }
        if distinct && args.is_empty() {
            return Err(PlanError::invalid(format!(
                "{name}(DISTINCT *) is not valid"
            )));
        }
        let name = name.to_lowercase();
        let types = self.types_of(&args)?;
        let targets = self.registry.coerce_aggregate_args(&name, &types)?;
        let call = Expr::AggregateFunction {
            name,
            args: cast_all(args, &types, &targets),
            distinct,
        };
        self.type_of(&call)?;
        Ok(call)
    }

    /// A window call with its arguments cast to the function's types: an aggregate's to its
    /// signature, a `lag`/`lead` default to the value's type. The offsets of `lag`, `lead`,
    /// `nth_value` and the bucket count of `ntile` must be positive integer constants (zero
    /// is a valid `lag`/`lead` offset). Window calls cannot be nested.
    pub fn window_call(&self, window: WindowFunction) -> Result<Expr> {
        let inner = window
            .partition_by
            .iter()
            .chain(&window.args)
            .chain(window.order_by.iter().map(|key| &key.expr))
            .find(|e| e.contains_window());
        if let Some(nested) = inner {
            return Err(PlanError::invalid(format!(
                "window functions cannot be nested: {nested}"
            )));
        }
        let types = self.types_of(&window.args)?;
        let args = match &window.kind {
            WindowFunctionKind::Aggregate { name, distinct } => {
                if *distinct && window.args.is_empty() {
                    return Err(PlanError::invalid(format!(
                        "{name}(DISTINCT *) is not valid"
                    )));
                }
                let targets = self.registry.coerce_aggregate_args(name, &types)?;
                cast_all(window.args, &types, &targets)
            }
            WindowFunctionKind::Builtin(function) => {
                function.arity().check(function.name(), types.len())?;
                let mut args = window.args;
                let minimum = match function {
                    BuiltinWindowFunction::Lag | BuiltinWindowFunction::Lead => Some((1, 0)),
                    BuiltinWindowFunction::Ntile => Some((0, 1)),
                    BuiltinWindowFunction::NthValue => Some((1, 1)),
                    _ => None,
                };
                if let Some((index, least)) = minimum
                    && let Some(arg) = args.get_mut(index)
                {
                    *arg = lit(constant_count(function.name(), arg, least)?);
                }
                if let Some(default) = args.get_mut(2) {
                    let default_type = self.type_of(default)?;
                    if common_type(&default_type, &types[0]).is_none() {
                        return Err(PlanError::type_mismatch(format!(
                            "the default of {} must be of its value's type {}, not {default_type}",
                            function.name(),
                            types[0]
                        )));
                    }
                    *default = cast_if_needed(std::mem::take(default), &default_type, &types[0]);
                }
                args
            }
        };
        let call = Expr::WindowFunction(Box::new(WindowFunction { args, ..window }));
        self.type_of(&call)?;
        Ok(call)
    }

    /// `expr.name` on a struct, with the struct's own spelling of the field name.
    pub fn get_field(&self, expr: Expr, name: &str) -> Result<Expr> {
        let data_type = self.type_of(&expr)?;
        let field = struct_field(&data_type, name)?;
        Ok(expr.field(field.name()))
    }

    /// `map[key]` with the key cast to the map's key type.
    pub fn map_get(&self, map: Expr, key: Expr) -> Result<Expr> {
        let map_type = self.type_of(&map)?;
        let (key_type, _) = map_entry_types(&map_type)?;
        let given = self.type_of(&key)?;
        if common_type(&given, key_type).is_none() {
            return Err(PlanError::type_mismatch(format!(
                "a map with {key_type} keys cannot be indexed by {given}"
            )));
        }
        Ok(map.map_get(cast_if_needed(key, &given, key_type)))
    }

    fn types_of(&self, exprs: &[Expr]) -> Result<Vec<DataType>> {
        exprs.iter().map(|e| self.type_of(e)).collect()
    }
}

/// An integer literal `expr` as the narrowest decimal literal holding it when `other` is a
/// decimal; anything else unchanged.
fn narrow_literal(expr: Expr, other: &DataType) -> Expr {
    match (&expr, other) {
        (Expr::Literal(value), DataType::Decimal128(..)) => {
            match literal_decimal(value).and_then(|target| value.cast_to(&target).ok()) {
                Some(decimal) => Expr::Literal(decimal),
                None => expr,
            }
        }
        _ => expr,
    }
}

/// `args` cast from `types` to `targets`, pairwise.
/// `arg`, an offset or count of the window function `function`, as an integer constant of at
/// least `least`.
fn constant_count(function: &str, arg: &Expr, least: i64) -> Result<i64> {
    let value = match arg.unaliased() {
        Expr::Literal(value) => match value {
            ScalarValue::Int8(Some(v)) => Some(i64::from(*v)),
            ScalarValue::Int16(Some(v)) => Some(i64::from(*v)),
            ScalarValue::Int32(Some(v)) => Some(i64::from(*v)),
            ScalarValue::Int64(Some(v)) => Some(*v),
            _ => None,
        },
        _ => None,
    };
    match value {
        Some(v) if v >= least => Ok(v),
        _ => Err(PlanError::invalid(format!(
            "{function} expects an integer constant of at least {least}, not {arg}"
        ))),
    }
}

fn cast_all(args: Vec<Expr>, types: &[DataType], targets: &[DataType]) -> Vec<Expr> {
    args.into_iter()
        .zip(types.iter().zip(targets))
        .map(|(arg, (from, to))| cast_if_needed(arg, from, to))
        .collect()
}

/// `struct(a, b + 1)` as `named_struct('a', a, 'col2', b + 1)`: Spark names fields after
/// column arguments (or aliases) and `colN` otherwise.
fn struct_to_named(args: Vec<Expr>) -> Vec<Expr> {
    args.into_iter()
        .enumerate()
        .flat_map(|(i, arg)| {
            let name = match &arg {
                Expr::Column(column) => column.name.clone(),
                Expr::Alias { name, .. } => name.clone(),
                _ => format!("col{}", i + 1),
            };
            [lit(ScalarValue::Utf8(Some(name))), arg.unalias()]
        })
        .collect()
}
