//! The seeded program generator of egjit's differential test (`tests/support/gen.rs`):
//! `egjit-compare` runs each program's `main` on the interpreter, the e-graph JIT and
//! Cranelift at both levels, and exits 0 only when all give the same answer.

#[allow(dead_code)]
#[path = "../../tests/support/gen.rs"]
mod gen;

mod common;

use egjit::Module;

/// Seeds checked; `EGJIT_COMPARE_SEEDS=N` checks another number.
const SEEDS: u64 = 150;

#[test]
fn cranelift_agrees_with_egjit_on_generated_programs() {
    let seeds = std::env::var("EGJIT_COMPARE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEEDS);
    let dir = std::env::temp_dir().join(format!("egjit-compare-gen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut failures = Vec::new();
    for seed in 0..seeds {
        let text = gen::program(seed);
        let module = Module::from_text(&text, "gen").expect("a generated program parses");
        let args: Vec<String> = gen::args(seed, &module)
            .iter()
            .map(|v| v.to_string())
            .collect();
        let file = dir.join(format!("seed{seed}.egir"));
        std::fs::write(&file, &text).expect("write");
        let mut argv = args.clone();
        argv.extend(["--engines", "interp,jit,cranelift_none,cranelift_speed"].map(String::from));
        if let Err(e) = common::compare(&file, &argv) {
            failures.push(format!("seed {seed} ({}): {e}", args.join(" ")));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
