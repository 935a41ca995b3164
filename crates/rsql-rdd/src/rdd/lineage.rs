//! Printing lineage the way Spark's `toDebugString` does: one RDD a line, indented per stage.

use std::collections::HashSet;
use std::fmt::Write;
use std::sync::Arc;

use crate::rdd::{Dependency, RddBase};
use crate::shuffle::ShuffleDependencyBase;

/// The shuffle dependencies reachable from `rdd` through narrow dependencies only, i.e. the
/// shuffles the stage ending at `rdd` reads. RDDs for which `stop` holds are not looked through.
pub(crate) fn stage_shuffles(
    rdd: &Arc<dyn RddBase>,
    stop: impl Fn(&dyn RddBase) -> bool,
) -> Vec<Arc<dyn ShuffleDependencyBase>> {
    let mut shuffles = Vec::new();
    let mut visited = HashSet::new();
    let mut stack = vec![Arc::clone(rdd)];
    while let Some(rdd) = stack.pop() {
        if !visited.insert(rdd.meta().id) || stop(rdd.as_ref()) {
            continue;
        }
        for dep in rdd.dependencies() {
            match dep {
                Dependency::Narrow(parent) => stack.push(parent),
                Dependency::Shuffle(shuffle) => shuffles.push(shuffle),
            }
        }
    }
    shuffles
}

/// The lineage of `rdd`; each shuffle dependency opens a deeper, `+-`-marked level.
pub(crate) fn debug_string(rdd: &Arc<dyn RddBase>) -> String {
    let mut out = String::new();
    write_rdd(rdd, "", "", true, &mut out);
    out
}

/// Writes `rdd` after `head`, then its parents: narrow ones at the same `indent` behind ` |  `,
/// shuffled ones behind ` +-` with the indent of a new stage.
fn write_rdd(
    rdd: &Arc<dyn RddBase>,
    indent: &str,
    head: &str,
    first_in_stage: bool,
    out: &mut String,
) {
    let meta = rdd.meta();
    let count = if first_in_stage {
        format!("({}) ", rdd.num_partitions())
    } else {
        String::new()
    };
    let mut extras = Vec::new();
    if let Some(partitioner) = rdd.partitioner() {
        extras.push(format!("partitioner: {}", partitioner.description()));
    }
    if let Some(persistence) = meta.persistence() {
        extras.push(format!("{:?}", persistence.level()));
    }
    let extras = if extras.is_empty() {
        String::new()
    } else {
        format!(" [{}]", extras.join(", "))
    };
    let _ = writeln!(
        out,
        "{head}{count}{}[{}] {}{extras}",
        rdd.node_name(),
        meta.id,
        meta.describe()
    );
    for dep in rdd.dependencies() {
        match dep {
            Dependency::Narrow(parent) => {
                write_rdd(&parent, indent, &format!("{indent} |  "), false, out);
            }
            Dependency::Shuffle(shuffle) => {
                let stage_indent = format!("{indent}   ");
                write_rdd(
                    &shuffle.parent(),
                    &stage_indent,
                    &format!("{indent} +-"),
                    true,
                    out,
                );
            }
        }
    }
}
