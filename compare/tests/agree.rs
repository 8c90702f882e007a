//! Every `; RUN:` line of the corpus (`tests/programs`) and of the kernel suite
//! (`benches/kernels`): `egjit-compare` runs it on every engine and exits 0 only when all
//! of them give the same answer, results or trap.

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn every_engine_agrees_on_every_run_of_the_corpus_and_the_kernels() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut runs = 0;
    let mut failures = Vec::new();
    for dir in ["tests/programs", "benches/kernels"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("the programs")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "egir"))
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read");
            for line in text.lines() {
                let Some(run) = line.strip_prefix("; RUN:") else {
                    continue;
                };
                runs += 1;
                let args: Vec<&str> = run.split_whitespace().collect();
                if let Err(e) = common::compare(&file, &args) {
                    failures.push(format!("{} [{}]: {e}", file.display(), run.trim()));
                }
            }
        }
    }
    assert!(runs >= 100, "only {runs} runs found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_bad_engine_name_is_refused() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO_BIN_EXE_egjit-compare"))
        .arg(root.join("benches/kernels/fib.egir"))
        .args(["--engines", "jit,llvm", "5"])
        .output()
        .expect("egjit-compare");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown engine `llvm`"), "{err}");
}
