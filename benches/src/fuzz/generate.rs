//! Random queries over a [`Database`], typed so that every query is valid in both engines and
//! limited to the forms whose meaning SQLite and rsql share:
//!
//! * integers are never divided (rsql's `/` gives a double as Spark's does, SQLite's
//!   truncates): `/` always has a `DOUBLE` left side;
//! * `*` and `%` take a small literal on the right, so values stay far from overflow (SQLite
//!   turns an overflowing integer into a REAL, Spark wraps);
//! * `CAST` only between numbers and from integers to text (SQLite's text of a double or a
//!   boolean differs from Spark's);
//! * `LIKE` runs case-sensitively in both (the oracle sets `PRAGMA case_sensitive_like`), with
//!   no `ESCAPE`; text is ASCII, so byte order is the collation of both;
//! * `min`/`max` are not applied to booleans (SQLite stores them as 0/1);
//! * only functions both engines have: no `abs` (rsql has none yet), `substring` rather than
//!   `substr`, `DISTINCT` in `count` only (rsql refuses it in the other aggregates);
//! * set operations have two inputs and no `ALL` but `UNION ALL`; `HAVING` comes with
//!   `GROUP BY`; `LIMIT` only under an `ORDER BY` of every output column;
//! * subqueries appear in `WHERE` and in the select list of queries without aggregates, never
//!   in `ON` or aggregate arguments.

use rand::RngExt;
use rand::seq::IndexedRandom;

use super::FuzzRng;
use super::ast::{
    AggFunc, BinaryOp, Expr, Join, JoinKind, Kind, Query, Relation, Select, SetOp, Source,
};
use super::schema::{Database, SqlType, Value, random_value};

/// A column visible to an expression.
#[derive(Debug, Clone)]
struct ScopeColumn {
    relation: String,
    name: String,
    kind: Kind,
}

impl ScopeColumn {
    fn expr(&self) -> Expr {
        Expr::Column {
            relation: self.relation.clone(),
            name: self.name.clone(),
        }
    }
}

/// Where an expression is generated.
#[derive(Clone, Copy)]
struct Cx<'s> {
    /// Columns of the query's own `FROM`.
    columns: &'s [ScopeColumn],
    /// Columns of the enclosing query (a correlated subquery's `WHERE` may use them).
    outer: &'s [ScopeColumn],
    /// In an aggregate query: the group keys, which (with aggregates) are all the select list,
    /// `HAVING` and `ORDER BY` may use.
    keys: Option<&'s [(Expr, Kind)]>,
    /// Nesting left before only leaves are generated.
    depth: u32,
    /// Whether subqueries may appear here.
    subqueries: bool,
}

impl Cx<'_> {
    fn deeper(self) -> Self {
        Cx {
            depth: self.depth.saturating_sub(1),
            ..self
        }
    }

    /// One level deeper, without subqueries.
    fn plain(self) -> Self {
        Cx {
            subqueries: false,
            ..self.deeper()
        }
    }

    /// The context of an aggregate's argument: the rows before grouping.
    fn rows(self) -> Self {
        Cx {
            keys: None,
            ..self.plain()
        }
    }
}

/// Generates queries over one database.
pub struct QueryGenerator<'a> {
    rng: &'a mut FuzzRng,
    db: &'a Database,
    next_alias: usize,
}

/// LIKE patterns over the generated words (see `schema::WORDS`).
/// No backslash: rsql's LIKE escapes with it by default (as Spark's), SQLite's has no escape.
const PATTERNS: [&str; 8] = ["a%", "%b%", "_", "a_", "%", "A%", "%_y", "%%y"];

impl<'a> QueryGenerator<'a> {
    /// A generator drawing from `rng`.
    pub fn new(rng: &'a mut FuzzRng, db: &'a Database) -> Self {
        QueryGenerator {
            rng,
            db,
            next_alias: 0,
        }
    }

