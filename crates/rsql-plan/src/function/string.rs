//! Signatures of the built-in string functions: Spark names and result types first, with the
//! DuckDB and SQL-standard aliases that do not clash (`strpos`, `lcase`, `char_length`, ...).
//!
//! Regular expressions follow Rust's `regex` syntax, which differs from Spark's Java regex:
//! no backreferences (`\1`) or look-around in patterns, no possessive quantifiers. A literal
//! pattern is compiled here, so an invalid one is a planning error at the call's position.

use std::sync::Arc;

use arrow_schema::{DataType, Field};
use datafusion_common::ScalarValue;

use super::nested::{concat_args, concat_type};
use super::scalar::{
    Coerce, Returns, all_strings, bad_argument, boolean, builtin, int32, integer_arg, string_arg,
    string_literal, string_then_integers, utf8,
};
use super::{Arity, ScalarFunctionSignature};
use crate::coercion::{is_numeric, is_string, value_type};
use crate::error::{PlanError, Result};

/// Strings everywhere except at the `integers` positions, which take integers (`Int64`).
fn strings_and_integers(
    function: &str,
    args: &[DataType],
    integers: &[usize],
) -> Result<Vec<DataType>> {
    args.iter()
        .enumerate()
        .map(|(i, t)| {
            if integers.contains(&i) {
                integer_arg(function, i, t)
            } else {
                string_arg(function, i, t)
            }
        })
        .collect()
}

/// `format_string(format, args..)`: a string format, then values of any scalar type, kept as
/// they are (the conversion decides how each is written).
fn format_args(function: &str, args: &[DataType]) -> Result<Vec<DataType>> {
    args.iter()
        .enumerate()
        .map(|(i, t)| {
            if i == 0 {
                return string_arg(function, i, t);
            }
            let t = value_type(t);
            let scalar = is_string(t)
                || is_numeric(t)
                || matches!(
                    t,
                    DataType::Null
                        | DataType::Boolean
                        | DataType::Date32
                        | DataType::Date64
                        | DataType::Timestamp(_, _)
                );
            if scalar {
                Ok(t.clone())
            } else {
                Err(bad_argument(function, i, t))
            }
        })
        .collect()
}

/// Checks that the argument at `index`, when it is a string literal, is a valid regular
/// expression.
fn check_regex_literal(
    function: &str,
    literals: &[Option<&ScalarValue>],
    index: usize,
) -> Result<()> {
    match string_literal(literals.get(index).copied().flatten()) {
        Some(pattern) => regex::Regex::new(pattern).map(drop).map_err(|err| {
            PlanError::invalid(format!(
                "function '{function}' got an invalid regular expression '{pattern}': {err}"
            ))
        }),
        None => Ok(()),
    }
}

/// `split`'s result: a list of strings.
fn string_list(_: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::List(Arc::new(Field::new_list_field(
        DataType::Utf8,
        true,
    ))))
}

/// One row of the signature table: names (the first is the Spark name, the rest aliases),
/// arity, coercion and result type.
type Entry = (&'static [&'static str], Arity, Coerce, Returns);

