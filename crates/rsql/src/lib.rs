//! rsql: SQL and DataFrames over Apache Arrow, planned with partition-aware rules and run as
//! RDD stages on a local thread pool.
//!
//! ```no_run
//! use rsql::functions::{count_star, count_distinct};
//! use rsql::{Session, col};
//!
//! # fn main() -> rsql::Result<()> {
//! let session = Session::new()?;
//! let events = session.read_parquet("events/")?;
//! let per_customer = events
//!     .group_by([col("customer")])
//!     .agg([count_star().alias("views"), count_distinct(col("session_id")).alias("visitors")])?;
//! per_customer.show()?;
//! session.register_table("events", &events);
//! session.sql("SELECT customer, count(*) FROM events GROUP BY customer")?.show()?;
//! # Ok(())
//! # }
//! ```

mod bytes;
mod catalog;
mod dataframe;
mod duration;
mod error;
pub mod functions;
mod inspect;
pub mod reference;
mod session;
pub mod settings;
mod stages;
mod stream;

pub use bytes::{format_bytes, format_memory_limit};
pub use dataframe::{DataFrame, GroupedData};
pub use datafusion_common::JoinType;
pub use error::{Error, Result};
/// The error types [`Error`]'s variants hold, to match on them.
pub use rsql_exec::ExecError;
pub use rsql_exec::aggregate::{AggregateUdf, GroupsAccumulator};
pub use rsql_exec::expr::{ColumnarValue, ScalarUdf};
pub use rsql_exec::physical::PlanSpec;
pub use rsql_io::IoError;
pub use rsql_io::{ParquetFileWriter, SaveMode, WriteFormat, WriteOptions};
pub use rsql_plan::sql::sql_type_name;
pub use rsql_plan::{
    AggregateFunctionSignature, Arity, Expr, ScalarFunctionSignature, SimpleScalarSignature,
    SortExpr, col, lit,
};
pub use rsql_plan::{PlanError, Position};
pub use rsql_rdd::{RandomFaults, RddError};
pub use session::{SHUFFLE_PARTITIONS_PER_THREAD, Session, SessionConfig};
pub use stream::RecordBatchStream;

/// The examples of the user guide's DataFrame page, run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/guide/dataframe.md")]
mod guide_dataframe {}