    /// A random top-level query.
    pub fn query(&mut self) -> Query {
        self.next_alias = 0;
        if self.rng.random_bool(0.15) {
            let (left, kinds) = self.select(&[], None, false, 1);
            let (right, _) = self.select(&[], Some(&kinds), false, 1);
            let op = *[
                SetOp::Union,
                SetOp::UnionAll,
                SetOp::Intersect,
                SetOp::Except,
            ]
            .choose(self.rng)
            .expect("set operations");
            Query::SetOperation {
                op,
                left: Box::new(left),
                right: Box::new(right),
            }
        } else {
            Query::Select(Box::new(self.select(&[], None, true, 1).0))
        }
    }

    fn alias(&mut self) -> String {
        self.next_alias += 1;
        format!("r{}", self.next_alias)
    }

    /// A `SELECT` block and the kinds of its columns (`kinds` when given). `nesting` bounds
    /// derived tables and subqueries inside it.
    fn select(
        &mut self,
        outer: &[ScopeColumn],
        kinds: Option<&[Kind]>,
        ordered: bool,
        nesting: u32,
    ) -> (Select, Vec<Kind>) {
        let (from, mut columns) = self.relation(nesting);
        let join_count = *[0, 0, 1, 1, 2].choose(self.rng).expect("join counts");
        let mut joins = Vec::new();
        for _ in 0..join_count {
            let (join, joined) = self.join(&columns, nesting);
            joins.push(join);
            columns.extend(joined);
        }
        let row_cx = Cx {
            columns: &columns,
            outer,
            keys: None,
            depth: 3,
            subqueries: nesting > 0,
        };
        let filter = self
            .rng
            .random_bool(0.6)
            .then(|| self.expr(Kind::Bool, row_cx));

        let grouped = self.rng.random_bool(0.35);
        let keys: Vec<(Expr, Kind)> = if grouped {
            let count = self.rng.random_range(0..=2);
            (0..count)
                .filter_map(|_| columns.choose(self.rng))
                .map(|c| (c.expr(), c.kind))
                .collect()
        } else {
            Vec::new()
        };
        let item_cx = Cx {
            keys: grouped.then_some(keys.as_slice()),
            subqueries: nesting > 0 && !grouped,
            ..row_cx
        };
        let kinds: Vec<Kind> = match kinds {
            Some(kinds) => kinds.to_vec(),
            None => (0..self.rng.random_range(1..=4))
                .map(|_| self.kind())
                .collect(),
        };
        let items = kinds.iter().map(|&k| self.expr(k, item_cx)).collect();
        let having =
            (!keys.is_empty() && self.rng.random_bool(0.4)).then(|| self.expr(Kind::Bool, item_cx));

        let mut order_by = Vec::new();
        let mut limit = None;
        if ordered && self.rng.random_bool(0.3) {
            order_by = (0..kinds.len())
                .map(|i| (i, self.rng.random_bool(0.4)))
                .collect();
            order_by.rotate_left(self.rng.random_range(0..kinds.len()));
            limit = self
                .rng
                .random_bool(0.6)
                .then(|| self.rng.random_range(0..8));
        }
        let select = Select {
            distinct: self.rng.random_bool(0.15),
            items,
            from,
            joins,
            filter,
            group_by: keys.into_iter().map(|(e, _)| e).collect(),
            having,
            order_by,
            limit,
        };
        (select, kinds)
    }

    fn kind(&mut self) -> Kind {
        *[
            Kind::Integer,
            Kind::Integer,
            Kind::Double,
            Kind::Text,
            Kind::Bool,
            Kind::Date,
        ]
        .choose(self.rng)
        .expect("kinds")
    }

