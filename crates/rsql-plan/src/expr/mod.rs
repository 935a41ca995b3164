//! Logical expressions: what a query computes per row (or per group, for aggregates).

mod builder;
mod display;
mod schema;
mod tree;
mod utils;
mod window;

use std::sync::Arc;

use arrow_schema::DataType;
use datafusion_common::{Column, ScalarValue};
use serde::{Deserialize, Serialize};

pub use builder::{col, ident, lit};
pub use schema::{lookup_column, map_entry_types, struct_field};
pub use utils::{column_refs, conjunction, split_conjunction, split_disjunction, subqueries};
pub use window::{FrameBound, FrameUnits, WindowFrame, WindowFunction, WindowFunctionKind};

use crate::plan::LogicalPlan;

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operator {
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Multiply,
    /// `/` (between integers it still divides as doubles, as Spark does)
    Divide,
    /// `%`
    Modulo,
    /// `=`
    Eq,
    /// `!=` / `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `IS DISTINCT FROM`: `!=` with NULLs equal to each other (never NULL itself)
    IsDistinctFrom,
    /// `IS NOT DISTINCT FROM`: `=` with NULLs equal to each other (never NULL itself)
    IsNotDistinctFrom,
    /// `AND`
    And,
    /// `OR`
    Or,
}

impl Operator {
    /// Whether the operator is `+ - * / %`.
    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            Operator::Plus
                | Operator::Minus
                | Operator::Multiply
                | Operator::Divide
                | Operator::Modulo
        )
    }

    /// Whether the operator compares its operands and returns a boolean.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            Operator::Eq
                | Operator::NotEq
                | Operator::Lt
                | Operator::LtEq
                | Operator::Gt
                | Operator::GtEq
                | Operator::IsDistinctFrom
                | Operator::IsNotDistinctFrom
        )
    }

    /// Whether the operator is `AND` or `OR`.
    pub fn is_logical(self) -> bool {
        matches!(self, Operator::And | Operator::Or)
    }

    /// The SQL spelling of the operator.
    pub fn symbol(self) -> &'static str {
        match self {
            Operator::Plus => "+",
            Operator::Minus => "-",
            Operator::Multiply => "*",
            Operator::Divide => "/",
            Operator::Modulo => "%",
            Operator::Eq => "=",
            Operator::NotEq => "!=",
            Operator::Lt => "<",
            Operator::LtEq => "<=",
            Operator::Gt => ">",
            Operator::GtEq => ">=",
            Operator::IsDistinctFrom => "IS DISTINCT FROM",
            Operator::IsNotDistinctFrom => "IS NOT DISTINCT FROM",
            Operator::And => "AND",
            Operator::Or => "OR",
        }
    }
}

