//! The statistical aggregates, run as partial states over random splits of random data into
//! partitions and batches and merged in random order, checked against the textbook two-pass
//! formulas computed row at a time: first the means, then the sums of (co-)deviations from
//! them. The data includes large values close together (1e9 + noise), where the one-pass
//! sum-of-squares formula loses every digit; the merged states must still agree with the
//! two-pass answers to about 1e-9, relative to each statistic's scale.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use proptest::prelude::*;
use rsql_exec::aggregate::{AggregateUdf, builtin_aggregates};

/// `(group, x, y)`.
type Row = (usize, Option<f64>, Option<f64>);

const GROUPS: usize = 3;

/// The aggregates under test: `f(x)` or `f(y, x)` (the `regr_*` order; the others symmetric).
const ONE: [&str; 4] = ["var_samp", "var_pop", "stddev_samp", "stddev_pop"];
const TWO: [&str; 12] = [
    "covar_samp",
    "covar_pop",
    "corr",
    "regr_slope",
    "regr_intercept",
    "regr_r2",
    "regr_count",
    "regr_avgx",
    "regr_avgy",
    "regr_sxx",
    "regr_syy",
    "regr_sxy",
];

fn function(name: &str) -> Arc<dyn AggregateUdf> {
    builtin_aggregates()
        .into_iter()
        .find(|f| f.name() == name)
        .unwrap()
}

/// Values around `offset` (0, or 1e9 for cancellation) with noise of about `spread`, `y`
/// loosely following `x`; a few NULLs on either side.
fn rows() -> impl Strategy<Value = Vec<Row>> {
    let offset = prop_oneof![Just(0.0), Just(1e9), Just(-3e12)];
    let spread = prop_oneof![Just(1.0), Just(100.0)];
    (offset, spread).prop_flat_map(|(offset, spread)| {
        let noise = -spread..spread;
        let row = (
            0..GROUPS,
            noise.clone(),
            noise,
            0u8..10,
            prop_oneof![Just(-2.0), Just(0.5), Just(3.0)],
        )
            .prop_map(move |(group, a, b, nulls, slope)| {
                let x = (nulls != 0).then_some(offset + a);
                let y = (nulls != 1).then_some(offset + slope * a + b);
                (group, x, y)
            });
        prop::collection::vec(row, 0..120)
    })
}

/// The rows cut into partitions (by `partition_of`), each cut into batches of `batch_size`.
fn split(rows: &[Row], partition_of: &[usize], batch_size: usize) -> Vec<Vec<Vec<Row>>> {
    let partitions = partition_of.iter().copied().max().map_or(0, |p| p + 1);
    let mut parts: Vec<Vec<Row>> = vec![Vec::new(); partitions];
    for (row, &p) in rows.iter().zip(partition_of) {
        parts[p].push(*row);
    }
    parts
        .into_iter()
        .map(|part| part.chunks(batch_size).map(<[Row]>::to_vec).collect())
        .collect()
}

fn column(rows: &[Row], pick: impl Fn(&Row) -> Option<f64>) -> ArrayRef {
    Arc::new(rows.iter().map(pick).collect::<Float64Array>())
}

/// `name` over each partition's batches to a partial state, the states merged in `order`.
fn two_phase(name: &str, partitions: &[Vec<Vec<Row>>], order: &[usize]) -> ArrayRef {
    let f = function(name);
    let two = TWO.contains(&name);
    let types = vec![DataType::Float64; if two { 2 } else { 1 }];
    let states: Vec<Vec<ArrayRef>> = partitions
        .iter()
        .map(|batches| {
            let mut partial = f.accumulator(&types).unwrap();
            for batch in batches {
                let groups: Vec<usize> = batch.iter().map(|r| r.0).collect();
                let args = if two {
                    vec![column(batch, |r| r.2), column(batch, |r| r.1)]
                } else {
                    vec![column(batch, |r| r.1)]
                };
                partial.update_batch(&args, &groups, GROUPS).unwrap();
            }
            partial.state(GROUPS).unwrap()
        })
        .collect();
    let mut merged = f.accumulator(&types).unwrap();
    let identity: Vec<usize> = (0..GROUPS).collect();
    for &i in order.iter().filter(|&&i| i < states.len()) {
        merged.merge_batch(&states[i], &identity, GROUPS).unwrap();
    }
    merged.evaluate(GROUPS).unwrap()
}

