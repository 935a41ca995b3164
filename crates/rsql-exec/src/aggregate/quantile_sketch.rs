//! A mergeable quantile sketch with a deterministic rank-error bound: a stack of compactors
//! (Manku, Rajagopalan and Lindsay 1998; the deterministic form of KLL).
//!
//! Values are `u64` keys whose order is the values' order (see [`ordered_key`]). Level `h`
//! holds keys of weight `2^h`. A level that reaches the capacity `k` is sorted and compacted:
//! every other key (starting at the first or the second, alternately) moves up one level with
//! twice the weight, so the total weight stays the number of values. Answers are keys the
//! sketch holds, hence values of the input.
//!
//! Error bound: each compaction at level `h` moves any rank by at most `2^h`, and at most
//! `n / (k 2^h)` compactions happen there, so a rank is off by at most `n / k` per level, and by
//! at most `n (1 + log2(n / k)) / k` in all; groups of at most `k` values are exact. Merging
//! (concatenating levels, then compacting) keeps the bound, as weights still add up to `n`.
//! The sketch holds at most about `k (1 + log2(n / k))` keys.

/// The order-preserving `u64` key of a signed integer.
pub(crate) fn signed_key(value: i64) -> u64 {
    (value as u64) ^ (1 << 63)
}

/// The signed integer of a [`signed_key`].
pub(crate) fn signed_value(key: u64) -> i64 {
    (key ^ (1 << 63)) as i64
}

/// The `u64` key of a double, ordered as [`f64::total_cmp`].
pub(crate) fn ordered_key(value: f64) -> u64 {
    let bits = value.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// The double of an [`ordered_key`].
pub(crate) fn ordered_value(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    })
}

/// See the [module documentation](self).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct QuantileSketch {
    /// `levels[h]`: keys of weight `2^h`.
    levels: Vec<Vec<u64>>,
    /// Bit `h`: whether level `h`'s next compaction keeps the odd positions.
    parity: u64,
}

impl QuantileSketch {
    /// Whether the sketch has seen no value.
    pub(crate) fn is_empty(&self) -> bool {
        self.levels.iter().all(Vec::is_empty)
    }

