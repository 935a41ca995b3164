//! Window function calls: `f(args) OVER (PARTITION BY .. ORDER BY .. frame)`, evaluated per row
//! over the rows of its partition by a `Window` plan node.

use std::fmt;

use datafusion_common::ScalarValue;
use serde::{Deserialize, Serialize};

use super::{Expr, SortExpr};
use crate::function::BuiltinWindowFunction;

/// What a window call computes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WindowFunctionKind {
    /// A ranking or offset function.
    Builtin(BuiltinWindowFunction),
    /// A registered aggregate function over the frame's rows.
    Aggregate {
        /// Registered name, lower case.
        name: String,
        /// `agg(DISTINCT ..)`.
        distinct: bool,
    },
}

impl WindowFunctionKind {
    /// The function's name.
    pub fn name(&self) -> &str {
        match self {
            WindowFunctionKind::Builtin(function) => function.name(),
            WindowFunctionKind::Aggregate { name, .. } => name,
        }
    }
}

/// Whether a frame counts rows or compares `ORDER BY` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FrameUnits {
    /// `ROWS`: offsets count rows.
    Rows,
    /// `RANGE`: offsets are distances in the (single) `ORDER BY` value; the current row's peers
    /// are always in.
    Range,
}

/// One end of a window frame.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FrameBound {
    /// The partition's first row.
    UnboundedPreceding,
    /// This many rows (`ROWS`, an `Int64`) or this distance (`RANGE`: a number or an interval)
    /// before the current row.
    Preceding(#[serde(with = "crate::codec::scalar")] ScalarValue),
    /// The current row (with `RANGE`, its first or last peer).
    CurrentRow,
    /// As [`FrameBound::Preceding`], after the current row.
    Following(#[serde(with = "crate::codec::scalar")] ScalarValue),
    /// The partition's last row.
    UnboundedFollowing,
}

/// The rows of its partition a window function sees for each row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WindowFrame {
    /// `ROWS` or `RANGE`.
    pub units: FrameUnits,
    /// Where the frame starts.
    pub start: FrameBound,
    /// Where the frame ends (inclusive).
    pub end: FrameBound,
}

impl WindowFrame {
    /// The SQL default: with `ORDER BY`, `RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`
    /// (the rows up to the current row's last peer); without, the whole partition.
    pub fn default_for(ordered: bool) -> Self {
        WindowFrame {
            units: FrameUnits::Range,
            start: FrameBound::UnboundedPreceding,
            end: if ordered {
                FrameBound::CurrentRow
            } else {
                FrameBound::UnboundedFollowing
            },
        }
    }

    /// Whether every row's frame is its whole partition.
    pub fn is_whole_partition(&self) -> bool {
        self.start == FrameBound::UnboundedPreceding && self.end == FrameBound::UnboundedFollowing
    }
}

/// `f(args) OVER (..)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WindowFunction {
    /// The function.
    pub kind: WindowFunctionKind,
    /// Its arguments, coerced to its signature.
    pub args: Vec<Expr>,
    /// `PARTITION BY` keys.
    pub partition_by: Vec<Expr>,
    /// `ORDER BY` keys.
    pub order_by: Vec<SortExpr>,
    /// The frame (the default one if none was written).
    pub frame: WindowFrame,
    /// `IGNORE NULLS`: offset functions skip rows whose value is NULL.
    pub ignore_nulls: bool,
}

impl fmt::Display for FrameBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameBound::UnboundedPreceding => f.write_str("UNBOUNDED PRECEDING"),
            FrameBound::Preceding(offset) => write!(f, "{offset} PRECEDING"),
            FrameBound::CurrentRow => f.write_str("CURRENT ROW"),
            FrameBound::Following(offset) => write!(f, "{offset} FOLLOWING"),
            FrameBound::UnboundedFollowing => f.write_str("UNBOUNDED FOLLOWING"),
        }
    }
}

impl fmt::Display for WindowFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = match self.units {
            FrameUnits::Rows => "ROWS",
            FrameUnits::Range => "RANGE",
        };
        write!(f, "{units} BETWEEN {} AND {}", self.start, self.end)
    }
}

/// Writes the `OVER (..)` clause of `window` with `key` printing each expression.
pub(super) fn write_over(
    f: &mut fmt::Formatter<'_>,
    window: &WindowFunction,
    key: impl Fn(&Expr) -> String,
) -> fmt::Result {
    if window.ignore_nulls {
        f.write_str(" IGNORE NULLS")?;
    }
    f.write_str(" OVER (")?;
    if !window.partition_by.is_empty() {
        let keys: Vec<String> = window.partition_by.iter().map(&key).collect();
        write!(f, "PARTITION BY {} ", keys.join(", "))?;
    }
    if !window.order_by.is_empty() {
        let keys: Vec<String> = window
            .order_by
            .iter()
            .map(|s| {
                let direction = if s.asc { "ASC" } else { "DESC" };
                let nulls = if s.nulls_first { "FIRST" } else { "LAST" };
                format!("{} {direction} NULLS {nulls}", key(&s.expr))
            })
            .collect();
        write!(f, "ORDER BY {} ", keys.join(", "))?;
    }
    write!(f, "{})", window.frame)
}
