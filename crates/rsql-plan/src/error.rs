//! The error type of the logical layer: every failure names what is wrong and, when it comes from
//! SQL text, where (`line:column`).

use std::fmt;

use datafusion_common::DataFusionError;
use sqlparser::tokenizer::Span;

/// A position in SQL text, 1-based, as sqlparser reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line number, starting at 1.
    pub line: u64,
    /// Column number, starting at 1.
    pub column: u64,
}

impl Position {
    /// The start of `span`, or `None` for the empty span sqlparser uses when it has no location.
    pub fn from_span(span: Span) -> Option<Position> {
        let start = span.start;
        (start.line > 0).then_some(Position {
            line: start.line,
            column: start.column,
        })
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Everything that can go wrong while parsing, binding, typing or optimizing a plan.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The SQL text does not parse.
    #[error("SQL parse error{}: {message}", at(position))]
    Parse {
        /// What the parser expected or found (without its own location suffix).
        message: String,
        /// Where the parser stopped.
        position: Option<Position>,
    },
    /// A column name resolves to nothing.
    #[error("unknown column '{name}'{}{}", at(position), did_you_mean(suggestions))]
    UnknownColumn {
        /// The name as written (qualified if it was).
        name: String,
        /// Where it was written.
        position: Option<Position>,
        /// The closest existing names, best first.
        suggestions: Vec<String>,
    },
    /// An unqualified column name matches columns of several relations.
    #[error("ambiguous column '{name}'{}: it could be any of {}", at(position), candidates.join(", "))]
    AmbiguousColumn {
        /// The name as written.
        name: String,
        /// Where it was written.
        position: Option<Position>,
        /// The qualified names it matches.
        candidates: Vec<String>,
    },
    /// A table (or view, or CTE) name resolves to nothing.
    #[error("unknown table '{name}'{}{}", at(position), did_you_mean(suggestions))]
    UnknownTable {
        /// The name as written.
        name: String,
        /// Where it was written.
        position: Option<Position>,
        /// The closest existing names, best first.
        suggestions: Vec<String>,
    },
    /// A function name is neither a registered scalar nor aggregate function.
    #[error(
        "unknown function '{name}'{}{}",
        at(position),
        did_you_mean(suggestions)
    )]
    UnknownFunction {
        /// The name as written.
        name: String,
        /// Where it was written.
        position: Option<Position>,
        /// The closest registered names, best first.
        suggestions: Vec<String>,
    },
    /// A function was called with the wrong number of arguments.
    #[error("function '{function}' expects {expected}, got {got}{}", at(position))]
    ArgumentCount {
        /// The function name.
        function: String,
        /// The accepted counts, in words (`2 arguments`, `at least 1 argument`).
        expected: String,
        /// How many were given.
        got: usize,
        /// Where the call was written.
        position: Option<Position>,
    },
    /// Operand or argument types that cannot be combined.
    #[error("type mismatch{}: {message}", at(position))]
    TypeMismatch {
        /// What does not fit.
        message: String,
        /// Where the expression was written.
        position: Option<Position>,
    },
    /// An interval string such as `window(ts, '1 hour')`'s second argument is not understood.
    #[error("malformed interval '{value}'{}: {reason}", at(position))]
    MalformedInterval {
        /// The interval text.
        value: String,
        /// Why it was rejected.
        reason: String,
        /// Where it was written.
        position: Option<Position>,
    },
    /// Valid SQL that rsql does not handle yet.
    #[error("not supported yet: {construct}{}", at(position))]
    NotSupported {
        /// The construct, e.g. `INTERSECT`.
        construct: String,
        /// Where it was written.
        position: Option<Position>,
    },
    /// A semantic error of the query, e.g. a column outside GROUP BY.
    #[error("{message}{}", at(position))]
    Invalid {
        /// What is wrong.
        message: String,
        /// Where, if known.
        position: Option<Position>,
    },
    /// A lower layer failed while the plan was being built, e.g. listing the files a `FROM
    /// 'path'` names; the error keeps its type (downcast `source` to it).
    #[error("{source}{}", at(position))]
    External {
        /// The error of the lower layer.
        source: Box<dyn std::error::Error + Send + Sync>,
        /// Where the SQL led to it, if known.
        position: Option<Position>,
    },
    /// A bug: an invariant of the planner itself was broken (e.g. a rule changed a schema).
    #[error("internal planner error: {0}")]
    Internal(String),
    /// An error reported by datafusion-common (schemas, scalar arithmetic, tree rewriting).
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
}