/// Two-pass sums of one group's pairs `(y, x)`: count, means, and the sums of squared and
/// crossed deviations from the means.
struct TwoPass {
    n: f64,
    mean_x: f64,
    mean_y: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

impl TwoPass {
    fn new(pairs: &[(f64, f64)]) -> Self {
        let n = pairs.len() as f64;
        // Values are taken relative to the first pair, so that neither the means nor the
        // deviations from them are rounded at the values' magnitude (1e9 and more).
        let (shift_y, shift_x) = pairs.first().copied().unwrap_or_default();
        let shifted: Vec<(f64, f64)> = pairs
            .iter()
            .map(|&(y, x)| (y - shift_y, x - shift_x))
            .collect();
        let offset_y = shifted.iter().map(|p| p.0).sum::<f64>() / n;
        let offset_x = shifted.iter().map(|p| p.1).sum::<f64>() / n;
        let deviations: Vec<(f64, f64)> = shifted
            .iter()
            .map(|&(y, x)| (y - offset_y, x - offset_x))
            .collect();
        let sum = |f: &dyn Fn(&(f64, f64)) -> f64| deviations.iter().map(f).sum::<f64>();
        TwoPass {
            n,
            mean_x: shift_x + offset_x,
            mean_y: shift_y + offset_y,
            sxx: sum(&|d| d.1 * d.1),
            syy: sum(&|d| d.0 * d.0),
            sxy: sum(&|d| d.1 * d.0),
        }
    }

