//! `rsql-exec`: physical operators on Arrow record batches and their lowering onto the RDD
//! runtime.
//!
//! Operators are plain functions of batches (hash aggregation, hash partitioning, ...); the
//! [`lower`] module wires them into `Rdd<RecordBatch>` lineage, one stage per exchange.

pub mod aggregate;
mod error;
pub mod expr;
mod functions;
mod listing_table;
pub mod lower;
mod memory_table;
mod open_path;
pub mod operators;
pub mod physical;
mod rows;
mod shuffle_spill;
pub mod spill;

pub use error::{ExecError, Result};
pub use listing_table::ListingTable;
pub use memory_table::MemoryTable;
pub use open_path::open_path;
pub use physical::{PhysicalPlan, PlannerContext, create_physical_plan};