/// A logical expression.
///
/// Column references carry the resolved qualifier once bound. Functions are referenced by their
/// registered (lower-case) name; their signatures live in the
/// [`FunctionRegistry`](crate::FunctionRegistry).
///
/// Expressions serialize with serde (see [`crate::codec`] for the Arrow values they hold), so a
/// plan can be shipped to another process, which resolves the functions by name in its own
/// registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Expr {
    /// A column of the input, `t.a` or `a`.
    Column(#[serde(with = "crate::codec::column")] Column),
    /// A constant.
    Literal(#[serde(with = "crate::codec::scalar")] ScalarValue),
    /// `expr AS name`.
    Alias {
        /// The aliased expression.
        expr: Box<Expr>,
        /// The output name.
        name: String,
    },
    /// `left op right`.
    BinaryExpr {
        /// Left operand.
        left: Box<Expr>,
        /// The operator.
        op: Operator,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `NOT expr`.
    Not(Box<Expr>),
    /// `-expr`.
    Negative(Box<Expr>),
    /// `expr IS NULL`.
    IsNull(Box<Expr>),
    /// `expr IS NOT NULL`.
    IsNotNull(Box<Expr>),
    /// `CAST(expr AS data_type)`: NULL for a value that does not convert, or an error under
    /// ANSI mode.
    Cast {
        /// The value to convert.
        expr: Box<Expr>,
        /// The target type.
        #[serde(with = "crate::codec::data_type")]
        data_type: DataType,
    },
    /// `TRY_CAST(expr AS data_type)`: NULL for a value that does not convert, in every mode.
    TryCast {
        /// The value to convert.
        expr: Box<Expr>,
        /// The target type.
        #[serde(with = "crate::codec::data_type")]
        data_type: DataType,
    },
    /// `CASE [operand] WHEN .. THEN .. [ELSE ..] END`.
    Case {
        /// The operand of a simple CASE (`CASE x WHEN 1 THEN ..`); `None` for a searched CASE.
        operand: Option<Box<Expr>>,
        /// The `WHEN` / `THEN` pairs, in order.
        when_then: Vec<(Expr, Expr)>,
        /// The `ELSE` value; NULL when absent.
        else_expr: Option<Box<Expr>>,
    },
    /// `expr [NOT] IN (list)`.
    InList {
        /// The tested value.
        expr: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `expr [NOT] BETWEEN low AND high` (inclusive).
    Between {
        /// The tested value.
        expr: Box<Expr>,
        /// `NOT BETWEEN`.
        negated: bool,
        /// Lower bound.
        low: Box<Expr>,
        /// Upper bound.
        high: Box<Expr>,
    },
    /// `expr [NOT] LIKE pattern` / `ILIKE` (`%` and `_` wildcards, `\` escapes).
    Like {
        /// `NOT LIKE`.
        negated: bool,
        /// The tested string.
        expr: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// `ILIKE`: compare case-insensitively.
        case_insensitive: bool,
    },
    /// A call of a registered scalar function.
    ScalarFunction {
        /// Registered name, lower case.
        name: String,
        /// Arguments, already coerced to the types the signature asked for.
        args: Vec<Expr>,
    },
    /// A call of a registered aggregate function; only valid in an `Aggregate` node.
    AggregateFunction {
        /// Registered name, lower case.
        name: String,
        /// Arguments; `count(*)` has none.
        args: Vec<Expr>,
        /// `agg(DISTINCT ..)`.
        distinct: bool,
    },
    /// A window function call, `f(..) OVER (..)`; only valid in a `Window` node.
    WindowFunction(Box<WindowFunction>),
    /// Field access on a struct value: `a.b`, `window(ts, '1 hour').start`.
    GetField {
        /// The struct value.
        expr: Box<Expr>,
        /// The field name.
        name: String,
    },
    /// Map subscript: `m['k']` (NULL when the key is absent).
    MapGet {
        /// The map value.
        expr: Box<Expr>,
        /// The key.
        key: Box<Expr>,
    },
    /// `(SELECT ..)` as a value: its one column of at most one row, NULL when it has none.
    /// The optimizer rewrites it into a join; it never reaches execution (nor serde).
    #[serde(skip)]
    ScalarSubquery(Subquery),
    /// `expr [NOT] IN (SELECT ..)`; rewritten into a join by the optimizer.
    #[serde(skip)]
    InSubquery {
        /// The tested value.
        expr: Box<Expr>,
        /// The subquery, of one column.
        subquery: Subquery,
        /// `NOT IN`.
        negated: bool,
    },
    /// `[NOT] EXISTS (SELECT ..)`; rewritten into a join by the optimizer.
    #[serde(skip)]
    Exists {
        /// The subquery.
        subquery: Subquery,
        /// `NOT EXISTS`.
        negated: bool,
    },
    /// A column of an enclosing query, referenced from inside a subquery (a correlation).
    #[serde(skip)]
    OuterColumn {
        /// The column, as the enclosing query's input names it.
        column: Column,
        /// Its type.
        data_type: DataType,
    },
}

/// A subquery inside an expression: its bound plan and the SQL it was written as.
///
/// Two subqueries are equal when they share the same plan (not merely equal text), so
/// rewriting one occurrence never captures another.
#[derive(Debug, Clone)]
pub struct Subquery {
    /// The bound plan; columns of enclosing queries appear in it as [`Expr::OuterColumn`].
    pub plan: Arc<LogicalPlan>,
    /// The subquery's SQL text (shortened), to name it in plans and errors.
    pub sql: String,
}

impl Subquery {
    /// Whether the plan references columns of an enclosing query.
    pub fn is_correlated(&self) -> bool {
        self.plan.references_outer_columns()
    }
}

impl PartialEq for Subquery {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.plan, &other.plan)
    }
}

impl Eq for Subquery {}

impl std::hash::Hash for Subquery {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.plan), state);
    }
}

/// The NULL literal; lets `TreeNode` rewrites move expressions out of boxes.
impl Default for Expr {
    fn default() -> Self {
        Expr::Literal(ScalarValue::Null)
    }
}

/// One key of an `ORDER BY`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SortExpr {
    /// The sort key.
    pub expr: Expr,
    /// Ascending order.
    pub asc: bool,
    /// NULLs before non-NULL values.
    pub nulls_first: bool,
}

impl SortExpr {
    /// A sort key; Spark's defaults are `NULLS FIRST` for ascending, `NULLS LAST` for descending.
    pub fn new(expr: Expr, asc: bool, nulls_first: bool) -> Self {
        SortExpr {
            expr,
            asc,
            nulls_first,
        }
    }
}

impl Expr {
    /// `self AS name` (replacing an existing alias).
    pub fn alias(self, name: impl Into<String>) -> Expr {
        Expr::Alias {
            expr: Box::new(self.unalias()),
            name: name.into(),
        }
    }

