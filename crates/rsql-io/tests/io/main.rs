//! Integration tests of rsql-io: one test binary, one module per concern.

mod common;
mod errors;
mod fixtures;
mod listing;
mod pruning;
mod roundtrip;
mod s3;
mod scan_spec;
mod text;
mod write;
