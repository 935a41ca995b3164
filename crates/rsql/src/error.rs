//! The error of the public API: whatever layer failed, one message that says what and where.

use arrow::error::ArrowError;
use rsql_exec::ExecError;
use rsql_io::IoError;
use rsql_plan::PlanError;
use rsql_rdd::RddError;

/// Result type of the public API.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in a session.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SQL or the DataFrame expression is invalid (parse, bind, type errors).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Planning or running the physical operators failed.
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// Reading or writing files failed.
    #[error(transparent)]
    Io(#[from] IoError),
    /// The runtime failed (a task failed after its retries).
    #[error(transparent)]
    Rdd(#[from] RddError),
    /// An Arrow kernel failed.
    #[error(transparent)]
    Arrow(#[from] ArrowError),
    /// The call does not make sense (unknown table, bad argument).
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// Whether the statement failed because it was cancelled ([`crate::Session::cancel`]).
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Error::Rdd(RddError::Cancelled))
    }
}
