//! A small predicate language used only to skip data: partitions and Parquet row groups.
//!
//! Pruning is conservative: a container (partition or row group) is skipped only when its
//! value ranges prove that no row in it can satisfy the predicate. Whatever survives must
//! still be filtered by the caller.

use arrow::array::{Array, ArrayRef, BooleanArray, UInt64Array};
use arrow::compute::kernels::cmp;
use arrow::compute::{and_kleene, cast, or_kleene};
use arrow::datatypes::DataType;
use arrow::error::ArrowError;

use arrow::array::Scalar;

use crate::error::{IoError, Result};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

/// A literal value: a one-element Arrow array of any type.
#[derive(Debug, Clone)]
pub struct Literal(ArrayRef);

impl Literal {
    /// Wraps a one-element array; errors when the array has another length.
    pub fn try_new(value: ArrayRef) -> Result<Self> {
        if value.len() != 1 {
            return Err(IoError::Invalid(format!(
                "a literal must hold exactly one value, got {}",
                value.len()
            )));
        }
        Ok(Literal(value))
    }

    /// The one-element array.
    pub fn value(&self) -> &ArrayRef {
        &self.0
    }
}

impl std::fmt::Display for CmpOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CmpOp::Eq => "=",
            CmpOp::Lt => "<",
            CmpOp::LtEq => "<=",
            CmpOp::Gt => ">",
            CmpOp::GtEq => ">=",
        })
    }
}

/// SQL-style text of the value: strings quoted, others as Arrow prints them.
impl std::fmt::Display for Literal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let options = arrow::util::display::FormatOptions::default().with_null("NULL");
        let text = arrow::util::display::ArrayFormatter::try_new(self.0.as_ref(), &options)
            .map_err(|_| std::fmt::Error)?
            .value(0)
            .to_string();
        match self.0.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View if !self.0.is_null(0) => {
                write!(f, "'{text}'")
            }
            _ => f.write_str(&text),
        }
    }
}

macro_rules! literal_from {
    ($($native:ty => $array:ty),* $(,)?) => {
        $(impl From<$native> for Literal {
            fn from(value: $native) -> Self {
                Literal(std::sync::Arc::new(<$array>::from(vec![value])))
            }
        })*
    };
}

literal_from!(
    i32 => arrow::array::Int32Array,
    i64 => arrow::array::Int64Array,
    f64 => arrow::array::Float64Array,
    bool => arrow::array::BooleanArray,
    &str => arrow::array::StringArray,
    String => arrow::array::StringArray,
);

/// A predicate over named columns that may be used to skip data.
#[derive(Debug, Clone)]
pub enum Predicate {
    /// `column op value`
    Compare {
        /// The column name.
        column: String,
        /// The operator.
        op: CmpOp,
        /// The right-hand side.
        value: Literal,
    },
    /// `column IN (values)`
    In {
        /// The column name.
        column: String,
        /// The candidate values.
        values: Vec<Literal>,
    },
    /// `column IS NULL`
    IsNull {
        /// The column name.
        column: String,
    },
    /// All of the given predicates hold.
    And(Vec<Predicate>),
}

/// SQL-style text, for plan displays: `k = 'a' AND x IN (1, 2)`.
impl std::fmt::Display for Predicate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Predicate::Compare { column, op, value } => write!(f, "{column} {op} {value}"),
            Predicate::In { column, values } => {
                let values: Vec<String> = values.iter().map(ToString::to_string).collect();
                write!(f, "{column} IN ({})", values.join(", "))
            }
            Predicate::IsNull { column } => write!(f, "{column} IS NULL"),
            Predicate::And(parts) => {
                let parts: Vec<String> = parts.iter().map(ToString::to_string).collect();
                f.write_str(&parts.join(" AND "))
            }
        }
    }
}

impl Predicate {
    /// `column op value`
    pub fn compare(column: &str, op: CmpOp, value: impl Into<Literal>) -> Self {
        Predicate::Compare {
            column: column.to_string(),
            op,
            value: value.into(),
        }
    }

    /// `column = value`
    pub fn eq(column: &str, value: impl Into<Literal>) -> Self {
        Self::compare(column, CmpOp::Eq, value)
    }

    /// `column IN (values)`
    pub fn is_in<L: Into<Literal>>(column: &str, values: impl IntoIterator<Item = L>) -> Self {
        Predicate::In {
            column: column.to_string(),
            values: values.into_iter().map(Into::into).collect(),
        }
    }

    /// `column IS NULL`
    pub fn is_null(column: &str) -> Self {
        Predicate::IsNull {
            column: column.to_string(),
        }
    }

