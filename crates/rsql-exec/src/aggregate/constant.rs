//! Arguments an aggregate needs to be one constant (a fraction, a separator, a precision),
//! which arrive as columns: every batch repeats the value, and partial states carry it to the
//! final phase.

use std::fmt::Display;

use crate::error::{Result, exec_err};

/// Records the non-null `values` of the argument `what` of `function` in `known`: the first one
/// seen, and an error if a later one differs.
pub(crate) fn take_constant<T: PartialEq + Display>(
    known: &mut Option<T>,
    values: impl IntoIterator<Item = Option<T>>,
    function: &str,
    what: &str,
) -> Result<()> {
    for value in values.into_iter().flatten() {
        match known {
            None => *known = Some(value),
            Some(seen) if *seen == value => {}
            Some(seen) => {
                return exec_err(format!(
                    "the {what} of '{function}' must be one constant, got {seen} and {value}"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_value_is_kept_and_a_different_one_is_an_error() {
        let mut known = None;
        take_constant(&mut known, [None, Some(2), Some(2)], "f", "precision").unwrap();
        assert_eq!(known, Some(2));
        let err = take_constant(&mut known, [Some(3)], "f", "precision").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the precision of 'f' must be one constant, got 2 and 3"
        );
    }
}
