//! What a node's physical expressions were compiled from. Physical expressions are trait
//! objects and cannot be shipped; the logical expressions and the schema they were bound against
//! can, and a process with its own function registry compiles them again.

use std::sync::Arc;

use arrow::datatypes::Schema;
use datafusion_common::DFSchemaRef;
use rsql_plan::compute::EvalMode;
use rsql_plan::{Expr, FunctionRegistry, TimeZone};
use serde::{Deserialize, Serialize};

use crate::error::{Result, exec_err};
use crate::expr::{PhysicalExpr, ScalarFunctions, column, create_physical_expr};

/// A logical expression with the logical schema of the input it reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundExpr {
    /// The expression.
    pub expr: Expr,
    /// The schema its columns resolve against.
    #[serde(with = "rsql_plan::codec::df_schema")]
    pub schema: DFSchemaRef,
    /// The session time zone it casts and calls date and time functions in.
    pub time_zone: TimeZone,
    /// Whether overflow, division by zero and failed casts are NULL or errors (`ansi_mode`).
    #[serde(default)]
    pub mode: EvalMode,
}

impl BoundExpr {
    /// Compiles the expression, looking functions up by name in `registry` (signatures) and
    /// `functions` (implementations).
    pub fn compile(
        &self,
        registry: &FunctionRegistry,
        functions: &ScalarFunctions,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        create_physical_expr(
            &self.expr,
            &self.schema,
            registry,
            functions,
            &self.time_zone,
            self.mode,
        )
    }
}

/// What a projection's expressions were compiled from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProjectionSource {
    /// Logical expressions over the input's logical schema.
    Exprs {
        /// The expressions, in output order.
        exprs: Vec<Expr>,
        /// The schema their columns resolve against.
        #[serde(with = "rsql_plan::codec::df_schema")]
        schema: DFSchemaRef,
        /// The session time zone they cast and call date and time functions in.
        time_zone: TimeZone,
        /// Whether overflow, division by zero and failed casts are NULL or errors.
        #[serde(default)]
        mode: EvalMode,
    },
    /// Input columns by index, passed through (key columns computed for a join or sort being
    /// dropped again).
    Columns(Vec<usize>),
}

impl ProjectionSource {
    /// For each output column, the input column it passes through unchanged, if it does.
    pub fn passed_columns(&self) -> Vec<Option<usize>> {
        match self {
            ProjectionSource::Exprs { exprs, schema, .. } => exprs
                .iter()
                .map(|e| match e.unaliased() {
                    Expr::Column(c) => schema.index_of_column(c).ok(),
                    _ => None,
                })
                .collect(),
            ProjectionSource::Columns(columns) => columns.iter().copied().map(Some).collect(),
        }
    }

    /// Compiles the projection over batches of `input`; see [`BoundExpr::compile`].
    pub fn compile(
        &self,
        input: &Schema,
        registry: &FunctionRegistry,
        functions: &ScalarFunctions,
    ) -> Result<Vec<Arc<dyn PhysicalExpr>>> {
        match self {
            ProjectionSource::Exprs {
                exprs,
                schema,
                time_zone,
                mode,
            } => exprs
                .iter()
                .map(|expr| {
                    create_physical_expr(expr, schema, registry, functions, time_zone, *mode)
                })
                .collect(),
            ProjectionSource::Columns(columns) => columns
                .iter()
                .map(|&index| match input.fields().get(index) {
                    Some(field) => Ok(column(index, field.data_type().clone())),
                    None => exec_err(format!(
                        "projected column {index} is out of range for {} columns",
                        input.fields().len()
                    )),
                })
                .collect(),
        }
    }
}
