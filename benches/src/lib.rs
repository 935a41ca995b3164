//! Shared helpers for rsql benchmarks and data generators.

pub mod events;
pub mod fuzz;