    /// A base table, or (while `nesting` allows) a derived table, with its columns.
    fn relation(&mut self, nesting: u32) -> (Relation, Vec<ScopeColumn>) {
        if nesting > 0 && self.rng.random_bool(0.12) {
            let (select, kinds) = self.select(&[], None, true, nesting - 1);
            let alias = self.alias();
            let columns = kinds
                .into_iter()
                .enumerate()
                .map(|(i, kind)| ScopeColumn {
                    relation: alias.clone(),
                    name: format!("c{i}"),
                    kind,
                })
                .collect();
            let source = Source::Derived(Box::new(Query::Select(Box::new(select))));
            return (Relation { source, alias }, columns);
        }
        let table = self.db.tables.choose(self.rng).expect("tables");
        let alias = self.alias();
        let columns = table
            .columns
            .iter()
            .map(|c| ScopeColumn {
                relation: alias.clone(),
                name: c.name.clone(),
                kind: c.ty.into(),
            })
            .collect();
        let source = Source::Table(table.name.clone());
        (Relation { source, alias }, columns)
    }

    /// A join onto relations with `left` columns: the join and the new relation's columns.
    fn join(&mut self, left: &[ScopeColumn], nesting: u32) -> (Join, Vec<ScopeColumn>) {
        let kind = *[
            JoinKind::Inner,
            JoinKind::Inner,
            JoinKind::Left,
            JoinKind::Right,
            JoinKind::Full,
            JoinKind::Cross,
        ]
        .choose(self.rng)
        .expect("join kinds");
        let (relation, right) = self.relation(nesting);
        let on = (kind != JoinKind::Cross).then(|| {
            let both: Vec<ScopeColumn> = left.iter().chain(&right).cloned().collect();
            let cx = Cx {
                columns: &both,
                outer: &[],
                keys: None,
                depth: 2,
                subqueries: false,
            };
            let equi = self.equality(left, &right);
            match (equi, self.rng.random_range(0..4)) {
                (Some(equi), 0 | 1) => equi,
                (Some(equi), 2) => and(equi, self.expr(Kind::Bool, cx)),
                _ => self.comparison(cx),
            }
        });
        (Join { kind, relation, on }, right)
    }

    /// `l = r` for a random pair of columns of one kind, one from each side.
    fn equality(&mut self, left: &[ScopeColumn], right: &[ScopeColumn]) -> Option<Expr> {
        let pairs: Vec<(&ScopeColumn, &ScopeColumn)> = left
            .iter()
            .flat_map(|l| right.iter().map(move |r| (l, r)))
            .filter(|(l, r)| l.kind == r.kind)
            .collect();
        let (l, r) = pairs.choose(self.rng)?;
        Some(binary(BinaryOp::Eq, l.expr(), r.expr()))
    }

    /// An expression of `kind`.
    fn expr(&mut self, kind: Kind, cx: Cx) -> Expr {
        if cx.depth == 0 || self.rng.random_bool(0.35) {
            return self.leaf(kind, cx);
        }
        let inner = cx.deeper();
        match kind {
            Kind::Integer => self.integer(inner),
            Kind::Double => self.double(inner),
            Kind::Text => self.text(inner),
            Kind::Bool => self.boolean(inner),
            Kind::Date => match self.rng.random_range(0..2) {
                0 => self.case(kind, inner),
                _ => self.coalesce(kind, inner),
            },
        }
    }

    fn integer(&mut self, cx: Cx) -> Expr {
        match self.rng.random_range(0..11) {
            0 | 1 => {
                let op = *[BinaryOp::Plus, BinaryOp::Minus]
                    .choose(self.rng)
                    .expect("ops");
                binary(
                    op,
                    self.expr(Kind::Integer, cx),
                    self.expr(Kind::Integer, cx),
                )
            }
            2 => binary(
                BinaryOp::Multiply,
                self.expr(Kind::Integer, cx),
                small_int(self.rng, -3..=3),
            ),
            3 => binary(
                BinaryOp::Modulo,
                self.expr(Kind::Integer, cx),
                small_int(self.rng, 1..=4),
            ),
            4 => Expr::Negate(Box::new(self.expr(Kind::Integer, cx))),
            5 => function("length", vec![self.expr(Kind::Text, cx)]),
            6 => Expr::Cast {
                expr: Box::new(self.expr(Kind::Double, cx)),
                ty: SqlType::BigInt,
            },
            7 => self.case(Kind::Integer, cx),
            8 => self.coalesce(Kind::Integer, cx),
            9 => function(
                "nullif",
                vec![self.expr(Kind::Integer, cx), self.expr(Kind::Integer, cx)],
            ),
            _ => self.scalar_subquery(Kind::Integer, cx),
        }
    }

