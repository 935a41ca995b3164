//! The approximate aggregates against exact answers computed row at a time: random data with
//! NULLs, skewed values and skewed groups, split at random into partitions whose partial states
//! are merged in the final phase, as a two-phase aggregation does.
//!
//! * `approx_count_distinct` is within 4 standard errors (`1.04 / sqrt(2^p)`) of the exact
//!   distinct count of every group;
//! * `approx_percentile` answers a value of the group whose rank is within the stated bound,
//!   `n (1 + log2(n / k)) / k`, of `ceil(p n)`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use proptest::prelude::*;
use rsql_exec::aggregate::{AggregateUdf, builtin_aggregates};

fn function(name: &str) -> Arc<dyn AggregateUdf> {
    builtin_aggregates()
        .into_iter()
        .find(|f| f.name() == name)
        .unwrap()
}

/// Rows of (group, value): groups skewed towards 0, values skewed towards small numbers (a
/// cube of a uniform draw), some NULL values; and the number of partitions to split them in.
fn rows(max_rows: usize) -> impl Strategy<Value = (Vec<(usize, Option<i64>)>, usize)> {
    let group = prop_oneof![6 => Just(0usize), 3 => 0usize..4];
    let value = prop_oneof![
        8 => (0.0f64..1.0).prop_map(|u| Some((u * u * u * 1e6) as i64)),
        1 => Just(None),
    ];
    (
        prop::collection::vec((group, value), 0..max_rows),
        1usize..6,
    )
}

/// Runs `name` over `rows` split round-robin-with-a-twist into `partitions`: each partition's
/// partial state is taken, and a final accumulator merges them all.
fn two_phase(
    name: &str,
    arg_types: &[DataType],
    rows: &[(usize, Option<i64>)],
    partitions: usize,
    constant_args: impl Fn(usize) -> Vec<ArrayRef>,
    value: impl Fn(&[Option<i64>]) -> ArrayRef,
) -> ArrayRef {
    let f = function(name);
    let total_groups = 4;
    let mut states = Vec::new();
    for part in 0..partitions {
        // Partition i takes rows whose index squared lands on it: uneven partitions.
        let mine: Vec<&(usize, Option<i64>)> = rows
            .iter()
            .enumerate()
            .filter(|(i, _)| (i * i + i / 7) % partitions == part)
            .map(|(_, row)| row)
            .collect();
        let groups: Vec<usize> = mine.iter().map(|(g, _)| *g).collect();
        let values: Vec<Option<i64>> = mine.iter().map(|(_, v)| *v).collect();
        let mut partial = f.accumulator(arg_types).unwrap();
        let mut args = vec![value(&values)];
        args.extend(constant_args(values.len()));
        partial.update_batch(&args, &groups, total_groups).unwrap();
        states.push(partial.state(total_groups).unwrap());
    }
    let mut last = f.accumulator(arg_types).unwrap();
    let groups: Vec<usize> = (0..total_groups).collect();
    for state in &states {
        last.merge_batch(state, &groups, total_groups).unwrap();
    }
    last.evaluate(total_groups).unwrap()
}

/// The exact non-null values of each group.
fn by_group(rows: &[(usize, Option<i64>)]) -> BTreeMap<usize, Vec<i64>> {
    let mut groups: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    for &(g, v) in rows {
        let values = groups.entry(g).or_default();
        if let Some(v) = v {
            values.push(v);
        }
    }
    groups
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn approx_count_distinct_is_within_four_standard_errors(
        (rows, partitions) in rows(6_000),
        rsd in prop_oneof![Just(0.05f64), Just(0.02), Just(0.1)],
        as_text in any::<bool>(),
    ) {
        // p = ceil(2 log2(1.106 / rsd)), as Spark.
        let p = (2.0 * (1.106 / rsd).log2()).ceil();
        let standard_error = 1.04 / 2f64.powf(p).sqrt();
        let value_type = if as_text { DataType::Utf8 } else { DataType::Int64 };
        let estimates = two_phase(
            "approx_count_distinct",
            &[value_type, DataType::Float64],
            &rows,
            partitions,
            |n| vec![Arc::new(Float64Array::from(vec![rsd; n]))],
            |values| if as_text {
                Arc::new(values.iter().map(|v| v.map(|v| format!("v{v}"))).collect::<StringArray>())
            } else {
                Arc::new(Int64Array::from(values.to_vec()))
            },
        );
        let estimates = estimates.as_primitive::<Int64Type>();
        prop_assert_eq!(estimates.null_count(), 0);
        let exact = by_group(&rows);
        for group in 0..4 {
            let truth = exact.get(&group).map_or(0, |v| v.iter().collect::<BTreeSet<_>>().len()) as f64;
            let estimate = estimates.value(group) as f64;
            // Half a unit for the rounding to an integer.
            prop_assert!(
                (estimate - truth).abs() <= 4.0 * standard_error * truth + 0.5,
                "group {} estimate {} truth {}", group, estimate, truth
            );
        }
    }

    #[test]
    fn approx_percentile_is_a_value_within_the_rank_bound(
        (rows, partitions) in rows(4_000),
        fraction in prop_oneof![Just(0.0f64), Just(1.0), 0.0f64..1.0],
        accuracy in prop_oneof![Just(10_000i64), 8i64..300],
        as_double in any::<bool>(),
    ) {
        let value_type = if as_double { DataType::Float64 } else { DataType::Int64 };
        let answers = two_phase(
            "approx_percentile",
            &[value_type, DataType::Float64, DataType::Int64],
            &rows,
            partitions,
            |n| vec![
                Arc::new(Float64Array::from(vec![fraction; n])),
                Arc::new(Int64Array::from(vec![accuracy; n])),
            ],
            |values| if as_double {
                Arc::new(values.iter().map(|v| v.map(|v| v as f64 / 8.0)).collect::<Float64Array>())
            } else {
                Arc::new(Int64Array::from(values.to_vec()))
            },
        );
        let answers: Vec<Option<f64>> = if as_double {
            answers.as_primitive::<Float64Type>().iter().collect()
        } else {
            answers.as_primitive::<Int64Type>().iter().map(|v| v.map(|v| v as f64)).collect()
        };
        let exact = by_group(&rows);
        let k = (accuracy.max(2) as f64 / 2.0).ceil() * 2.0;
        for (group, answer) in answers.into_iter().enumerate() {
            let mut values: Vec<f64> = exact.get(&group).map_or_else(Vec::new, |vs| {
                vs.iter().map(|&v| if as_double { v as f64 / 8.0 } else { v as f64 }).collect()
            });
            values.sort_by(f64::total_cmp);
            let Some(answer) = answer else {
                prop_assert!(values.is_empty(), "group {} has values but no answer", group);
                continue;
            };
            prop_assert!(values.contains(&answer), "{} is not a value of group {}", answer, group);
            let n = values.len() as f64;
            let target = (fraction * n).ceil().max(1.0);
            // The answer's ranks (1-based) among equal values: [first, last].
            let first = values.iter().filter(|&&v| v < answer).count() as f64 + 1.0;
            let last = values.iter().filter(|&&v| v <= answer).count() as f64;
            let error = (first - target).max(target - last).max(0.0);
            let bound = (n * (1.0 + (n / k).log2()) / k).max(0.0);
            prop_assert!(
                error <= bound,
                "group {} fraction {} k {}: rank error {} over bound {}", group, fraction, k, error, bound
            );
        }
    }
}
