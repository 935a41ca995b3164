//! Numeric functions, with Spark's (non-ANSI) semantics:
//!
//! - `ln`, `log`, `log10`, `log2` of a non-positive number (or base) are NULL, as Spark's
//!   `Logarithm`; `sqrt` of a negative number and `asin`/`acos` outside [-1, 1] are NaN.
//! - `abs` of the smallest integer is itself (wraps), as Spark without ANSI mode.
//! - `mod`, `pmod` and `div` by zero are NULL; `div` of `BIGINT`s wraps on overflow.
//! - `floor`/`ceil` of a double saturate at the `BIGINT` range and map NaN to 0 (Java's
//!   `(long)` conversion, which Spark uses).
//! - `greatest`/`least` skip NULLs; NaN is larger than every other double.
//! - `rand([seed])` is uniform in [0, 1): row `i` of the stream is a SplitMix64 hash of the
//!   seed and `i`. Rows are numbered in the order batches reach the function object, so a
//!   seeded query is repeatable when its batches are evaluated in the same order (one
//!   partition); Spark seeds per partition instead. A seed column uses its first value.
//!   Without a seed, each batch draws one from the clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array};
use arrow::compute::kernels::arity::binary;
use arrow::compute::kernels::{boolean, cmp, numeric, zip::zip};
use arrow::compute::{cast, is_not_null, is_null, nullif};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion_common::ScalarValue;
use rsql_plan::Operator;
use rsql_plan::compute::{EvalMode, numeric_arithmetic};

use super::round::{Mode, round, round_decimal};
use crate::error::{Result, exec_err};
use crate::expr::{ColumnarValue, ScalarUdf};
use crate::functions::{argument, function, holds};

pub(super) fn functions() -> Vec<Arc<dyn ScalarUdf>> {
    let mut all = vec![
        function("abs", abs),
        function("round", |args, t| rounding("round", args, Mode::HalfUp, t)),
        function("bround", |args, t| {
            rounding("bround", args, Mode::HalfEven, t)
        }),
        function("floor", |args, t| {
            floor_or_ceil("floor", args, Mode::Floor, t)
        }),
        function("ceil", |args, t| floor_or_ceil("ceil", args, Mode::Ceil, t)),
        function("ceiling", |args, t| {
            floor_or_ceil("ceiling", args, Mode::Ceil, t)
        }),
        function("sign", |args, _| doubles("sign", args, signum)),
        function("signum", |args, _| doubles("signum", args, signum)),
        function("sqrt", |args, _| doubles("sqrt", args, f64::sqrt)),
        function("cbrt", |args, _| doubles("cbrt", args, f64::cbrt)),
        function("exp", |args, _| doubles("exp", args, f64::exp)),
        function("sin", |args, _| doubles("sin", args, f64::sin)),
        function("cos", |args, _| doubles("cos", args, f64::cos)),
        function("tan", |args, _| doubles("tan", args, f64::tan)),
        function("cot", |args, _| doubles("cot", args, |x| 1.0 / x.tan())),
        function("asin", |args, _| doubles("asin", args, f64::asin)),
        function("acos", |args, _| doubles("acos", args, f64::acos)),
        function("atan", |args, _| doubles("atan", args, f64::atan)),
        function("sinh", |args, _| doubles("sinh", args, f64::sinh)),
        function("cosh", |args, _| doubles("cosh", args, f64::cosh)),
        function("tanh", |args, _| doubles("tanh", args, f64::tanh)),
        function("degrees", |args, _| {
            doubles("degrees", args, f64::to_degrees)
        }),
        function("radians", |args, _| {
            doubles("radians", args, f64::to_radians)
        }),
        function("ln", |args, _| logarithm("ln", args, f64::ln)),
        function("log10", |args, _| logarithm("log10", args, f64::log10)),
        function("log2", |args, _| logarithm("log2", args, f64::log2)),
        function("log", log),
        function("power", |args, _| doubles2("power", args, f64::powf)),
        function("pow", |args, _| doubles2("pow", args, f64::powf)),
        function("atan2", |args, _| doubles2("atan2", args, f64::atan2)),
        function("mod", |args, t| remainder("mod", args, t)),
        function("pmod", pmod),
        function("div", div),
        function("greatest", |args, _| extreme("greatest", args, cmp::gt)),
        function("least", |args, _| extreme("least", args, cmp::lt)),
    ];
    all.extend([
        constant("pi", std::f64::consts::PI),
        constant("e", std::f64::consts::E),
        Arc::new(Rand::new("rand")) as Arc<dyn ScalarUdf>,
        Arc::new(Rand::new("random")),
    ]);
    all
}

