//! The program corpus, for the test files that go through all of it.

use std::path::PathBuf;

/// The corpus programs (`tests/programs/*.egir`), sorted; at least 30 of them.
pub fn paths() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir("tests/programs")
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "egir"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 30, "corpus of {}", paths.len());
    paths
}