/// Results of this crate.
pub type Result<T, E = PlanError> = std::result::Result<T, E>;

fn at(position: &Option<Position>) -> String {
    position.map(|p| format!(" at {p}")).unwrap_or_default()
}

fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!("; did you mean '{one}'?"),
        many => {
            let quoted: Vec<String> = many.iter().map(|s| format!("'{s}'")).collect();
            format!("; did you mean one of {}?", quoted.join(", "))
        }
    }
}

impl PlanError {
    /// A semantic error without a position.
    pub fn invalid(message: impl Into<String>) -> Self {
        PlanError::Invalid {
            message: message.into(),
            position: None,
        }
    }

    /// The error of a lower layer (I/O, a catalog), kept with its type, without a position.
    pub fn external(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        PlanError::External {
            source: source.into(),
            position: None,
        }
    }

    /// A "not supported yet" error without a position.
    pub fn not_supported(construct: impl Into<String>) -> Self {
        PlanError::NotSupported {
            construct: construct.into(),
            position: None,
        }
    }

    /// A type mismatch without a position.
    pub fn type_mismatch(message: impl Into<String>) -> Self {
        PlanError::TypeMismatch {
            message: message.into(),
            position: None,
        }
    }

    /// Sets the position of errors that carry one and do not have it yet; others pass unchanged.
    pub fn or_at(mut self, span: Span) -> Self {
        let new = Position::from_span(span);
        match &mut self {
            PlanError::Parse { position, .. }
            | PlanError::UnknownColumn { position, .. }
            | PlanError::AmbiguousColumn { position, .. }
            | PlanError::UnknownTable { position, .. }
            | PlanError::UnknownFunction { position, .. }
            | PlanError::ArgumentCount { position, .. }
            | PlanError::TypeMismatch { position, .. }
            | PlanError::MalformedInterval { position, .. }
            | PlanError::NotSupported { position, .. }
            | PlanError::Invalid { position, .. }
            | PlanError::External { position, .. } => {
                if position.is_none() {
                    *position = new;
                }
            }
            PlanError::Internal(_) | PlanError::DataFusion(_) => {}
        }
        self
    }

    /// Recovers a [`PlanError`] that crossed a `TreeNode` closure as a `DataFusionError`; other
    /// errors are wrapped.
    pub fn from_datafusion(error: DataFusionError) -> PlanError {
        match error {
            DataFusionError::External(inner) => match inner.downcast::<PlanError>() {
                Ok(plan_error) => *plan_error,
                Err(other) => PlanError::DataFusion(DataFusionError::External(other)),
            },
            other => PlanError::DataFusion(other),
        }
    }

    /// The SQL position of the error, if it has one.
    pub fn position(&self) -> Option<Position> {
        match self {
            PlanError::Parse { position, .. }
            | PlanError::UnknownColumn { position, .. }
            | PlanError::AmbiguousColumn { position, .. }
            | PlanError::UnknownTable { position, .. }
            | PlanError::UnknownFunction { position, .. }
            | PlanError::ArgumentCount { position, .. }
            | PlanError::TypeMismatch { position, .. }
            | PlanError::MalformedInterval { position, .. }
            | PlanError::NotSupported { position, .. }
            | PlanError::Invalid { position, .. }
            | PlanError::External { position, .. } => *position,
            PlanError::Internal(_) | PlanError::DataFusion(_) => None,
        }
    }
}

/// Turns a [`PlanError`] into a `DataFusionError` so it can cross `TreeNode` closures.
impl From<PlanError> for DataFusionError {
    fn from(error: PlanError) -> Self {
        match error {
            PlanError::DataFusion(inner) => inner,
            other => DataFusionError::External(Box::new(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_column_message_has_position_and_suggestion() {
        let err = PlanError::UnknownColumn {
            name: "sesion_id".into(),
            position: Some(Position { line: 1, column: 8 }),
            suggestions: vec!["session_id".into()],
        };
        assert_eq!(
            err.to_string(),
            "unknown column 'sesion_id' at 1:8; did you mean 'session_id'?"
        );
    }

    #[test]
    fn plan_errors_survive_a_round_trip_through_datafusion_errors() {
        let err: DataFusionError = PlanError::not_supported("INTERSECT").into();
        let back = PlanError::from_datafusion(err);
        assert!(matches!(back, PlanError::NotSupported { .. }), "{back:?}");
    }
}
