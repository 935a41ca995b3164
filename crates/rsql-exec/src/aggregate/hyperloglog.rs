//! A HyperLogLog sketch (Flajolet et al. 2007, with 64-bit hashes as HyperLogLog++): `2^p`
//! one-byte registers, each the largest "first one bit" position among the hashes routed to
//! it. Sketches merge by taking the larger register, so partial states combine exactly as if
//! one sketch had seen every value.
//!
//! The estimate is Ertl's improved raw estimator ("New cardinality estimation algorithms for
//! HyperLogLog sketches", 2017), which needs no empirical bias tables and is accurate from
//! zero to far beyond 2^32 distinct values. Its relative standard error is `1.04 / sqrt(2^p)`.

use crate::error::{Result, exec_err};

/// The smallest precision: 16 registers (Spark's lower bound).
pub(crate) const MIN_PRECISION: u32 = 4;
/// The largest precision: 2^18 registers, 256 KiB per group, a standard error of 0.2%.
pub(crate) const MAX_PRECISION: u32 = 18;

/// The precision Spark derives from a relative standard deviation:
/// `p = ceil(2 * log2(1.106 / rsd))`, capped at [`MAX_PRECISION`]. An `rsd` above 0.39 would
/// leave fewer than 16 registers and is an error, as in Spark.
pub(crate) fn precision_for(function: &str, rsd: f64) -> Result<u32> {
    let p = (2.0 * (1.106 / rsd).log2()).ceil();
    if rsd.is_nan() || rsd <= 0.0 || p < f64::from(MIN_PRECISION) {
        return exec_err(format!(
            "the relative standard deviation of '{function}' must be above 0 and at most 0.39, got {rsd}"
        ));
    }
    Ok((p as u32).min(MAX_PRECISION))
}

/// Records the 64-bit `hash` in `registers` (of length `2^p`).
pub(crate) fn insert(registers: &mut [u8], hash: u64) {
    let p = registers.len().trailing_zeros();
    let index = (hash >> (64 - p)) as usize;
    // The position of the first one bit of the remaining 64 - p bits, 1-based; 65 - p if none.
    let rank = ((hash << p).leading_zeros().min(64 - p) + 1) as u8;
    let register = &mut registers[index];
    *register = (*register).max(rank);
}

/// Merges `other` into `registers` (both of the same length).
pub(crate) fn merge(registers: &mut [u8], other: &[u8]) {
    for (register, &theirs) in registers.iter_mut().zip(other) {
        *register = (*register).max(theirs);
    }
}

/// The precision of a sketch of `len` registers, if `len` is a power of two in range.
pub(crate) fn precision_of(len: usize) -> Option<u32> {
    let p = len.trailing_zeros();
    (len.is_power_of_two() && (MIN_PRECISION..=MAX_PRECISION).contains(&p)).then_some(p)
}

/// The estimated number of distinct hashes recorded in `registers`.
pub(crate) fn estimate(registers: &[u8]) -> f64 {
    let m = registers.len() as f64;
    let q = 64 - registers.len().trailing_zeros() as usize;
    // counts[k]: registers holding k, for k in 0..=q + 1.
    let mut counts = vec![0u32; q + 2];
    for &register in registers {
        counts[usize::from(register)] += 1;
    }
    let mut z = m * tau(1.0 - f64::from(counts[q + 1]) / m);
    for &count in counts[1..=q].iter().rev() {
        z = 0.5 * (z + f64::from(count));
    }
    z += m * sigma(f64::from(counts[0]) / m);
    // alpha_infinity = 1 / (2 ln 2)
    m * m / (2.0 * std::f64::consts::LN_2 * z)
}

/// Ertl's sigma: `x + sum_k x^(2^k) 2^(k-1)`, infinite for `x = 1` (no register set).
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if z == previous {
            return z;
        }
    }
}

/// Ertl's tau: `(1 - x - sum_k (1 - x^(2^-k))^2 2^-k) / 3`.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if z == previous {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-mixed 64-bit hash of `i` (splitmix64's finaliser).
    fn mix(i: u64) -> u64 {
        let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[test]
    fn spark_precision_from_the_relative_standard_deviation() {
        // Spark's default rsd 0.05 gives p = ceil(2 * log2(22.12)) = 9.
        assert_eq!(precision_for("f", 0.05).unwrap(), 9);
        assert_eq!(precision_for("f", 0.39).unwrap(), 4);
        assert_eq!(precision_for("f", 0.0001).unwrap(), MAX_PRECISION);
        for bad in [0.4, 0.0, -1.0, f64::NAN] {
            assert!(precision_for("f", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_sketches_estimate_zero_and_small_counts_are_near_exact() {
        let mut registers = vec![0u8; 1 << 12];
        assert_eq!(estimate(&registers), 0.0);
        for i in 0..10 {
            insert(&mut registers, mix(i));
            insert(&mut registers, mix(i));
        }
        assert!((estimate(&registers) - 10.0).abs() < 0.5);
    }

    #[test]
    fn estimates_stay_within_four_standard_errors_and_merging_equals_one_sketch() {
        for (p, n) in [(9, 100_000u64), (12, 1_000_000), (14, 3_000)] {
            let m = 1usize << p;
            let (mut whole, mut left, mut right) = (vec![0u8; m], vec![0u8; m], vec![0u8; m]);
            for i in 0..n {
                insert(&mut whole, mix(i));
                insert(if i % 3 == 0 { &mut left } else { &mut right }, mix(i));
            }
            merge(&mut left, &right);
            assert_eq!(left, whole);
            let error = (estimate(&whole) - n as f64).abs() / n as f64;
            assert!(
                error < 4.0 * 1.04 / (m as f64).sqrt(),
                "p {p} n {n}: {error}"
            );
        }
    }
}
