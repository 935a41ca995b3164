//! The queries the fuzzer generates, as a small tree: generated once, rendered for each engine
//! (they differ only in date literals) and shrunk clause by clause when a query fails.

use std::fmt::Write;

use super::schema::{SqlType, Value, date_text};

/// What a rendering is for: the two engines spell date literals differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// rsql: `DATE '2024-02-26'`.
    Rsql,
    /// SQLite, where dates are ISO text: `'2024-02-26'`.
    Sqlite,
}

/// The kind of value an expression has, as far as the generator cares: both integer widths
/// are one kind (the comparison treats them alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `INTEGER` or `BIGINT`.
    Integer,
    /// `DOUBLE`.
    Double,
    /// `VARCHAR`.
    Text,
    /// `BOOLEAN`.
    Bool,
    /// `DATE`.
    Date,
}

impl From<SqlType> for Kind {
    fn from(ty: SqlType) -> Kind {
        match ty {
            SqlType::Int | SqlType::BigInt => Kind::Integer,
            SqlType::Double => Kind::Double,
            SqlType::Text => Kind::Text,
            SqlType::Bool => Kind::Bool,
            SqlType::Date => Kind::Date,
        }
    }
}

impl Kind {
    /// Integers and doubles.
    pub fn is_numeric(self) -> bool {
        matches!(self, Kind::Integer | Kind::Double)
    }
}

/// Binary operators; every use is parenthesised, so precedence never differs between engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Multiply,
    /// `/` (only ever with a `DOUBLE` left side: rsql divides integers as Spark does, to a
    /// double, SQLite truncates).
    Divide,
    /// `%`
    Modulo,
    /// `=`
    Eq,
    /// `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `AND`
    And,
    /// `OR`
    Or,
    /// `||` (string concatenation)
    Concat,
}

impl BinaryOp {
    fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Plus => "+",
            BinaryOp::Minus => "-",
            BinaryOp::Multiply => "*",
            BinaryOp::Divide => "/",
            BinaryOp::Modulo => "%",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
            BinaryOp::Concat => "||",
        }
    }
}

/// Aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    /// `count(*)` when it has no argument.
    Count,
    /// `sum`
    Sum,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `avg`
    Avg,
}

impl AggFunc {
    fn name(self) -> &'static str {
        match self {
            AggFunc::Count => "count",
            AggFunc::Sum => "sum",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::Avg => "avg",
        }
    }
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `alias.name`
    Column {
        /// The relation's alias.
        relation: String,
        /// The column's name.
        name: String,
    },
    /// A literal; dates render per dialect.
    Literal(Value),
    /// `(NOT e)`
    Not(Box<Expr>),
    /// `(- e)`
    Negate(Box<Expr>),
    /// `(l op r)`
    Binary {
        /// The operator.
        op: BinaryOp,
        /// The left operand.
        left: Box<Expr>,
        /// The right operand.
        right: Box<Expr>,
    },
    /// `(e IS [NOT] NULL)`
    IsNull {
        /// The operand.
        expr: Box<Expr>,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `(e [NOT] IN (list))`
    InList {
        /// The operand.
        expr: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `(e [NOT] BETWEEN low AND high)`
    Between {
        /// The operand.
        expr: Box<Expr>,
        /// The lower bound.
        low: Box<Expr>,
        /// The upper bound.
        high: Box<Expr>,
        /// `NOT BETWEEN`.
        negated: bool,
    },
    /// `(e [NOT] LIKE 'pattern')`, matched case-sensitively in both engines.
    Like {
        /// The operand.
        expr: Box<Expr>,
        /// The pattern.
        pattern: String,
        /// `NOT LIKE`.
        negated: bool,
    },
    /// `CASE [operand] WHEN .. THEN .. [ELSE ..] END`
    Case {
        /// The operand of the simple form.
        operand: Option<Box<Expr>>,
        /// `WHEN` / `THEN` pairs.
        branches: Vec<(Expr, Expr)>,
        /// The `ELSE` value.
        otherwise: Option<Box<Expr>>,
    },
    /// A scalar function both engines define alike (`coalesce`, `nullif`, `upper`, `lower`,
    /// `length`, `substring`).
    Function {
        /// Its name.
        name: &'static str,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// `CAST(e AS type)`.
    Cast {
        /// The operand.
        expr: Box<Expr>,
        /// The target type.
        ty: SqlType,
    },
    /// An aggregate: `count(*)` when `arg` is `None`.
    Aggregate {
        /// The function.
        func: AggFunc,
        /// Its argument.
        arg: Option<Box<Expr>>,
        /// `DISTINCT`.
        distinct: bool,
    },
    /// `([NOT] EXISTS (query))`
    Exists {
        /// The subquery.
        query: Box<Query>,
        /// `NOT EXISTS`.
        negated: bool,
    },
    /// `(e [NOT] IN (query))`
    InSubquery {
        /// The operand.
        expr: Box<Expr>,
        /// The subquery (one column).
        query: Box<Query>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `(query)` returning at most one row of one column.
    ScalarSubquery(Box<Query>),
}

/// The kinds of join the generator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// `JOIN .. ON`
    Inner,
    /// `LEFT JOIN .. ON`
    Left,
    /// `RIGHT JOIN .. ON`
    Right,
    /// `FULL JOIN .. ON`
    Full,
    /// `CROSS JOIN`, no condition.
    Cross,
}

impl JoinKind {
    fn keyword(self) -> &'static str {
        match self {
            JoinKind::Inner => "JOIN",
            JoinKind::Left => "LEFT JOIN",
            JoinKind::Right => "RIGHT JOIN",
            JoinKind::Full => "FULL JOIN",
            JoinKind::Cross => "CROSS JOIN",
        }
    }
}

/// What a `FROM` item reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A base table.
    Table(String),
    /// A derived table `(query)`.
    Derived(Box<Query>),
}