    fn double(&mut self, cx: Cx) -> Expr {
        match self.rng.random_range(0..9) {
            0 | 1 => {
                let op = *[BinaryOp::Plus, BinaryOp::Minus]
                    .choose(self.rng)
                    .expect("ops");
                let other = self.numeric_kind();
                binary(op, self.expr(Kind::Double, cx), self.expr(other, cx))
            }
            2 => binary(
                BinaryOp::Multiply,
                self.expr(Kind::Double, cx),
                small_int(self.rng, -3..=3),
            ),
            3 => {
                let divisor = self.numeric_kind();
                binary(
                    BinaryOp::Divide,
                    self.expr(Kind::Double, cx),
                    self.expr(divisor, cx),
                )
            }
            4 => Expr::Cast {
                expr: Box::new(self.expr(Kind::Integer, cx)),
                ty: SqlType::Double,
            },
            5 => self.case(Kind::Double, cx),
            6 => self.coalesce(Kind::Double, cx),
            7 => Expr::Negate(Box::new(self.expr(Kind::Double, cx))),
            _ => self.scalar_subquery(Kind::Double, cx),
        }
    }

    fn text(&mut self, cx: Cx) -> Expr {
        match self.rng.random_range(0..7) {
            0 => function("upper", vec![self.expr(Kind::Text, cx)]),
            1 => function("lower", vec![self.expr(Kind::Text, cx)]),
            2 => function(
                "substring",
                vec![
                    self.expr(Kind::Text, cx),
                    small_int(self.rng, 1..=3),
                    small_int(self.rng, 0..=2),
                ],
            ),
            3 => binary(
                BinaryOp::Concat,
                self.expr(Kind::Text, cx),
                self.expr(Kind::Text, cx),
            ),
            4 => Expr::Cast {
                expr: Box::new(self.expr(Kind::Integer, cx)),
                ty: SqlType::Text,
            },
            5 => self.case(Kind::Text, cx),
            _ => self.coalesce(Kind::Text, cx),
        }
    }

    fn boolean(&mut self, cx: Cx) -> Expr {
        match self.rng.random_range(0..13) {
            0..=2 => self.comparison(cx),
            3 | 4 => {
                let op = *[BinaryOp::And, BinaryOp::Or].choose(self.rng).expect("ops");
                binary(op, self.expr(Kind::Bool, cx), self.expr(Kind::Bool, cx))
            }
            5 => Expr::Not(Box::new(self.expr(Kind::Bool, cx))),
            6 => {
                let kind = self.kind();
                Expr::IsNull {
                    expr: Box::new(self.expr(kind, cx)),
                    negated: self.rng.random_bool(0.5),
                }
            }
            7 => {
                let kind = self.kind();
                let len = self.rng.random_range(1..=4);
                Expr::InList {
                    expr: Box::new(self.expr(kind, cx)),
                    // No subqueries in the list: the SQL parser rejects `x IN ((SELECT ..), y)`.
                    list: (0..len).map(|_| self.expr(kind, cx.plain())).collect(),
                    negated: self.rng.random_bool(0.3),
                }
            }
            8 => {
                let kind = self.kind();
                Expr::Between {
                    expr: Box::new(self.expr(kind, cx)),
                    low: Box::new(self.literal(kind)),
                    high: Box::new(self.literal(kind)),
                    negated: self.rng.random_bool(0.3),
                }
            }
            9 => Expr::Like {
                expr: Box::new(self.expr(Kind::Text, cx)),
                pattern: PATTERNS.choose(self.rng).expect("patterns").to_string(),
                negated: self.rng.random_bool(0.3),
            },
            10 => self.case(Kind::Bool, cx),
            _ if cx.subqueries && cx.keys.is_none() => self.predicate_subquery(cx),
            _ => self.comparison(cx),
        }
    }