/// The built-in string signatures.
pub(super) fn builtins() -> Vec<Arc<dyn ScalarFunctionSignature>> {
    let table: &[Entry] = &[
        (&["concat"], Arity::AtLeast(1), concat_args, concat_type),
        (&["concat_ws"], Arity::AtLeast(1), all_strings, utf8),
        (&["lower", "lcase"], Arity::Exact(1), all_strings, utf8),
        (&["upper", "ucase"], Arity::Exact(1), all_strings, utf8),
        (&["initcap"], Arity::Exact(1), all_strings, utf8),
        (&["reverse"], Arity::Exact(1), all_strings, utf8),
        (
            &["length", "char_length", "character_length"],
            Arity::Exact(1),
            all_strings,
            int32,
        ),
        (&["octet_length"], Arity::Exact(1), all_strings, int32),
        (&["bit_length"], Arity::Exact(1), all_strings, int32),
        (&["ascii"], Arity::Exact(1), all_strings, int32),
        (
            &["chr", "char"],
            Arity::Exact(1),
            |f, a| strings_and_integers(f, a, &[0]),
            utf8,
        ),
        (
            &["substring", "substr"],
            Arity::Range(2, 3),
            string_then_integers,
            utf8,
        ),
        (&["left"], Arity::Exact(2), string_then_integers, utf8),
        (&["right"], Arity::Exact(2), string_then_integers, utf8),
        (&["repeat"], Arity::Exact(2), string_then_integers, utf8),
        (
            &["trim", "btrim", "ltrim", "rtrim"],
            Arity::Range(1, 2),
            all_strings,
            utf8,
        ),
        (
            &["lpad", "rpad"],
            Arity::Range(2, 3),
            |f, a| strings_and_integers(f, a, &[1]),
            utf8,
        ),
        (
            &["overlay"],
            Arity::Range(3, 4),
            |f, a| strings_and_integers(f, a, &[2, 3]),
            utf8,
        ),
        (&["replace"], Arity::Range(2, 3), all_strings, utf8),
        (&["translate"], Arity::Exact(3), all_strings, utf8),
        (&["starts_with"], Arity::Exact(2), all_strings, boolean),
        (&["contains"], Arity::Exact(2), all_strings, boolean),
        (&["instr", "strpos"], Arity::Exact(2), all_strings, int32),
        (
            &["locate", "position"],
            Arity::Range(2, 3),
            |f, a| strings_and_integers(f, a, &[2]),
            int32,
        ),
        (
            &["split_part"],
            Arity::Exact(3),
            |f, a| strings_and_integers(f, a, &[2]),
            utf8,
        ),
        (
            &["split"],
            Arity::Range(2, 3),
            |f, a| strings_and_integers(f, a, &[2]),
            |f, a, l| check_regex_literal(f, l, 1).and_then(|()| string_list(f, a, l)),
        ),
        (
            &["regexp_like", "rlike"],
            Arity::Exact(2),
            all_strings,
            |f, a, l| check_regex_literal(f, l, 1).and_then(|()| boolean(f, a, l)),
        ),
        (
            &["regexp_replace"],
            Arity::Range(3, 4),
            |f, a| strings_and_integers(f, a, &[3]),
            |f, a, l| check_regex_literal(f, l, 1).and_then(|()| utf8(f, a, l)),
        ),
        (
            &["regexp_extract"],
            Arity::Range(2, 3),
            |f, a| strings_and_integers(f, a, &[2]),
            |f, a, l| check_regex_literal(f, l, 1).and_then(|()| utf8(f, a, l)),
        ),
        (
            &["regexp_count"],
            Arity::Exact(2),
            all_strings,
            |f, a, l| check_regex_literal(f, l, 1).and_then(|()| int32(f, a, l)),
        ),
        (&["md5"], Arity::Exact(1), all_strings, utf8),
        (&["sha1", "sha"], Arity::Exact(1), all_strings, utf8),
        (&["sha2"], Arity::Exact(2), string_then_integers, utf8),
        (
            &["format_string", "printf"],
            Arity::AtLeast(1),
            format_args,
            utf8,
        ),
    ];
    table
        .iter()
        .flat_map(|&(names, arity, coerce, returns)| {
            names
                .iter()
                .map(move |&name| builtin(name, arity, coerce, returns))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::FunctionRegistry;
    use super::*;

    fn return_type(name: &str, args: &[DataType], literals: &[Option<&ScalarValue>]) -> DataType {
        FunctionRegistry::new()
            .scalar_return_type(name, args, literals)
            .unwrap()
    }

    #[test]
    fn positions_and_counts_are_integers_the_rest_strings() {
        let registry = FunctionRegistry::new();
        let coerced = registry
            .coerce_scalar_args("lpad", &[DataType::Int32, DataType::Int8, DataType::Utf8])
            .unwrap();
        assert_eq!(
            coerced,
            vec![DataType::Utf8, DataType::Int64, DataType::Utf8]
        );
        let coerced = registry
            .coerce_scalar_args(
                "locate",
                &[DataType::Utf8, DataType::LargeUtf8, DataType::Int32],
            )
            .unwrap();
        assert_eq!(
            coerced,
            vec![DataType::Utf8, DataType::Utf8, DataType::Int64]
        );
        let coerced = registry
            .coerce_scalar_args("chr", &[DataType::UInt8])
            .unwrap();
        assert_eq!(coerced, vec![DataType::Int64]);
        let err = registry
            .coerce_scalar_args("repeat", &[DataType::Utf8, DataType::Utf8])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "type mismatch: function 'repeat' cannot take argument 2 of type Utf8"
        );
    }

    #[test]
    fn result_types_follow_spark() {
        let strings = [DataType::Utf8, DataType::Utf8];
        assert_eq!(
            return_type("instr", &strings, &[None, None]),
            DataType::Int32
        );
        assert_eq!(
            return_type("strpos", &strings, &[None, None]),
            DataType::Int32
        );
        assert_eq!(
            return_type("ascii", &strings[..1], &[None]),
            DataType::Int32
        );
        assert_eq!(
            return_type("octet_length", &strings[..1], &[None]),
            DataType::Int32
        );
        assert_eq!(
            return_type("rlike", &strings, &[None, None]),
            DataType::Boolean
        );
        assert_eq!(
            return_type("split", &strings, &[None, None]),
            DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
        );
        assert_eq!(
            return_type("sha2", &[DataType::Utf8, DataType::Int64], &[None, None]),
            DataType::Utf8
        );
    }

    #[test]
    fn aliases_share_their_signature() {
        let registry = FunctionRegistry::new();
        for (name, alias) in [
            ("lower", "lcase"),
            ("upper", "ucase"),
            ("length", "character_length"),
            ("substring", "substr"),
            ("instr", "strpos"),
            ("locate", "position"),
            ("regexp_like", "rlike"),
            ("format_string", "printf"),
            ("sha1", "sha"),
            ("chr", "char"),
        ] {
            let (a, b) = (
                registry.scalar(name).unwrap(),
                registry.scalar(alias).unwrap(),
            );
            assert_eq!(a.arity(), b.arity(), "{alias}");
            assert_eq!(b.name(), alias);
        }
    }

    #[test]
    fn literal_regexes_are_checked_when_planning() {
        let registry = FunctionRegistry::new();
        let args = [DataType::Utf8, DataType::Utf8];
        let bad = ScalarValue::from("a(b");
        let err = registry
            .scalar_return_type("regexp_like", &args, &[None, Some(&bad)])
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("function 'regexp_like' got an invalid regular expression 'a(b'"),
            "{err}"
        );
        let good = ScalarValue::from("a(b)");
        assert!(
            registry
                .scalar_return_type("regexp_count", &args, &[None, Some(&good)])
                .is_ok()
        );
        // A pattern that is not a literal is checked when it is evaluated.
        assert!(
            registry
                .scalar_return_type("regexp_extract", &args, &[None, None])
                .is_ok()
        );
    }

    #[test]
    fn format_string_keeps_scalar_argument_types() {
        let registry = FunctionRegistry::new();
        let args = [
            DataType::Utf8,
            DataType::Int32,
            DataType::Float64,
            DataType::Null,
        ];
        assert_eq!(registry.coerce_scalar_args("printf", &args).unwrap(), args);
        let list = DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)));
        let err = registry
            .coerce_scalar_args("format_string", &[DataType::Utf8, list])
            .unwrap_err();
        assert!(err.to_string().contains("argument 2"), "{err}");
    }
}
