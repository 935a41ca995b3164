//! Errors of physical execution.

use arrow::error::ArrowError;

/// Result type of the execution layer.
pub type Result<T, E = ExecError> = std::result::Result<T, E>;

/// What can go wrong while evaluating expressions and running operators.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// An Arrow kernel failed (overflow, invalid cast, ...).
    #[error(transparent)]
    Arrow(#[from] ArrowError),

    /// A datafusion-common helper failed (scalar conversion, hashing).
    #[error(transparent)]
    Common(#[from] datafusion_common::DataFusionError),

    /// The RDD runtime failed (a task failed, a file could not be read, ...).
    #[error(transparent)]
    Rdd(#[from] rsql_rdd::RddError),

    /// Listing, reading or writing files failed.
    #[error(transparent)]
    Io(#[from] rsql_io::IoError),

    /// A function signature of the logical layer rejected its arguments (count or types).
    #[error(transparent)]
    Plan(#[from] rsql_plan::PlanError),

    /// An operator or function got input it cannot handle.
    #[error("{0}")]
    Execution(String),
}

/// Shorthand for an [`ExecError::Execution`] error.
pub(crate) fn exec_err<T>(message: impl Into<String>) -> Result<T> {
    Err(ExecError::Execution(message.into()))
}
