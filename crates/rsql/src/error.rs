//! The error of the public API: whatever layer failed, one message that says what and where,
//! and the failing layer's own error as a typed variant (each reaches the user one way only:
//! an [`IoError`] is [`Error::Io`] whether planning or an operator hit it).

use std::time::Duration;

use arrow::error::ArrowError;
use rsql_exec::ExecError;
use rsql_io::IoError;
use rsql_plan::{PlanError, Position};
use rsql_rdd::RddError;

/// Result type of the public API.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in a session.
///
/// A task's failure stays [`Error::Rdd`] (`RddError::TaskFailed`, which names the stage and
/// partition); [`Error::root_cause`] reaches the operator's or the reader's error inside it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SQL or the DataFrame expression is invalid (parse, bind, type errors).
    #[error(transparent)]
    Plan(PlanError),
    /// Planning or running the physical operators failed.
    #[error(transparent)]
    Exec(ExecError),
    /// Listing, reading or writing files failed; `position` is where the SQL named them, when
    /// it did.
    #[error("{source}{}", position.map(|p| format!(" at {p}")).unwrap_or_default())]
    Io {
        /// The error of the reader or writer (it names the path), boxed: it is large, and
        /// every `Result` of the API would carry its size.
        source: Box<IoError>,
        /// Where the SQL named the files, if known.
        position: Option<Position>,
    },
    /// The runtime failed (a task failed after its retries, the job was cancelled).
    #[error(transparent)]
    Rdd(RddError),
    /// An Arrow kernel failed.
    #[error(transparent)]
    Arrow(#[from] ArrowError),
    /// The statement ran longer than the `statement_timeout` setting and was cancelled.
    #[error(
        "the statement was cancelled after {} (statement_timeout)",
        crate::duration::format_duration(*.0)
    )]
    StatementTimeout(Duration),
    /// The call does not make sense (unknown table, bad argument).
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// Whether the statement failed because it was cancelled ([`crate::Session::cancel`]);
    /// a statement stopped by its timeout is [`Error::StatementTimeout`] instead.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Error::Rdd(RddError::Cancelled))
    }

    /// Where in the SQL text the error is, when it comes from SQL and is known.
    pub fn position(&self) -> Option<Position> {
        match self {
            Error::Plan(error) => error.position(),
            Error::Io { position, .. } => *position,
            _ => None,
        }
    }

    /// The innermost rsql error this one stands for, as DataFusion's `find_root`: through a
    /// failed task (`RddError::TaskFailed`) and the runtime's wrapping of operator errors down
    /// to the [`IoError`], [`ExecError`], [`PlanError`], [`RddError`] or [`ArrowError`] that
    /// started it. Downcast it to the type you handle; the operating system's error below an
    /// [`IoError`] stays reachable with [`std::error::Error::source`]. An error that wraps
    /// nothing is its own root cause.
    pub fn root_cause(&self) -> &(dyn std::error::Error + 'static) {
        let mut root = unwrap_transparent(self);
        let mut next = root.source();
        while let Some(error) = next {
            let error = unwrap_transparent(error);
            if is_rsql_error(error) {
                root = error;
            }
            next = error.source();
        }
        root
    }
}

/// The error a transparent wrapper stands for (its `source()` skips the wrapped error, so a
/// chain walk must step into it instead).
fn unwrap_transparent<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> &'a (dyn std::error::Error + 'static) {
    if let Some(error) = error.downcast_ref::<Error>() {
        return match error {
            Error::Plan(e) => unwrap_transparent(e),
            Error::Exec(e) => unwrap_transparent(e),
            Error::Io { source, .. } => source.as_ref(),
            Error::Rdd(e) => e,
            Error::Arrow(e) => e,
            Error::StatementTimeout(_) | Error::Invalid(_) => error,
        };
    }
    match error.downcast_ref::<ExecError>() {
        Some(ExecError::Arrow(e)) => e,
        Some(ExecError::Common(e)) => e,
        Some(ExecError::Rdd(e)) => e,
        Some(ExecError::Plan(e)) => unwrap_transparent(e),
        Some(ExecError::Io(e)) => e,
        _ => error,
    }
}

/// Whether `error` is one of the error types of rsql's crates (or Arrow's).
fn is_rsql_error(error: &(dyn std::error::Error + 'static)) -> bool {
    error.is::<IoError>()
        || error.is::<ExecError>()
        || error.is::<PlanError>()
        || error.is::<RddError>()
        || error.is::<ArrowError>()
        || error.is::<Error>()
}

impl From<IoError> for Error {
    fn from(source: IoError) -> Self {
        Error::Io {
            source: Box::new(source),
            position: None,
        }
    }
}

/// A lower layer's error that crossed the planner ([`PlanError::External`]) becomes its own
/// variant again, keeping the SQL position.
impl From<PlanError> for Error {
    fn from(error: PlanError) -> Self {
        let PlanError::External { source, position } = error else {
            return Error::Plan(error);
        };
        let source = match source.downcast::<IoError>() {
            Ok(io) => {
                return Error::Io {
                    source: io,
                    position,
                };
            }
            Err(other) => other,
        };
        match source.downcast::<Error>() {
            Ok(error) => match *error {
                Error::Io {
                    source,
                    position: None,
                } => Error::Io { source, position },
                error => error,
            },
            Err(source) => Error::Plan(PlanError::External { source, position }),
        }
    }
}

/// Operator errors that wrap another layer's error become that layer's variant.
impl From<ExecError> for Error {
    fn from(error: ExecError) -> Self {
        match error {
            ExecError::Rdd(e) => e.into(),
            ExecError::Plan(e) => e.into(),
            ExecError::Io(e) => e.into(),
            ExecError::Arrow(e) => Error::Arrow(e),
            other => Error::Exec(other),
        }
    }
}

/// An operator's error the runtime boxed outside any task becomes its own variant again;
/// task failures stay runtime errors (they name the stage and partition).
impl From<RddError> for Error {
    fn from(error: RddError) -> Self {
        let RddError::External(source) = error else {
            return Error::Rdd(error);
        };
        let source = match source.downcast::<ExecError>() {
            Ok(exec) => return (*exec).into(),
            Err(other) => other,
        };
        match source.downcast::<IoError>() {
            Ok(io) => (*io).into(),
            Err(source) => Error::Rdd(RddError::External(source)),
        }
    }
}
