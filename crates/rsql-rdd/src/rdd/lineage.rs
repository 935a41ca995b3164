//! Printing lineage the way Spark's `toDebugString` does: one RDD a line, indented per stage.

use std::fmt::Write;
use std::sync::Arc;

use crate::rdd::{Dependency, RddBase};

/// The lineage of `rdd`; each shuffle dependency opens a deeper, `+-`-marked level.
pub(crate) fn debug_string(rdd: &Arc<dyn RddBase>) -> String {
    let mut out = String::new();
    write_rdd(rdd, "", true, &mut out);
    out
}

fn write_rdd(rdd: &Arc<dyn RddBase>, prefix: &str, first_in_stage: bool, out: &mut String) {
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
        "{count}{}[{}] {}{extras}",
        rdd.node_name(),
        meta.id,
        meta.describe()
    );
    let narrow_prefix = format!("{prefix} |  ");
    for dep in rdd.dependencies() {
        match dep {
            Dependency::Narrow(parent) => {
                out.push_str(&narrow_prefix);
                write_rdd(&parent, &format!("{prefix} | "), false, out);
            }
            Dependency::Shuffle(shuffle) => {
                let _ = write!(out, "{prefix} +-");
                write_rdd(&shuffle.parent(), &format!("{prefix}    "), true, out);
            }
        }
    }
}
