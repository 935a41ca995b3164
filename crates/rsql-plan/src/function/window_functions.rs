//! The built-in window functions (ranking and offsets): their names, argument counts and result
//! types. Aggregates used with `OVER` are looked up among the aggregate functions instead.

use arrow_schema::DataType;
use serde::{Deserialize, Serialize};

use super::Arity;
use crate::error::Result;

/// A window function that is not an aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BuiltinWindowFunction {
    /// `row_number()`: 1, 2, 3, .. in the partition's order.
    RowNumber,
    /// `rank()`: 1 + the rows before the row's peers.
    Rank,
    /// `dense_rank()`: 1 + the distinct peer groups before the row's.
    DenseRank,
    /// `percent_rank()`: `(rank - 1) / (rows - 1)`, 0 for a single row.
    PercentRank,
    /// `cume_dist()`: the rows up to the row's last peer over the partition's rows.
    CumeDist,
    /// `ntile(n)`: the bucket 1..=n of the row when the partition is cut into `n` near-equal
    /// buckets (the first ones one row larger).
    Ntile,
    /// `lag(x [, offset [, default]])`: `x` of the row `offset` (1) rows before.
    Lag,
    /// `lead(x [, offset [, default]])`: `x` of the row `offset` (1) rows after.
    Lead,
    /// `first_value(x)`: `x` of the frame's first row.
    FirstValue,
    /// `last_value(x)`: `x` of the frame's last row.
    LastValue,
    /// `nth_value(x, n)`: `x` of the frame's `n`-th row.
    NthValue,
}

impl BuiltinWindowFunction {
    /// Every built-in window function.
    pub const ALL: [BuiltinWindowFunction; 11] = [
        Self::RowNumber,
        Self::Rank,
        Self::DenseRank,
        Self::PercentRank,
        Self::CumeDist,
        Self::Ntile,
        Self::Lag,
        Self::Lead,
        Self::FirstValue,
        Self::LastValue,
        Self::NthValue,
    ];

    /// The function called `name` (lower case), if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The SQL name.
    pub fn name(self) -> &'static str {
        match self {
            Self::RowNumber => "row_number",
            Self::Rank => "rank",
            Self::DenseRank => "dense_rank",
            Self::PercentRank => "percent_rank",
            Self::CumeDist => "cume_dist",
            Self::Ntile => "ntile",
            Self::Lag => "lag",
            Self::Lead => "lead",
            Self::FirstValue => "first_value",
            Self::LastValue => "last_value",
            Self::NthValue => "nth_value",
        }
    }

    /// How many arguments it takes.
    pub fn arity(self) -> Arity {
        match self {
            Self::RowNumber | Self::Rank | Self::DenseRank | Self::PercentRank | Self::CumeDist => {
                Arity::Exact(0)
            }
            Self::Ntile | Self::FirstValue | Self::LastValue => Arity::Exact(1),
            Self::NthValue => Arity::Exact(2),
            Self::Lag | Self::Lead => Arity::Range(1, 3),
        }
    }

    /// Whether `IGNORE NULLS` applies to it (it reads values of other rows).
    pub fn supports_null_treatment(self) -> bool {
        matches!(
            self,
            Self::Lag | Self::Lead | Self::FirstValue | Self::LastValue | Self::NthValue
        )
    }

    /// Whether its value depends on the frame (otherwise only on the partition and order).
    pub fn uses_frame(self) -> bool {
        matches!(self, Self::FirstValue | Self::LastValue | Self::NthValue)
    }

    /// The result type for (coerced) arguments of types `args`.
    pub fn return_type(self, args: &[DataType]) -> Result<DataType> {
        self.arity().check(self.name(), args.len())?;
        Ok(match self {
            Self::RowNumber | Self::Rank | Self::DenseRank | Self::Ntile => DataType::Int64,
            Self::PercentRank | Self::CumeDist => DataType::Float64,
            Self::Lag | Self::Lead | Self::FirstValue | Self::LastValue | Self::NthValue => {
                args[0].clone()
            }
        })
    }

    /// Whether the result can be NULL.
    pub fn nullable(self) -> bool {
        !matches!(
            self,
            Self::RowNumber
                | Self::Rank
                | Self::DenseRank
                | Self::PercentRank
                | Self::CumeDist
                | Self::Ntile
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_types_follow_the_arguments() {
        for function in BuiltinWindowFunction::ALL {
            assert_eq!(
                BuiltinWindowFunction::from_name(function.name()),
                Some(function)
            );
        }
        let lag = BuiltinWindowFunction::Lag;
        assert_eq!(lag.return_type(&[DataType::Utf8]).unwrap(), DataType::Utf8);
        assert!(lag.return_type(&[]).is_err());
        assert_eq!(
            BuiltinWindowFunction::CumeDist.return_type(&[]).unwrap(),
            DataType::Float64
        );
    }
}
