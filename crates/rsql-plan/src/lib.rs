//! The logical layer of rsql: expressions ([`Expr`]), logical plans ([`LogicalPlan`]) with
//! their schemas, type coercion, the function registry's signatures ([`FunctionRegistry`]), the
//! SQL binder ([`bind_sql`]) and the optimizer ([`Optimizer`]) with its rules.
//!
//! The flow: SQL text → sqlparser AST → [`bind_sql`] → [`Statement`] holding a
//! [`LogicalPlan`] → [`Optimizer::optimize`] → an optimized plan for the physical planner.

pub mod codec;
pub mod coercion;
pub mod compute;
mod error;
pub mod expr;
pub mod function;
pub mod plan;
mod suggest;
pub mod time_zone;

pub use coercion::{TypeCoercion, coerce_expr};
pub use error::{PlanError, Position, Result};
pub use expr::{Expr, Operator, SortExpr, col, ident, lit};
pub use function::{
    AggregateFunctionSignature, Arity, BuiltinAggregate, FunctionEntry, FunctionKind,
    FunctionRegistry, ScalarFunctionSignature, SimpleScalarSignature, SingleValue,
};
pub use plan::{
    Catalog, CopyFormat, CreateTable, Insert, LogicalPlan, OverwriteScope, PathRequest,
    SchemaSource, Statement, TableSource, TableSourceRef,
};
pub use sql::{SqlBinder, bind_sql, parse_statement};
pub use time_zone::TimeZone;

pub mod optimizer;
pub mod sql;
pub use optimizer::{Optimizer, OptimizerRule};