    /// Adds one value; `capacity` is the `k` of the error bound (at least 2).
    pub(crate) fn insert(&mut self, key: u64, capacity: usize) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(key);
        if self.levels[0].len() >= capacity {
            self.compact(capacity);
        }
    }

    /// Adds every value `other` has seen.
    pub(crate) fn merge(&mut self, other: &QuantileSketch, capacity: usize) {
        if self.levels.len() < other.levels.len() {
            self.levels.resize_with(other.levels.len(), Vec::new);
        }
        for (mine, theirs) in self.levels.iter_mut().zip(&other.levels) {
            mine.extend_from_slice(theirs);
        }
        self.compact(capacity);
    }

    /// Compacts every level at or above `capacity`, lowest first.
    fn compact(&mut self, capacity: usize) {
        let mut h = 0;
        while h < self.levels.len() {
            if self.levels[h].len() >= capacity {
                let level = &mut self.levels[h];
                level.sort_unstable();
                // An odd key out stays (the largest, at the end).
                let paired = level.len() & !1;
                let offset = ((self.parity >> h) & 1) as usize;
                self.parity ^= 1 << h;
                let promoted: Vec<u64> = level[..paired]
                    .iter()
                    .skip(offset)
                    .step_by(2)
                    .copied()
                    .collect();
                level.drain(..paired);
                if h + 1 == self.levels.len() {
                    self.levels.push(Vec::new());
                }
                self.levels[h + 1].extend(promoted);
            }
            h += 1;
        }
    }

    /// The values seen (as the weights add up).
    pub(crate) fn count(&self) -> u64 {
        self.levels
            .iter()
            .enumerate()
            .map(|(h, level)| (level.len() as u64) << h)
            .sum()
    }

    /// The first key, in order, whose cumulative weight reaches `fraction` of all values (the
    /// smallest for 0); `None` for an empty sketch.
    pub(crate) fn quantile(&self, fraction: f64) -> Option<u64> {
        let mut weighted: Vec<(u64, u64)> = self
            .levels
            .iter()
            .enumerate()
            .flat_map(|(h, level)| level.iter().map(move |&key| (key, 1u64 << h)))
            .collect();
        weighted.sort_unstable();
        let target = (fraction * self.count() as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for &(key, weight) in &weighted {
            seen += weight;
            if seen >= target {
                return Some(key);
            }
        }
        weighted.last().map(|&(key, _)| key)
    }

    /// The sketch as bytes: the parity, then each level as its length and keys (little-endian).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let keys: usize = self.levels.iter().map(Vec::len).sum();
        let mut bytes = Vec::with_capacity(8 + 4 * self.levels.len() + 8 * keys);
        bytes.extend_from_slice(&self.parity.to_le_bytes());
        for level in &self.levels {
            bytes.extend_from_slice(&(level.len() as u32).to_le_bytes());
            for key in level {
                bytes.extend_from_slice(&key.to_le_bytes());
            }
        }
        bytes
    }

    /// A sketch from [`to_bytes`](Self::to_bytes); `None` if `bytes` are not one.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<QuantileSketch> {
        let (parity, mut rest) = bytes.split_first_chunk::<8>()?;
        let mut sketch = QuantileSketch {
            levels: Vec::new(),
            parity: u64::from_le_bytes(*parity),
        };
        while let Some((len, tail)) = rest.split_first_chunk::<4>() {
            let len = u32::from_le_bytes(*len) as usize;
            let (keys, tail) = tail.split_at_checked(len.checked_mul(8)?)?;
            sketch.levels.push(
                keys.chunks_exact(8)
                    .map(|key| u64::from_le_bytes(key.try_into().unwrap_or_default()))
                    .collect(),
            );
            rest = tail;
        }
        rest.is_empty().then_some(sketch)
    }

    /// Approximate heap bytes held.
    pub(crate) fn size(&self) -> usize {
        self.levels
            .iter()
            .map(|level| level.capacity() * 8 + size_of::<Vec<u64>>())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_preserve_order() {
        let ints = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        for pair in ints.windows(2) {
            assert!(signed_key(pair[0]) < signed_key(pair[1]));
        }
        assert!(ints.iter().all(|&v| signed_value(signed_key(v)) == v));
        let floats = [
            f64::NEG_INFINITY,
            -2.5,
            -0.0,
            0.0,
            1e-300,
            3.0,
            f64::INFINITY,
            f64::NAN,
        ];
        for pair in floats.windows(2) {
            assert!(ordered_key(pair[0]) < ordered_key(pair[1]), "{pair:?}");
        }
        for v in floats {
            assert_eq!(ordered_value(ordered_key(v)).to_bits(), v.to_bits());
        }
    }

    #[test]
    fn small_inputs_are_exact_and_bytes_round_trip() {
        let mut sketch = QuantileSketch::default();
        assert_eq!(sketch.quantile(0.5), None);
        for v in [7, 1, 3, 5] {
            sketch.insert(v, 100);
        }
        // Ranks 1..4: the first value whose cumulative count reaches ceil(p * 4).
        assert_eq!(sketch.quantile(0.0), Some(1));
        assert_eq!(sketch.quantile(0.5), Some(3));
        assert_eq!(sketch.quantile(0.51), Some(5));
        assert_eq!(sketch.quantile(1.0), Some(7));
        let bytes = sketch.to_bytes();
        assert_eq!(QuantileSketch::from_bytes(&bytes), Some(sketch));
        assert_eq!(QuantileSketch::from_bytes(&bytes[..bytes.len() - 1]), None);
    }

    #[test]
    fn compacted_and_merged_sketches_keep_the_rank_bound() {
        let k = 64;
        let n = 20_000u64;
        // A permutation of 0..n, so the exact rank of key v is v + 1.
        let keys: Vec<u64> = (0..n).map(|i| (i * 7_919) % n).collect();
        let mut parts = vec![QuantileSketch::default(); 5];
        for (i, &key) in keys.iter().enumerate() {
            parts[i % 5].insert(key, k);
        }
        let mut merged = QuantileSketch::default();
        for part in &parts {
            merged.merge(part, k);
        }
        assert_eq!(merged.count(), n);
        let bound = n as f64 * (1.0 + (n as f64 / k as f64).log2()) / k as f64;
        for fraction in [0.0, 0.01, 0.25, 0.5, 0.9, 0.999, 1.0] {
            let target = (fraction * n as f64).ceil().max(1.0);
            let got = merged.quantile(fraction).unwrap() as f64 + 1.0;
            assert!(
                (got - target).abs() <= bound,
                "{fraction}: {got} vs {target}"
            );
        }
    }
}
