//! Mergeable central moments: Welford's one-value update and Chan, Golub and LeVeque's merge of
//! two partial results, on values shifted by the first one seen. Both avoid the sum-of-squares
//! formula `Σx² − (Σx)²/n`, which loses every significant digit when the values are large and
//! close together (1e9 + noise); the shift keeps the running mean small too, so rounding it
//! costs nothing either (unshifted, Welford keeps only about 7 digits of such data's variance).

/// The count, mean and sum of squared deviations from the mean (`M2`) of some values, the mean
/// kept relative to a shift (the first value seen) to keep its rounding error small.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Moments {
    pub(crate) count: i64,
    pub(crate) shift: f64,
    /// The mean minus `shift`.
    pub(crate) offset: f64,
    pub(crate) m2: f64,
}

impl Moments {
    /// Adds one value; returns its deviation from the mean before it was added.
    pub(crate) fn push(&mut self, x: f64) -> f64 {
        if self.count == 0 {
            self.shift = x;
        }
        self.count += 1;
        let x = x - self.shift;
        let delta = x - self.offset;
        self.offset += delta / self.count as f64;
        self.m2 += delta * (x - self.offset);
        delta
    }

    /// The deviation of `x` from the mean.
    pub(crate) fn deviation(&self, x: f64) -> f64 {
        (x - self.shift) - self.offset
    }

    /// The mean of `other` minus the mean of `self`.
    fn mean_difference(&self, other: &Moments) -> f64 {
        (other.shift - self.shift) + (other.offset - self.offset)
    }

    /// The mean.
    pub(crate) fn mean(&self) -> f64 {
        self.shift + self.offset
    }

    /// Adds the values `other` describes.
    pub(crate) fn merge(&mut self, other: &Moments) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        let (a, b) = (self.count as f64, other.count as f64);
        let n = a + b;
        let delta = self.mean_difference(other);
        self.offset += delta * b / n;
        self.m2 += other.m2 + delta * delta * a * b / n;
        self.count += other.count;
    }

    /// The population variance `M2 / n`; NULL without values.
    pub(crate) fn var_pop(&self) -> Option<f64> {
        (self.count > 0).then(|| self.m2 / self.count as f64)
    }

    /// The sample variance `M2 / (n - 1)`; NULL for fewer than two values.
    pub(crate) fn var_samp(&self) -> Option<f64> {
        (self.count > 1).then(|| self.m2 / (self.count - 1) as f64)
    }
}

/// The moments of pairs `(a, b)`: each side's [`Moments`] and the co-moment
/// `C = Σ (a − mean_a)(b − mean_b)`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct CoMoments {
    pub(crate) a: Moments,
    pub(crate) b: Moments,
    pub(crate) c: f64,
}

impl CoMoments {
    /// Adds one pair.
    pub(crate) fn push(&mut self, a: f64, b: f64) {
        let delta_a = self.a.push(a);
        self.b.push(b);
        self.c += delta_a * self.b.deviation(b);
    }

    /// Adds the pairs `other` describes.
    pub(crate) fn merge(&mut self, other: &CoMoments) {
        if other.count() == 0 {
            return;
        }
        if self.count() == 0 {
            *self = *other;
            return;
        }
        let (m, n) = (self.count() as f64, other.count() as f64);
        let delta_a = self.a.mean_difference(&other.a);
        let delta_b = self.b.mean_difference(&other.b);
        self.c += other.c + delta_a * delta_b * m * n / (m + n);
        self.a.merge(&other.a);
        self.b.merge(&other.b);
    }

    /// How many pairs.
    pub(crate) fn count(&self) -> i64 {
        self.a.count
    }

    /// The population covariance `C / n`; NULL without pairs.
    pub(crate) fn covar_pop(&self) -> Option<f64> {
        (self.count() > 0).then(|| self.c / self.count() as f64)
    }

    /// The sample covariance `C / (n - 1)`; NULL for fewer than two pairs.
    pub(crate) fn covar_samp(&self) -> Option<f64> {
        (self.count() > 1).then(|| self.c / (self.count() - 1) as f64)
    }

    /// Pearson's correlation coefficient; NULL for fewer than two pairs or when a side is
    /// constant (Spark divides by zero to NULL).
    pub(crate) fn corr(&self) -> Option<f64> {
        let spread = (self.a.m2 * self.b.m2).sqrt();
        (self.count() > 1 && spread != 0.0).then(|| self.c / spread)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(values: &[f64]) -> Moments {
        let mut m = Moments::default();
        for &x in values {
            m.push(x);
        }
        m
    }

    #[test]
    fn variance_of_a_small_set_by_hand() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32.
        let m = moments(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(m.count, 8);
        assert_eq!(m.mean(), 5.0);
        assert_eq!(m.m2, 32.0);
        assert_eq!(m.var_pop(), Some(4.0));
        assert_eq!(m.var_samp(), Some(32.0 / 7.0));
        assert_eq!(moments(&[3.0]).var_samp(), None);
        assert_eq!(moments(&[3.0]).var_pop(), Some(0.0));
        assert_eq!(Moments::default().var_pop(), None);
    }

    #[test]
    fn merging_splits_equals_one_pass() {
        let values = [1.5, -2.0, 8.25, 3.0, 3.0, 0.5, 11.0];
        let whole = moments(&values);
        for cut in 0..=values.len() {
            let mut left = moments(&values[..cut]);
            left.merge(&moments(&values[cut..]));
            assert_eq!(left.count, whole.count);
            assert!((left.mean() - whole.mean()).abs() < 1e-12, "cut {cut}");
            assert!((left.m2 - whole.m2).abs() < 1e-9, "cut {cut}");
        }
    }

    #[test]
    fn co_moments_of_a_line_by_hand() {
        // b = 2a + 1 over a = 1, 2, 3: C = 2 * M2(a) = 4, corr 1.
        let mut pairs = CoMoments::default();
        for a in [1.0, 2.0, 3.0] {
            pairs.push(a, 2.0 * a + 1.0);
        }
        assert_eq!(pairs.c, 4.0);
        assert_eq!(pairs.covar_samp(), Some(2.0));
        assert_eq!(pairs.corr(), Some(1.0));
        let mut constant = CoMoments::default();
        constant.push(1.0, 5.0);
        constant.push(2.0, 5.0);
        assert_eq!(constant.corr(), None);
    }
}
