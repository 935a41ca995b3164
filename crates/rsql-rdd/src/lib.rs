//! The resilient distributed dataset runtime.
