//! Signatures of `grouping(key)` and `grouping_id(keys..)`: which group keys a result row of
//! `GROUPING SETS`, `ROLLUP` or `CUBE` aggregates over. They have no implementation: the
//! binder replaces each call by an expression over the grouping set number the aggregation
//! outputs (see [`Expand`](crate::plan::Expand)).

use std::sync::Arc;

use arrow_schema::DataType;

use super::{Arity, ScalarFunctionSignature};
use crate::error::Result;

/// `grouping(key)`: 1 where the row aggregates over every value of `key` (the key is NULL
/// because it was rolled up), else 0. With several keys it is `grouping_id` of them.
pub const GROUPING: &str = "grouping";

/// `grouping_id(k1, .., kn)`: the `grouping` bits of the keys, `k1`'s the most significant,
/// as Spark orders them; without arguments, of every group key in `GROUP BY` order.
pub const GROUPING_ID: &str = "grouping_id";

/// Whether `name` (lower case) is `grouping` or `grouping_id`.
pub fn is_grouping_function(name: &str) -> bool {
    name == GROUPING || name == GROUPING_ID
}

#[derive(Debug)]
struct GroupingSignature {
    name: &'static str,
    arity: Arity,
}

impl ScalarFunctionSignature for GroupingSignature {
    fn name(&self) -> &str {
        self.name
    }

    fn arity(&self) -> Arity {
        self.arity
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
}

/// The two grouping signatures.
pub(super) fn builtins() -> Vec<Arc<dyn ScalarFunctionSignature>> {
    vec![
        Arc::new(GroupingSignature {
            name: GROUPING,
            arity: Arity::AtLeast(1),
        }),
        Arc::new(GroupingSignature {
            name: GROUPING_ID,
            arity: Arity::AtLeast(0),
        }),
    ]
}
