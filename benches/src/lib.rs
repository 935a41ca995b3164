//! Shared helpers for rsql benchmarks and data generators.