    /// `l op r` for two expressions of one kind (or two numbers).
    fn comparison(&mut self, cx: Cx) -> Expr {
        let op = *[
            BinaryOp::Eq,
            BinaryOp::NotEq,
            BinaryOp::Lt,
            BinaryOp::LtEq,
            BinaryOp::Gt,
            BinaryOp::GtEq,
        ]
        .choose(self.rng)
        .expect("comparisons");
        let kind = self.kind();
        let right_kind = if kind.is_numeric() {
            self.numeric_kind()
        } else {
            kind
        };
        binary(op, self.expr(kind, cx), self.expr(right_kind, cx))
    }

    fn numeric_kind(&mut self) -> Kind {
        if self.rng.random_bool(0.5) {
            Kind::Integer
        } else {
            Kind::Double
        }
    }

    fn case(&mut self, kind: Kind, cx: Cx) -> Expr {
        let branches = self.rng.random_range(1..=2);
        let operand_kind = self.rng.random_bool(0.3).then(|| self.kind());
        let operand = operand_kind.map(|k| Box::new(self.expr(k, cx)));
        let when_kind = operand_kind.unwrap_or(Kind::Bool);
        let branches = (0..branches)
            .map(|_| (self.expr(when_kind, cx), self.expr(kind, cx)))
            .collect();
        let otherwise = self
            .rng
            .random_bool(0.6)
            .then(|| Box::new(self.expr(kind, cx)));
        Expr::Case {
            operand,
            branches,
            otherwise,
        }
    }

    fn coalesce(&mut self, kind: Kind, cx: Cx) -> Expr {
        let len = self.rng.random_range(2..=3);
        function("coalesce", (0..len).map(|_| self.expr(kind, cx)).collect())
    }

    /// A column, key, aggregate or literal of `kind`.
    fn leaf(&mut self, kind: Kind, cx: Cx) -> Expr {
        if let Some(keys) = cx.keys {
            let matching: Vec<&Expr> = keys
                .iter()
                .filter(|(_, k)| *k == kind)
                .map(|(e, _)| e)
                .collect();
            return match self.rng.random_range(0..10) {
                0..=3 if !matching.is_empty() => {
                    (*matching.choose(self.rng).expect("keys")).clone()
                }
                0..=7 => self
                    .aggregate(kind, cx)
                    .unwrap_or_else(|| self.literal(kind)),
                _ => self.literal(kind),
            };
        }
        let outer = cx.outer.iter().filter(|c| c.kind == kind);
        let local = cx.columns.iter().filter(|c| c.kind == kind);
        let candidates: Vec<&ScopeColumn> = if self.rng.random_bool(0.25) {
            outer.collect()
        } else {
            local.collect()
        };
        match candidates.choose(self.rng) {
            Some(column) if self.rng.random_bool(0.85) => column.expr(),
            _ => self.literal(kind),
        }
    }

    /// An aggregate whose result has `kind`, if some aggregate has.
    fn aggregate(&mut self, kind: Kind, cx: Cx) -> Option<Expr> {
        let rows = cx.rows();
        let (func, arg) = match kind {
            Kind::Integer => match self.rng.random_range(0..4) {
                0 => (AggFunc::Count, None),
                1 => {
                    let kind = self.kind();
                    (AggFunc::Count, Some(self.expr(kind, rows)))
                }
                2 => (AggFunc::Sum, Some(self.expr(Kind::Integer, rows))),
                _ => (self.min_or_max(), Some(self.expr(Kind::Integer, rows))),
            },
            Kind::Double => match self.rng.random_range(0..3) {
                0 => (AggFunc::Sum, Some(self.expr(Kind::Double, rows))),
                1 => {
                    let kind = self.numeric_kind();
                    (AggFunc::Avg, Some(self.expr(kind, rows)))
                }
                _ => (self.min_or_max(), Some(self.expr(Kind::Double, rows))),
            },
            Kind::Text | Kind::Date => (self.min_or_max(), Some(self.expr(kind, rows))),
            Kind::Bool => return None,
        };
        // rsql supports DISTINCT in count only (`not supported yet: max(DISTINCT ..)`).
        let distinct = func == AggFunc::Count && arg.is_some() && self.rng.random_bool(0.3);
        Some(Expr::Aggregate {
            func,
            arg: arg.map(Box::new),
            distinct,
        })
    }

