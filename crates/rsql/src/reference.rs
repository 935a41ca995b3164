//! The generated reference pages under `docs/reference/`: written from the registries (see
//! [`reference_pages`]) so they cannot drift from the code; a test fails when the committed
//! pages are stale.

use std::fmt::Write as _;

use rsql_exec::aggregate::register_builtin_aggregates;
use rsql_plan::{FunctionKind, FunctionRegistry};

use crate::settings::settings_reference;

/// Every generated page: file name and content.
pub fn reference_pages() -> Vec<(&'static str, String)> {
    vec![
        ("functions.md", functions_reference()),
        ("settings.md", settings_reference()),
    ]
}

/// `docs/reference/functions.md`: the built-in functions by kind, with their argument counts.
pub fn functions_reference() -> String {
    let mut registry = FunctionRegistry::new();
    register_builtin_aggregates(&mut registry);
    let entries = registry.entries();
    let mut doc = String::from(
        "# Functions\n\n\
         <!-- Generated from the function registry by `rsql --dump-docs docs/reference`; a test \
         fails when this file is stale. -->\n\n\
         The built-in functions, as `SHOW FUNCTIONS` lists them. Names follow Spark SQL, with \
         DuckDB's common aliases; names are case-insensitive. Every aggregate also works as a \
         window function (`OVER (...)`). Syntax forms that are not calls (`CAST`, `TRY_CAST`, \
         `EXTRACT`, `CASE`, `INTERVAL`, `x IS [NOT] DISTINCT FROM y`, `LIKE`, `IN`, `BETWEEN`) \
         are described in the SQL reference.\n",
    );
    for kind in [
        FunctionKind::Scalar,
        FunctionKind::Aggregate,
        FunctionKind::Window,
    ] {
        let title = match kind {
            FunctionKind::Scalar => "Scalar functions",
            FunctionKind::Aggregate => "Aggregate functions",
            FunctionKind::Window => "Window functions",
        };
        let _ = write!(doc, "\n## {title}\n\n| name | arguments |\n|---|---|\n");
        for entry in entries.iter().filter(|e| e.kind == kind) {
            let _ = writeln!(doc, "| `{}` | {} |", entry.name, entry.arity);
        }
    }
    doc
}