/// Argument `index` as a `Float64` array (the planner coerced it already).
fn float64(name: &str, args: &[ArrayRef], index: usize) -> Result<Float64Array> {
    let arg = cast(argument(name, args, index)?, &DataType::Float64)?;
    Ok(arg.as_primitive::<Float64Type>().clone())
}

/// `f` of a `DOUBLE` argument.
fn doubles(name: &str, args: &[ArrayRef], f: fn(f64) -> f64) -> Result<ArrayRef> {
    Ok(Arc::new(float64(name, args, 0)?.unary::<_, Float64Type>(f)))
}

/// `f` of two `DOUBLE` arguments.
fn doubles2(name: &str, args: &[ArrayRef], f: fn(f64, f64) -> f64) -> Result<ArrayRef> {
    let (a, b) = (float64(name, args, 0)?, float64(name, args, 1)?);
    Ok(Arc::new(binary::<_, _, _, Float64Type>(&a, &b, f)?))
}

/// Java's `Math.signum`: zeros and NaN are returned as they are.
fn signum(x: f64) -> f64 {
    if x == 0.0 || x.is_nan() {
        x
    } else {
        x.signum()
    }
}

/// A logarithm, NULL for non-positive input (Spark).
fn logarithm(name: &str, args: &[ArrayRef], f: fn(f64) -> f64) -> Result<ArrayRef> {
    let x = float64(name, args, 0)?;
    Ok(Arc::new(
        x.unary_opt::<_, Float64Type>(|x| (x > 0.0).then(|| f(x))),
    ))
}

/// `log(x)` is `ln(x)`; `log(base, x)` (Spark's order) is NULL unless both are positive.
fn log(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    if args.len() == 1 {
        return logarithm("log", args, f64::ln);
    }
    let (base, x) = (float64("log", args, 0)?, float64("log", args, 1)?);
    let values: Float64Array = base
        .iter()
        .zip(x.iter())
        .map(|(base, x)| match (base?, x?) {
            (b, x) if b > 0.0 && x > 0.0 => Some(x.ln() / b.ln()),
            _ => None,
        })
        .collect();
    Ok(Arc::new(values))
}

/// `abs`: negative values negated (wrapping for the smallest integer).
fn abs(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let x = argument("abs", args, 0)?;
    if x.data_type() == &DataType::Null {
        return Ok(x.clone());
    }
    let zero = ScalarValue::new_zero(x.data_type())?.to_scalar()?;
    let negative = holds(&cmp::lt(x, &zero)?);
    Ok(zip(&negative, &numeric::neg_wrapping(x)?, x)?)
}

/// The literal scale of `round(x, scale)` (0 when absent).
fn scale(name: &str, args: &[ArrayRef]) -> Result<i64> {
    let Some(scale) = args.get(1) else {
        return Ok(0);
    };
    let scale = cast(scale, &DataType::Int64)?;
    match scale.as_primitive::<Int64Type>().iter().next().flatten() {
        Some(scale) => Ok(scale),
        None => exec_err(format!("{name}: the scale must be a non-NULL integer")),
    }
}

fn rounding(name: &str, args: &[ArrayRef], mode: Mode, result: &DataType) -> Result<ArrayRef> {
    round(argument(name, args, 0)?, scale(name, args)?, mode, result)
}

/// `floor`/`ceil`: decimals to scale 0, doubles to `BIGINT` (saturating), `BIGINT` unchanged.
fn floor_or_ceil(name: &str, args: &[ArrayRef], mode: Mode, result: &DataType) -> Result<ArrayRef> {
    let x = argument(name, args, 0)?;
    match x.data_type() {
        DataType::Decimal128(..) => round_decimal(x, 0, mode, result),
        DataType::Int64 => Ok(x.clone()),
        _ => {
            let f = if mode == Mode::Floor {
                f64::floor
            } else {
                f64::ceil
            };
            let x = float64(name, args, 0)?;
            Ok(Arc::new(x.unary::<_, Int64Type>(|v| f(v) as i64)))
        }
    }
}

/// `mod(a, b)`: `a % b` (the dividend's sign; NULL for a zero divisor).
fn remainder(name: &str, args: &[ArrayRef], result: &DataType) -> Result<ArrayRef> {
    let (a, b) = (argument(name, args, 0)?, argument(name, args, 1)?);
    Ok(numeric_arithmetic(
        a,
        Operator::Modulo,
        b,
        result,
        EvalMode::Lenient,
    )?)
}