/// A `FROM` item with its alias.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    /// What it reads.
    pub source: Source,
    /// Its alias (every relation has one).
    pub alias: String,
}

/// A join onto the relations before it.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    /// The kind.
    pub kind: JoinKind,
    /// The joined relation.
    pub relation: Relation,
    /// The `ON` condition (`None` for `CROSS JOIN`).
    pub on: Option<Expr>,
}

/// One `SELECT` block. Output columns are named `c0`, `c1`, ...
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// `SELECT DISTINCT`.
    pub distinct: bool,
    /// The output expressions.
    pub items: Vec<Expr>,
    /// The first relation.
    pub from: Relation,
    /// Joins onto it, in order.
    pub joins: Vec<Join>,
    /// `WHERE`.
    pub filter: Option<Expr>,
    /// `GROUP BY`.
    pub group_by: Vec<Expr>,
    /// `HAVING`.
    pub having: Option<Expr>,
    /// `ORDER BY` output positions, descending or not; when present it lists every output
    /// column, so the order is total.
    pub order_by: Vec<(usize, bool)>,
    /// `LIMIT` (only with a total `ORDER BY`, so the rows kept are determined).
    pub limit: Option<u64>,
}

/// The set operations SQLite shares with rsql (no `ALL` forms but `UNION ALL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    /// `UNION`
    Union,
    /// `UNION ALL`
    UnionAll,
    /// `INTERSECT`
    Intersect,
    /// `EXCEPT`
    Except,
}

impl SetOp {
    fn keyword(self) -> &'static str {
        match self {
            SetOp::Union => "UNION",
            SetOp::UnionAll => "UNION ALL",
            SetOp::Intersect => "INTERSECT",
            SetOp::Except => "EXCEPT",
        }
    }
}

/// A query: one `SELECT`, or two joined by a set operation (SQLite gives all set operations
/// one precedence, the standard binds `INTERSECT` tighter, so there are never more than two).
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// A `SELECT` block.
    Select(Box<Select>),
    /// `left op right`.
    SetOperation {
        /// The operation.
        op: SetOp,
        /// The left input (no `ORDER BY` or `LIMIT`).
        left: Box<Select>,
        /// The right input (no `ORDER BY` or `LIMIT`).
        right: Box<Select>,
    },
}

impl Query {
    /// The SQL text for `dialect`.
    pub fn to_sql(&self, dialect: Dialect) -> String {
        let mut out = String::new();
        self.write(&mut out, dialect);
        out
    }

    /// Whether rows come back in a determined order (a total `ORDER BY` at the top).
    pub fn is_ordered(&self) -> bool {
        matches!(self, Query::Select(s) if !s.order_by.is_empty())
    }

    fn write(&self, out: &mut String, dialect: Dialect) {
        match self {
            Query::Select(select) => select.write(out, dialect),
            Query::SetOperation { op, left, right } => {
                left.write(out, dialect);
                let _ = write!(out, " {} ", op.keyword());
                right.write(out, dialect);
            }
        }
    }
}

impl Select {
    fn write(&self, out: &mut String, dialect: Dialect) {
        out.push_str("SELECT ");
        if self.distinct {
            out.push_str("DISTINCT ");
        }
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            item.write(out, dialect);
            let _ = write!(out, " AS c{i}");
        }
        out.push_str(" FROM ");
        self.from.write(out, dialect);
        for join in &self.joins {
            let _ = write!(out, " {} ", join.kind.keyword());
            join.relation.write(out, dialect);
            if let Some(on) = &join.on {
                out.push_str(" ON ");
                on.write(out, dialect);
            }
        }
        write_clause(out, " WHERE ", self.filter.as_ref(), dialect);
        if !self.group_by.is_empty() {
            out.push_str(" GROUP BY ");
            write_list(out, &self.group_by, dialect);
        }
        write_clause(out, " HAVING ", self.having.as_ref(), dialect);
        if !self.order_by.is_empty() {
            out.push_str(" ORDER BY ");
            for (i, (position, descending)) in self.order_by.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "c{position}{}", if *descending { " DESC" } else { "" });
            }
        }
        if let Some(limit) = self.limit {
            let _ = write!(out, " LIMIT {limit}");
        }
    }
}