    /// Every column name the predicate mentions.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Predicate::Compare { column, .. }
            | Predicate::In { column, .. }
            | Predicate::IsNull { column } => vec![column.as_str()],
            Predicate::And(parts) => parts.iter().flat_map(Predicate::columns).collect(),
        }
    }

    /// Which of `count` containers may hold matching rows, given their value ranges.
    ///
    /// `ranges` answers for a column name; `None` means "unknown", which keeps everything.
    pub fn may_match(
        &self,
        count: usize,
        ranges: &dyn Fn(&str) -> Option<ValueRanges>,
    ) -> std::result::Result<Vec<bool>, ArrowError> {
        let keep = self.evaluate(count, ranges)?;
        Ok((0..count)
            .map(|i| keep.is_null(i) || keep.value(i))
            .collect())
    }

    fn evaluate(
        &self,
        count: usize,
        ranges: &dyn Fn(&str) -> Option<ValueRanges>,
    ) -> std::result::Result<BooleanArray, ArrowError> {
        let unknown = || BooleanArray::new_null(count);
        match self {
            Predicate::And(parts) => parts
                .iter()
                .try_fold(BooleanArray::from(vec![true; count]), |acc, part| {
                    and_kleene(&acc, &part.evaluate(count, ranges)?)
                }),
            Predicate::IsNull { column } => Ok(match ranges(column) {
                Some(ValueRanges {
                    null_counts: Some(nulls),
                    ..
                }) => nulls.iter().map(|n| n.map(|n| n > 0)).collect(),
                _ => unknown(),
            }),
            Predicate::Compare { column, op, value } => match ranges(column) {
                Some(r) => r.compare(*op, value),
                None => Ok(unknown()),
            },
            Predicate::In { column, values } => match ranges(column) {
                Some(r) => values
                    .iter()
                    .try_fold(BooleanArray::from(vec![false; count]), |acc, value| {
                        or_kleene(&acc, &r.compare(CmpOp::Eq, value)?)
                    }),
                None => Ok(unknown()),
            },
        }
    }
}

/// Per-container statistics of one column: min and max values and optional null and row counts.
#[derive(Debug, Clone)]
pub struct ValueRanges {
    /// Minimum per container (null when unknown).
    pub mins: ArrayRef,
    /// Maximum per container (null when unknown).
    pub maxes: ArrayRef,
    /// Null count per container, if known.
    pub null_counts: Option<UInt64Array>,
    /// Row count per container, if known.
    pub row_counts: Option<UInt64Array>,
}

impl ValueRanges {
    /// Whether each container may hold a row with `column op value`; null means "unknown".
    fn compare(&self, op: CmpOp, value: &Literal) -> std::result::Result<BooleanArray, ArrowError> {
        let count = self.mins.len();
        let Some(common) = comparable_type(self.mins.data_type(), value.0.data_type()) else {
            return Ok(BooleanArray::new_null(count));
        };
        let mins = cast(&self.mins, &common)?;
        let maxes = cast(&self.maxes, &common)?;
        let literal = cast(&value.0, &common)?;
        let v = Scalar::new(literal);
        let may = match op {
            CmpOp::Eq => and_kleene(&cmp::lt_eq(&mins, &v)?, &cmp::gt_eq(&maxes, &v)?)?,
            CmpOp::Lt => cmp::lt(&mins, &v)?,
            CmpOp::LtEq => cmp::lt_eq(&mins, &v)?,
            CmpOp::Gt => cmp::gt(&maxes, &v)?,
            CmpOp::GtEq => cmp::gt_eq(&maxes, &v)?,
        };
        // A container whose rows are all null satisfies no comparison.
        Ok(match (&self.null_counts, &self.row_counts) {
            (Some(nulls), Some(rows)) => (0..count)
                .map(|i| {
                    let all_null =
                        nulls.is_valid(i) && rows.is_valid(i) && nulls.value(i) == rows.value(i);
                    if all_null {
                        Some(false)
                    } else {
                        may.is_valid(i).then(|| may.value(i))
                    }
                })
                .collect(),
            _ => may,
        })
    }
}

/// The type in which statistics of type `stats` and a literal of type `literal` compare
/// without changing either's meaning, or `None` when pruning should not be attempted.
fn comparable_type(stats: &DataType, literal: &DataType) -> Option<DataType> {
    let stats = match stats {
        DataType::Dictionary(_, value) => value.as_ref(),
        other => other,
    };
    if stats == literal {
        return Some(stats.clone());
    }
    let is_string =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    if stats.is_integer() && literal.is_integer() {
        return Some(DataType::Int64);
    }
    if stats.is_numeric() && literal.is_numeric() {
        return Some(DataType::Float64);
    }
    if is_string(stats) && is_string(literal) {
        return Some(DataType::Utf8);
    }
    let is_temporal = |t: &DataType| {
        matches!(
            t,
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
        )
    };
    if is_temporal(stats) && is_temporal(literal) {
        return Some(stats.clone());
    }
    None
}
