//! A short fixed-seed run of the differential SQL fuzzer (`sql-fuzz` runs long ones): rsql's
//! answers to random queries must match SQLite's.

use rsql_benches::fuzz::differential;

/// Queries generated.
const QUERIES: usize = 1000;

#[test]
fn rsql_agrees_with_sqlite() {
    // rsql's runtime catches task panics and reports them as errors; keep them off stderr.
    std::panic::set_hook(Box::new(|_| {}));
    let report = differential(20_240_601, QUERIES, &|_: &str| false).expect("fuzz run");
    let _ = std::panic::take_hook();
    let failures: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            format!(
                "seed {} query {}: {:?}\n{}",
                f.seed,
                f.index,
                f.outcome,
                f.sql()
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} queries differ (rerun one with `sql-fuzz --seed S --queries N --minimise`):\n{}",
        failures.len(),
        report.compared(),
        failures.join("\n\n")
    );
    // Most of the queries left must really be compared, not refused by either engine.
    assert!(
        report.compared() >= QUERIES * 2 / 5,
        "only {} of {QUERIES} queries compared ({} skipped, unsupported: {:?})",
        report.compared(),
        report.skipped,
        report.unsupported
    );
}