impl Relation {
    fn write(&self, out: &mut String, dialect: Dialect) {
        match &self.source {
            Source::Table(name) => out.push_str(name),
            Source::Derived(query) => {
                out.push('(');
                query.write(out, dialect);
                out.push(')');
            }
        }
        let _ = write!(out, " AS {}", self.alias);
    }
}

fn write_clause(out: &mut String, keyword: &str, expr: Option<&Expr>, dialect: Dialect) {
    if let Some(expr) = expr {
        out.push_str(keyword);
        expr.write(out, dialect);
    }
}

fn write_list(out: &mut String, exprs: &[Expr], dialect: Dialect) {
    for (i, expr) in exprs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        expr.write(out, dialect);
    }
}

impl Expr {
    /// The expression's SQL text for `dialect`.
    pub fn to_sql(&self, dialect: Dialect) -> String {
        let mut out = String::new();
        self.write(&mut out, dialect);
        out
    }

    fn write(&self, out: &mut String, dialect: Dialect) {
        match self {
            Expr::Column { relation, name } => {
                let _ = write!(out, "{relation}.{name}");
            }
            Expr::Literal(Value::Date(days)) if dialect == Dialect::Rsql => {
                let _ = write!(out, "DATE '{}'", date_text(*days));
            }
            Expr::Literal(value) => out.push_str(&value.sql_literal()),
            Expr::Not(e) => {
                out.push_str("(NOT ");
                e.write(out, dialect);
                out.push(')');
            }
            Expr::Negate(e) => {
                out.push_str("(- ");
                e.write(out, dialect);
                out.push(')');
            }
            Expr::Binary { op, left, right } => {
                out.push('(');
                left.write(out, dialect);
                let _ = write!(out, " {} ", op.symbol());
                right.write(out, dialect);
                out.push(')');
            }
            Expr::IsNull { expr, negated } => {
                out.push('(');
                expr.write(out, dialect);
                out.push_str(if *negated {
                    " IS NOT NULL)"
                } else {
                    " IS NULL)"
                });
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                out.push('(');
                expr.write(out, dialect);
                if *negated {
                    out.push_str(" NOT");
                }
                out.push_str(" IN (");
                write_list(out, list, dialect);
                out.push_str("))");
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                out.push('(');
                expr.write(out, dialect);
                if *negated {
                    out.push_str(" NOT");
                }
                out.push_str(" BETWEEN ");
                low.write(out, dialect);
                out.push_str(" AND ");
                high.write(out, dialect);
                out.push(')');
            }
            Expr::Like {
                expr,
                pattern,
                negated,
            } => {
                out.push('(');
                expr.write(out, dialect);
                if *negated {
                    out.push_str(" NOT");
                }
                out.push_str(" LIKE ");
                out.push_str(&Value::Text(pattern.clone()).sql_literal());
                out.push(')');
            }
            Expr::Case {
                operand,
                branches,
                otherwise,
            } => {
                out.push_str("CASE");
                if let Some(operand) = operand {
                    out.push(' ');
                    operand.write(out, dialect);
                }
                for (when, then) in branches {
                    out.push_str(" WHEN ");
                    when.write(out, dialect);
                    out.push_str(" THEN ");
                    then.write(out, dialect);
                }
                write_clause(out, " ELSE ", otherwise.as_deref(), dialect);
                out.push_str(" END");
            }
            Expr::Function { name, args } => {
                let _ = write!(out, "{name}(");
                write_list(out, args, dialect);
                out.push(')');
            }
            Expr::Cast { expr, ty } => {
                out.push_str("CAST(");
                expr.write(out, dialect);
                let _ = write!(out, " AS {})", ty.rsql_name());
            }
            Expr::Aggregate {
                func,
                arg,
                distinct,
            } => {
                let _ = write!(out, "{}(", func.name());
                match arg {
                    None => out.push('*'),
                    Some(arg) => {
                        if *distinct {
                            out.push_str("DISTINCT ");
                        }
                        arg.write(out, dialect);
                    }
                }
                out.push(')');
            }
            Expr::Exists { query, negated } => {
                out.push_str(if *negated {
                    "(NOT EXISTS ("
                } else {
                    "(EXISTS ("
                });
                query.write(out, dialect);
                out.push_str("))");
            }
            Expr::InSubquery {
                expr,
                query,
                negated,
            } => {
                out.push('(');
                expr.write(out, dialect);
                if *negated {
                    out.push_str(" NOT");
                }
                out.push_str(" IN (");
                query.write(out, dialect);
                out.push_str("))");
            }
            Expr::ScalarSubquery(query) => {
                out.push('(');
                query.write(out, dialect);
                out.push(')');
            }
        }
    }
}