    /// The expected value of `name` and the scale its error is measured against.
    fn expect(&self, name: &str) -> (Option<f64>, f64) {
        let n = self.n;
        let some = n > 0.0;
        let spread = (self.sxx * self.syy).sqrt();
        let slope = (some && self.sxx != 0.0).then(|| self.sxy / self.sxx);
        let slope_scale = (self.syy / self.sxx).sqrt();
        match name {
            "var_samp" => ((n > 1.0).then(|| self.sxx / (n - 1.0)), self.sxx / n),
            "var_pop" => (some.then(|| self.sxx / n), self.sxx / n),
            "stddev_samp" => (
                (n > 1.0).then(|| (self.sxx / (n - 1.0)).sqrt()),
                (self.sxx / n).sqrt(),
            ),
            "stddev_pop" => (some.then(|| (self.sxx / n).sqrt()), (self.sxx / n).sqrt()),
            "covar_samp" => ((n > 1.0).then(|| self.sxy / (n - 1.0)), spread / n),
            "covar_pop" => (some.then(|| self.sxy / n), spread / n),
            "corr" => ((n > 1.0 && spread != 0.0).then(|| self.sxy / spread), 1.0),
            "regr_slope" => (slope, slope_scale),
            "regr_intercept" => (
                slope.map(|s| self.mean_y - s * self.mean_x),
                self.mean_y.abs() + (slope_scale * self.mean_x).abs() + 1.0,
            ),
            "regr_r2" => (
                slope.map(|_| {
                    if self.syy == 0.0 {
                        1.0
                    } else {
                        self.sxy * self.sxy / (self.sxx * self.syy)
                    }
                }),
                1.0,
            ),
            "regr_count" => (Some(n), 0.0),
            "regr_avgx" => (
                some.then_some(self.mean_x),
                self.mean_x.abs() + self.sxx.sqrt(),
            ),
            "regr_avgy" => (
                some.then_some(self.mean_y),
                self.mean_y.abs() + self.syy.sqrt(),
            ),
            "regr_sxx" => (some.then_some(self.sxx), self.sxx),
            "regr_syy" => (some.then_some(self.syy), self.syy),
            "regr_sxy" => (some.then_some(self.sxy), spread),
            other => panic!("no reference for {other}"),
        }
    }
}

/// Each group's pairs `(y, x)` for `name`: both non-null for the two-argument ones; `x` (as
/// both) for the others.
fn reference_pairs(rows: &[Row], name: &str) -> BTreeMap<usize, Vec<(f64, f64)>> {
    let mut groups: BTreeMap<usize, Vec<(f64, f64)>> =
        (0..GROUPS).map(|g| (g, Vec::new())).collect();
    for &(group, x, y) in rows {
        let pair = if TWO.contains(&name) {
            x.zip(y).map(|(x, y)| (y, x))
        } else {
            x.map(|x| (x, x))
        };
        if let Some(pair) = pair {
            groups.entry(group).or_default().push(pair);
        }
    }
    groups
}

fn check(rows: &[Row], partitions: &[Vec<Vec<Row>>], order: &[usize]) {
    for name in ONE.iter().chain(&TWO) {
        let got = two_phase(name, partitions, order);
        let got: Vec<Option<f64>> = match got.data_type() {
            DataType::Int64 => got
                .as_primitive::<Int64Type>()
                .iter()
                .map(|v| v.map(|v| v as f64))
                .collect(),
            _ => got.as_primitive::<Float64Type>().iter().collect(),
        };
        for (group, pairs) in reference_pairs(rows, name) {
            let (want, scale) = TwoPass::new(&pairs).expect(name);
            let value = got[group];
            match (value, want) {
                (Some(value), Some(want)) => assert!(
                    (value - want).abs() <= 1e-9 * scale,
                    "{name} of group {group} ({} rows): {value} != {want} (scale {scale})",
                    pairs.len()
                ),
                _ => assert_eq!(value, want, "{name} of group {group}"),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn merged_partial_states_match_the_two_pass_formulas(
        (rows, partition_of) in rows().prop_flat_map(|rows| {
            let n = rows.len();
            (Just(rows), prop::collection::vec(0usize..4, n))
        }),
        batch_size in 1usize..40,
        order in Just(vec![0usize, 1, 2, 3]).prop_shuffle(),
    ) {
        let partitions = split(&rows, &partition_of, batch_size);
        check(&rows, &partitions, &order);
    }
}

/// The one-pass sum-of-squares variance, `(Σx² − (Σx)²/n) / (n − 1)`.
fn naive_var_samp(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let sum: f64 = values.iter().sum();
    let squares: f64 = values.iter().map(|x| x * x).sum();
    (squares - sum * sum / n) / (n - 1.0)
}

#[test]
fn large_close_values_defeat_the_one_pass_formula_but_not_the_merged_states() {
    // 1e9 + a small wave: the variance is about 0.5, far below the 1e18 squares' last digit.
    let values: Vec<f64> = (0..1000).map(|i| 1e9 + (i as f64 * 0.7).sin()).collect();
    let pairs: Vec<(f64, f64)> = values.iter().map(|&x| (x, x)).collect();
    let (want, _) = TwoPass::new(&pairs).expect("var_samp");
    let want = want.unwrap();
    let naive = naive_var_samp(&values);
    assert!(
        (naive - want).abs() > 1e-3 * want,
        "the data should defeat the one-pass formula: {naive} vs {want}"
    );
    let rows: Vec<Row> = values.iter().map(|&x| (0, Some(x), Some(x))).collect();
    for batch_size in [1, 7, 1000] {
        let partition_of: Vec<usize> = (0..rows.len()).map(|i| (i * 7 / 3) % 4).collect();
        let partitions = split(&rows, &partition_of, batch_size);
        let got = two_phase("var_samp", &partitions, &[2, 0, 3, 1]);
        let got = got.as_primitive::<Float64Type>().value(0);
        assert!(
            (got - want).abs() <= 1e-9 * want,
            "batches of {batch_size}: {got} vs {want}"
        );
    }
    check(&rows, &split(&rows, &vec![0; rows.len()], 64), &[0]);
}
