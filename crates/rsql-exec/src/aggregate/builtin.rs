//! The built-in aggregate functions.

use std::sync::Arc;

use crate::aggregate::AggregateUdf;
use crate::aggregate::average::Average;
use crate::aggregate::count::Count;
use crate::aggregate::count_values::CountValues;
use crate::aggregate::min_max::MinMax;
use crate::aggregate::row_sets::RowSetAggregate;
use crate::aggregate::sum::Sum;

/// Every built-in aggregate; `count(DISTINCT x)` is the aggregate named `count_distinct`.
pub fn builtin_aggregates() -> Vec<Arc<dyn AggregateUdf>> {
    vec![
        Arc::new(Count),
        Arc::new(Sum),
        Arc::new(Average),
        Arc::new(MinMax::min()),
        Arc::new(MinMax::max()),
        Arc::new(RowSetAggregate::count_distinct()),
        Arc::new(RowSetAggregate::collect_list()),
        Arc::new(RowSetAggregate::collect_set()),
        Arc::new(CountValues),
    ]
}