/// `pmod(a, b)`: the remainder moved into the divisor's sign, `(r + b) % b` where `r < 0`
/// (Spark's `Pmod`).
fn pmod(args: &[ArrayRef], result: &DataType) -> Result<ArrayRef> {
    let r = remainder("pmod", args, result)?;
    let b = argument("pmod", args, 1)?;
    let zero = ScalarValue::new_zero(result)?.to_scalar()?;
    let negative = holds(&cmp::lt(&r, &zero)?);
    let moved = numeric_arithmetic(&r, Operator::Plus, b, result, EvalMode::Lenient)?;
    let moved = numeric_arithmetic(&moved, Operator::Modulo, b, result, EvalMode::Lenient)?;
    Ok(zip(&negative, &moved, &r)?)
}

/// `div(a, b)`: the quotient truncated towards zero as `BIGINT`; NULL for a zero divisor.
fn div(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (a, b) = (argument("div", args, 0)?, argument("div", args, 1)?);
    if let (DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)) =
        (a.data_type(), b.data_type())
    {
        let Some(quotient) =
            rsql_plan::coercion::decimal_result((*p1, *s1), Operator::Divide, (*p2, *s2))
        else {
            return exec_err("div: no decimal quotient type");
        };
        // Casting a decimal to an integer truncates towards zero; overflow is NULL.
        let exact = numeric_arithmetic(a, Operator::Divide, b, &quotient, EvalMode::Lenient)?;
        return Ok(cast(&exact, &DataType::Int64)?);
    }
    let (a, b) = (cast(a, &DataType::Int64)?, cast(b, &DataType::Int64)?);
    let (a, b) = (a.as_primitive::<Int64Type>(), b.as_primitive::<Int64Type>());
    let zero = Int64Array::new_scalar(0);
    let b = nullif(b, &cmp::eq(b, &zero)?)?;
    let quotient: Int64Array = binary(a, b.as_primitive::<Int64Type>(), |x, y| {
        if y == 0 { 0 } else { x.wrapping_div(y) }
    })?;
    Ok(Arc::new(quotient))
}

type Comparison = fn(
    &dyn arrow::array::Datum,
    &dyn arrow::array::Datum,
) -> Result<BooleanArray, arrow::error::ArrowError>;

/// `greatest`/`least`: per row the argument `better` prefers, skipping NULLs.
fn extreme(name: &str, args: &[ArrayRef], better: Comparison) -> Result<ArrayRef> {
    let mut result = argument(name, args, 0)?.clone();
    if result.data_type() == &DataType::Null {
        return Ok(result);
    }
    for next in &args[1..] {
        let wins = boolean::and(&is_not_null(next)?, &better(next, &result)?)?;
        let take = boolean::or_kleene(&is_null(&result)?, &wins)?;
        result = zip(&holds(&take), next, &result)?;
    }
    Ok(result)
}

/// A function without arguments whose value is a constant.
fn constant(name: &'static str, value: f64) -> Arc<dyn ScalarUdf> {
    Arc::new(Constant { name, value })
}

#[derive(Debug)]
struct Constant {
    name: &'static str,
    value: f64,
}

impl ScalarUdf for Constant {
    fn name(&self) -> &str {
        self.name
    }

    fn invoke(&self, _: &[ColumnarValue], _: usize, _: &DataType) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Float64(Some(
            self.value,
        ))))
    }
}

/// `rand([seed])` (see the module docs).
#[derive(Debug)]
struct Rand {
    name: &'static str,
    /// The number of rows generated so far, which numbers the next row.
    rows: AtomicU64,
}

impl Rand {
    fn new(name: &'static str) -> Self {
        Rand {
            name,
            rows: AtomicU64::new(0),
        }
    }
}

/// SplitMix64's output function.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl ScalarUdf for Rand {
    fn name(&self) -> &str {
        self.name
    }

    fn invoke(&self, args: &[ColumnarValue], rows: usize, _: &DataType) -> Result<ColumnarValue> {
        let seed = match args.first() {
            Some(seed) => {
                let seed = cast(&seed.clone().into_array(1)?, &DataType::Int64)?;
                let seed = seed.as_primitive::<Int64Type>();
                if seed.is_empty() || seed.is_null(0) {
                    0
                } else {
                    seed.value(0) as u64
                }
            }
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
        };
        let first = self.rows.fetch_add(rows as u64, Ordering::Relaxed);
        let values: Float64Array = (first..first + rows as u64)
            .map(|row| {
                let bits = splitmix64(seed ^ splitmix64(row)) >> 11;
                Some(bits as f64 / (1_u64 << 53) as f64)
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(values)))
    }
}
