//! The committed `docs/reference/` pages are what the registries generate now.

use std::path::PathBuf;

#[test]
fn reference_pages_are_fresh() {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/reference"));
    let mut stale = Vec::new();
    for (name, content) in rsql::reference::reference_pages() {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(content.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale reference pages {stale:?}: run `cargo run -p rsql-cli -- --dump-docs docs/reference`"
    );
}