    /// The expression producing a column named `name`: aliased only if its own output name
    /// differs.
    pub fn with_output_name(self, name: &str) -> Expr {
        if self.output_name() == name {
            self
        } else {
            self.alias(name)
        }
    }

    /// The expression without a top-level alias.
    pub fn unalias(self) -> Expr {
        match self {
            Expr::Alias { expr, .. } => *expr,
            other => other,
        }
    }

    fn binary(self, op: Operator, right: Expr) -> Expr {
        Expr::BinaryExpr {
            left: Box::new(self),
            op,
            right: Box::new(right),
        }
    }

    /// The expression under a top-level alias, by reference.
    pub fn unaliased(&self) -> &Expr {
        match self {
            Expr::Alias { expr, .. } => expr,
            other => other,
        }
    }

    /// `self = other`.
    pub fn eq(self, other: Expr) -> Expr {
        self.binary(Operator::Eq, other)
    }

    /// `self != other`.
    pub fn not_eq(self, other: Expr) -> Expr {
        self.binary(Operator::NotEq, other)
    }

    /// `self < other`.
    pub fn lt(self, other: Expr) -> Expr {
        self.binary(Operator::Lt, other)
    }

    /// `self <= other`.
    pub fn lt_eq(self, other: Expr) -> Expr {
        self.binary(Operator::LtEq, other)
    }

    /// `self > other`.
    pub fn gt(self, other: Expr) -> Expr {
        self.binary(Operator::Gt, other)
    }

    /// `self >= other`.
    pub fn gt_eq(self, other: Expr) -> Expr {
        self.binary(Operator::GtEq, other)
    }

    /// `self AND other`.
    pub fn and(self, other: Expr) -> Expr {
        self.binary(Operator::And, other)
    }

    /// `self OR other`.
    pub fn or(self, other: Expr) -> Expr {
        self.binary(Operator::Or, other)
    }

    /// `self IS NULL`.
    pub fn is_null(self) -> Expr {
        Expr::IsNull(Box::new(self))
    }

    /// `self IS NOT NULL`.
    pub fn is_not_null(self) -> Expr {
        Expr::IsNotNull(Box::new(self))
    }

    /// `CAST(self AS data_type)`.
    pub fn cast_to(self, data_type: DataType) -> Expr {
        Expr::Cast {
            expr: Box::new(self),
            data_type,
        }
    }

    /// `TRY_CAST(self AS data_type)`.
    pub fn try_cast_to(self, data_type: DataType) -> Expr {
        Expr::TryCast {
            expr: Box::new(self),
            data_type,
        }
    }

    /// `self.name` on a struct.
    pub fn field(self, name: impl Into<String>) -> Expr {
        Expr::GetField {
            expr: Box::new(self),
            name: name.into(),
        }
    }

    /// `self[key]` on a map.
    pub fn map_get(self, key: Expr) -> Expr {
        Expr::MapGet {
            expr: Box::new(self),
            key: Box::new(key),
        }
    }

    /// `self ASC|DESC` with Spark's default null placement.
    pub fn sort(self, asc: bool) -> SortExpr {
        SortExpr::new(self, asc, asc)
    }

    /// Whether the expression contains an aggregate function call.
    pub fn contains_aggregate(&self) -> bool {
        utils::any_subexpr(self, &|e| matches!(e, Expr::AggregateFunction { .. }))
    }

    /// Whether the expression contains a window function call.
    pub fn contains_window(&self) -> bool {
        utils::any_subexpr(self, &|e| matches!(e, Expr::WindowFunction(_)))
    }

    /// Whether the expression contains a subquery.
    pub fn contains_subquery(&self) -> bool {
        utils::any_subexpr(self, &|e| {
            matches!(
                e,
                Expr::ScalarSubquery(_) | Expr::InSubquery { .. } | Expr::Exists { .. }
            )
        })
    }

    /// Whether the expression reads a column of an enclosing query.
    pub fn contains_outer_column(&self) -> bool {
        utils::any_subexpr(self, &|e| matches!(e, Expr::OuterColumn { .. }))
    }
}

impl std::ops::Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::Not(Box::new(self))
    }
}

impl std::ops::Neg for Expr {
    type Output = Expr;
    fn neg(self) -> Expr {
        Expr::Negative(Box::new(self))
    }
}

macro_rules! arithmetic_operator {
    ($trait:ident, $method:ident, $op:expr) => {
        impl std::ops::$trait for Expr {
            type Output = Expr;
            fn $method(self, rhs: Expr) -> Expr {
                self.binary($op, rhs)
            }
        }
    };
}

arithmetic_operator!(Add, add, Operator::Plus);
arithmetic_operator!(Sub, sub, Operator::Minus);
arithmetic_operator!(Mul, mul, Operator::Multiply);
arithmetic_operator!(Div, div, Operator::Divide);
arithmetic_operator!(Rem, rem, Operator::Modulo);