    fn min_or_max(&mut self) -> AggFunc {
        if self.rng.random_bool(0.5) {
            AggFunc::Min
        } else {
            AggFunc::Max
        }
    }

    fn literal(&mut self, kind: Kind) -> Expr {
        let ty = match kind {
            Kind::Integer => SqlType::Int,
            Kind::Double => SqlType::Double,
            Kind::Text => SqlType::Text,
            Kind::Bool => SqlType::Bool,
            Kind::Date => SqlType::Date,
        };
        Expr::Literal(random_value(self.rng, ty, 0.05, 10))
    }

    /// `EXISTS`, `NOT EXISTS`, `IN` or `NOT IN` over a subquery, correlated or not.
    fn predicate_subquery(&mut self, cx: Cx) -> Expr {
        let negated = self.rng.random_bool(0.3);
        if self.rng.random_bool(0.5) {
            let query = self.subquery(cx, |_, _| Expr::Literal(Value::Int(1)));
            return Expr::Exists {
                query: Box::new(query),
                negated,
            };
        }
        let kind = self.kind();
        let expr = Box::new(self.expr(kind, cx.rows()));
        let query = self.subquery(cx, |g, inner| g.expr(kind, inner));
        Expr::InSubquery {
            expr,
            query: Box::new(query),
            negated,
        }
    }

    /// `(SELECT agg(..) FROM ..)`: one row, one column of `kind`.
    fn scalar_subquery(&mut self, kind: Kind, cx: Cx) -> Expr {
        if !cx.subqueries || cx.keys.is_some() || kind == Kind::Bool {
            return self.leaf(kind, cx);
        }
        let query = self.subquery(cx, |g, inner| {
            let no_keys = Cx {
                keys: Some(&[]),
                ..inner
            };
            g.aggregate(kind, no_keys)
                .expect("numeric kinds have aggregates")
        });
        Expr::ScalarSubquery(Box::new(query))
    }

    /// A one-table subquery selecting `item`, its `WHERE` often correlated with `cx`'s
    /// columns by an equality.
    fn subquery(&mut self, cx: Cx, item: impl FnOnce(&mut Self, Cx) -> Expr) -> Query {
        let (from, columns) = self.relation(0);
        let inner = Cx {
            columns: &columns,
            outer: cx.columns,
            keys: None,
            depth: 2,
            subqueries: false,
        };
        let correlation = if self.rng.random_bool(0.6) {
            self.equality(&columns, cx.columns)
        } else {
            None
        };
        let predicate = self
            .rng
            .random_bool(0.5)
            .then(|| self.expr(Kind::Bool, inner));
        let filter = match (correlation, predicate) {
            (Some(c), Some(p)) => Some(and(c, p)),
            (c, p) => c.or(p),
        };
        // The select list stays uncorrelated: outer references there are a feature of their own.
        let item = item(
            self,
            Cx {
                outer: &[],
                ..inner
            },
        );
        Query::Select(Box::new(Select {
            distinct: false,
            items: vec![item],
            from,
            joins: Vec::new(),
            filter,
            group_by: Vec::new(),
            having: None,
            order_by: Vec::new(),
            limit: None,
        }))
    }
}

fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    Expr::Binary {
        op,
        left: Box::new(left),
        right: Box::new(right),
    }
}

fn and(left: Expr, right: Expr) -> Expr {
    binary(BinaryOp::And, left, right)
}

fn function(name: &'static str, args: Vec<Expr>) -> Expr {
    Expr::Function { name, args }
}

fn small_int(rng: &mut FuzzRng, range: std::ops::RangeInclusive<i64>) -> Expr {
    Expr::Literal(Value::Int(rng.random_range(range)))
}
