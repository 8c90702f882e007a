//! Differential tests: seeded random programs (`support/gen.rs`) run on every engine,
//! which must all give the same results, traps included (as their IR.md message), and
//! leave the same memory behind (read back by the generated `@probe`).
//!
//! The engines are the reference interpreter, the e-graph JIT and the single-op JIT; each
//! program runs twice on each, on fresh instances, which must answer the same. A new
//! engine is one more entry in [`engines`]. A program that runs too long on an engine
//! (code that loops forever) ends the run with its seed and program, not a hang.

#[path = "support/gen.rs"]
mod gen;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use egjit::ir::oplist::{Imm, Suffix};
use egjit::ir::{Opcode, TermKind, OPS};
use egjit::{CallError, Config, Imports, Instance, Module, Value};

/// The answer of one call: its results, or the trap's IR.md message. Failures that are
/// not traps (instantiation, a bad call) start with an upper-case tag so they never
/// look like a trap.
type Outcome = Result<Vec<Value>, String>;

/// An engine loaded with one module: calls a function by name. Memory persists from one
/// call to the next, as on one instance.
type Engine = Box<dyn FnMut(&str, &[Value]) -> Outcome>;

/// The longest one program may run on one engine. Generated programs are short and
/// their loops bounded, so a program past this loops forever.
const HANG: Duration = Duration::from_secs(60);

/// What a worker is running, while it runs a program on an engine: the seed, the engine,
/// since when.
type Doing = Mutex<Option<(u64, &'static str, Instant)>>;

/// Runs of this many seeds or more report progress on standard error, every
/// `PROGRESS_EVERY` seeds.
const PROGRESS_FROM: u64 = 100_000;
const PROGRESS_EVERY: u64 = 25_000;

/// Seeds of the normal run.
const SEEDS: u64 = 4_000;

/// Seeds of the long run (`cargo test --release --test differential -- --ignored`).
const LONG_SEEDS: u64 = 1_000_000;

/// Every engine, each with a fresh instance of `module`. To check another engine, add
/// an entry `("name", Box::new(...))` whose closure calls the named function of
/// `module` and renders a trap with `trap.to_string()`.
fn engines(module: &Module) -> Vec<(&'static str, Engine)> {
    vec![
        ("interp", interpreter(module)),
        ("jit", jit(module, false)),
        ("single-op", jit(module, true)),
    ]
}

/// The JIT on a fresh instance: e-graph selection, or one stencil per operation.
fn jit(module: &Module, single_op: bool) -> Engine {
    let config = Config {
        single_op,
        ..Config::default()
    };
    let compiled = egjit::Jit::new(config).and_then(|j| j.compile(module));
    match compiled.and_then(|c| c.instantiate(Imports::new())) {
        Ok(mut instance) => engine(move |name, args| instance.call(name, args)),
        Err(e) => failed(format!("COMPILE ERROR: {e}")),
    }
}

/// The reference interpreter on a fresh instance with the default configuration.
fn interpreter(module: &Module) -> Engine {
    match Instance::new(module, Imports::new(), &Config::default()) {
        Ok(mut instance) => engine(move |name, args| instance.call(name, args)),
        Err(e) => failed(format!("INSTANTIATE ERROR: {e}")),
    }
}

/// An engine from an instance's `call`: traps as their IR.md message.
fn engine(
    mut call: impl FnMut(&str, &[Value]) -> Result<Vec<Value>, CallError> + 'static,
) -> Engine {
    Box::new(move |name, args| match call(name, args) {
        Ok(results) => Ok(results),
        Err(CallError::Trap(t)) => Err(t.to_string()),
        Err(other) => Err(format!("CALL ERROR: {other}")),
    })
}

/// An engine that could not be set up: every call reports why.
fn failed(msg: String) -> Engine {
    Box::new(move |_, _| Err(msg.clone()))
}

/// What one engine did with one program: `@main`'s answer, then `@probe`'s (memory size
/// and checksum, after `@main` on the same instance).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Run {
    main: Outcome,
    probe: Outcome,
}

fn run(engine: &mut Engine, args: &[Value]) -> Run {
    let main = engine("main", args);
    let probe = engine("probe", &[]);
    Run { main, probe }
}

/// What checking one seed found, for the coverage count.
struct Checked {
    module: Module,
    main: Outcome,
}

/// Parses, verifies and runs the program of `seed` on every engine (twice, on fresh
/// instances), and compares. The error names the seed and shows the program.
fn check_seed(seed: u64, doing: &Doing) -> Result<Checked, String> {
    let text = gen::program(seed);
    let module = Module::from_text(&text, &format!("seed{seed}.egir")).map_err(|e| {
        format!("seed {seed}: the generated program is rejected: {e}\n--- program ---\n{text}")
    })?;
    let args = gen::args(seed, &module);
    let mut runs: Vec<(String, Run)> = Vec::new();
    for round in 0..2 {
        for (name, mut engine) in engines(&module) {
            *doing.lock().unwrap() = Some((seed, name, Instant::now()));
            let r = run(&mut engine, &args);
            *doing.lock().unwrap() = None;
            runs.push((format!("{name} (instance {})", round + 1), r));
        }
    }
    if let Some(problem) = compare(&runs) {
        return Err(format!(
            "seed {seed}: {problem}\n  @main arguments: {args:?}\n--- program ---\n{text}"
        ));
    }
    Ok(Checked {
        module,
        main: runs[0].1.main.clone(),
    })
}

/// What is wrong with the runs of one program, if anything: two runs that differ, or a
/// run that failed other than by a trap.
fn compare(runs: &[(String, Run)]) -> Option<String> {
    let (first_name, first) = &runs[0];
    for (name, r) in &runs[1..] {
        if r != first {
            return Some(format!(
                "engines disagree\n  {first_name}: {first:?}\n  {name}: {r:?}"
            ));
        }
    }
    for (name, r) in runs {
        for o in [&r.main, &r.probe] {
            if let Err(msg) = o {
                if msg.starts_with(|c: char| c.is_ascii_uppercase()) {
                    return Some(format!("{name} failed without a trap: {msg}"));
                }
            }
        }
    }
    None
}

/// Checks seeds `0..n` on all cores; calls `visit` with each success. Returns the
/// failures (at most a few are kept in full). A watchdog ends the process, naming the
/// seed and the engine, when one program runs longer than [`HANG`].
fn check_seeds(n: u64, visit: &(dyn Fn(&Checked) + Sync)) -> Vec<String> {
    check_seed_range(0..n, visit)
}

/// [`check_seeds`] for the seeds of `range`.
fn check_seed_range(range: std::ops::Range<u64>, visit: &(dyn Fn(&Checked) + Sync)) -> Vec<String> {
    let (first, n) = (range.start, range.end);
    let workers = std::thread::available_parallelism().map_or(2, |p| p.get()) as u64;
    let failures = Mutex::new(Vec::new());
    let doing: Vec<Doing> = (0..workers).map(|_| Mutex::new(None)).collect();
    let done = AtomicBool::new(false);
    let checked = AtomicU64::new(0);
    std::thread::scope(|s| {
        let (doing, done, checked) = (&doing, &done, &checked);
        s.spawn(move || watchdog(doing, done));
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let failures = &failures;
                let doing = &doing[w as usize];
                s.spawn(move || {
                    let mut seed = first + w;
                    while seed < n {
                        match check_seed(seed, doing) {
                            Ok(c) => visit(&c),
                            Err(e) => {
                                let mut f = failures.lock().unwrap();
                                if f.len() < 5 {
                                    f.push(e);
                                } else {
                                    f.push(format!("seed {seed}: fails too"));
                                }
                            }
                        }
                        // Counted once checked, so the failures reported are theirs.
                        let checked = checked.fetch_add(1, Ordering::Relaxed) + 1;
                        if n - first >= PROGRESS_FROM && checked % PROGRESS_EVERY == 0 {
                            let failed = failures.lock().unwrap().len();
                            let _ = writeln!(
                                std::io::stderr(),
                                "{checked} of {} seeds checked, {failed} failed",
                                n - first
                            );
                        }
                        seed += workers;
                    }
                })
            })
            .collect();
        for h in handles {
            let _ = h.join();
        }
        done.store(true, Ordering::Relaxed);
    });
    failures.into_inner().unwrap()
}

/// Watches the workers until `done`: a program running longer than [`HANG`] cannot be
/// stopped from outside its engine, so the process ends, with the seed, the engine and
/// the program on standard error (written directly: the test harness's capture would
/// die with the process).
fn watchdog(doing: &[Doing], done: &AtomicBool) {
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        for d in doing {
            let Some((seed, engine, since)) = *d.lock().unwrap() else {
                continue;
            };
            if since.elapsed() > HANG {
                let _ = writeln!(
                    std::io::stderr(),
                    "seed {seed}: still running on `{engine}` after {HANG:?}: a loop that \
                     never ends?\n--- program ---\n{}",
                    gen::program(seed)
                );
                std::process::exit(1);
            }
        }
    }
}

fn assert_no_failures(failures: &[String], n: u64) {
    assert!(
        failures.is_empty(),
        "{} of {n} seeds failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn engines_agree_on_generated_programs() {
    let start = Instant::now();
    let failures = check_seeds(SEEDS, &|_| {});
    assert_no_failures(&failures, SEEDS);
    eprintln!("{SEEDS} seeds in {:.2?}", start.elapsed());
}

#[test]
#[ignore = "long: a million seeds"]
fn engines_agree_on_a_million_generated_programs() {
    // `EGJIT_SEEDS=FROM..TO` checks those seeds instead (to look again at a failure).
    let range = std::env::var("EGJIT_SEEDS").ok().map(|r| {
        let (a, b) = r.split_once("..").expect("EGJIT_SEEDS is FROM..TO");
        a.parse().expect("FROM is a number")..b.parse().expect("TO is a number")
    });
    let range = range.unwrap_or(0..LONG_SEEDS);
    let start = Instant::now();
    let failures = check_seed_range(range.clone(), &|_| {});
    assert_no_failures(&failures, range.end - range.start);
    eprintln!("seeds {range:?} in {:.2?}", start.elapsed());
}

#[test]
fn the_comparison_sees_a_difference() {
    let ok = Run {
        main: Ok(vec![Value::I32(1), Value::I64(-1)]),
        probe: Ok(vec![Value::I32(1), Value::I64(0)]),
    };
    let same = vec![("a".to_string(), ok.clone()), ("b".to_string(), ok.clone())];
    assert_eq!(compare(&same), None);
    let mut other_result = ok.clone();
    other_result.main = Ok(vec![Value::I32(1), Value::I64(0xffff_ffff)]);
    let mut other_memory = ok.clone();
    other_memory.probe = Ok(vec![Value::I32(1), Value::I64(7)]);
    let mut trap = ok.clone();
    trap.main = Err("integer divide by zero".into());
    let mut other_trap = ok.clone();
    other_trap.main = Err("integer overflow".into());
    let mut not_a_trap = ok.clone();
    not_a_trap.probe = Err("CALL ERROR: no function".into());
    for (bad, what) in [
        (other_result, "a different result"),
        (other_memory, "a different memory"),
        (trap.clone(), "a trap instead of a result"),
    ] {
        let runs = vec![("a".to_string(), ok.clone()), ("b".to_string(), bad)];
        let problem = compare(&runs).unwrap_or_else(|| panic!("{what} is not reported"));
        assert!(problem.contains("disagree"), "{what}: {problem}");
    }
    let traps = vec![("a".to_string(), trap), ("b".to_string(), other_trap)];
    assert!(
        compare(&traps).is_some(),
        "two different traps are not reported"
    );
    let runs = vec![
        ("a".to_string(), not_a_trap.clone()),
        ("b".to_string(), not_a_trap),
    ];
    let problem = compare(&runs).expect("a failure that is not a trap is not reported");
    assert!(problem.contains("without a trap"), "{problem}");
}

#[test]
fn generator_is_deterministic() {
    for seed in (0..200).chain([u64::MAX, 1 << 63, 0xdead_beef]) {
        let a = gen::program(seed);
        let b = gen::program(seed);
        assert_eq!(a, b, "seed {seed}: two different programs");
        let module = Module::from_text(&a, "det.egir")
            .unwrap_or_else(|e| panic!("seed {seed}: rejected: {e}\n{a}"));
        assert_eq!(
            gen::args(seed, &module),
            gen::args(seed, &module),
            "seed {seed}: two different argument lists"
        );
    }
    assert_ne!(
        gen::program(1),
        gen::program(2),
        "seeds 1 and 2 give one program"
    );
}

/// Mnemonics (`iadd.i32`, `load8_s.i64`, `memory.grow`, ...) every run must contain:
/// every pure operation, load, store and memory operation of the operation table, at
/// each type it takes, and `call`.
fn expected_mnemonics() -> Vec<String> {
    let mut out = Vec::new();
    for info in OPS {
        let wanted = info.opcode.is_pure()
            || info.imm == Imm::Offset
            || matches!(
                info.opcode,
                Opcode::MemorySize | Opcode::MemoryGrow | Opcode::Call
            )
            || matches!(
                info.opcode,
                Opcode::Sdiv | Opcode::Udiv | Opcode::Srem | Opcode::Urem
            );
        if !wanted {
            continue;
        }
        match info.suffix {
            Suffix::Any => {
                out.push(format!("{}.i32", info.name));
                out.push(format!("{}.i64", info.name));
            }
            Suffix::I32 => out.push(format!("{}.i32", info.name)),
            Suffix::I64 => out.push(format!("{}.i64", info.name)),
            Suffix::None => out.push(info.name.to_string()),
        }
    }
    out
}

/// The IR.md trap messages that generated programs must produce.
const TRAPS: &[&str] = &[
    "integer divide by zero",
    "integer overflow",
    "out of bounds memory access",
    "unreachable",
    "call stack exhausted",
];

#[test]
fn generated_programs_cover_the_ir() {
    let counts = Mutex::new(BTreeMap::<String, u64>::new());
    let failures = check_seeds(SEEDS, &|c| {
        let mut local = BTreeMap::<String, u64>::new();
        let mut bump = |k: String| *local.entry(k).or_insert(0) += 1;
        // `@probe` is the same in every program: it is left out so that it cannot
        // stand in for operations the generator stopped making.
        for f in c.module.funcs.iter().filter(|f| f.name != "probe") {
            let Some(body) = &f.body else { continue };
            for b in &body.blocks {
                for i in &b.insts {
                    bump(i.mnemonic());
                }
                match b.term.as_ref().map(|t| &t.kind) {
                    Some(TermKind::BrTable { .. }) => bump("br_table".into()),
                    Some(TermKind::Brif { then, els, .. }) => {
                        bump("brif".into());
                        if !then.args.is_empty() || !els.args.is_empty() {
                            bump("brif with arguments".into());
                        }
                    }
                    Some(TermKind::Jump(t)) if t.args.len() >= 2 => {
                        bump("jump with 2+ arguments".into())
                    }
                    Some(TermKind::Trap) => bump("trap terminator".into()),
                    _ => {}
                }
            }
        }
        match &c.main {
            Ok(_) => bump("@main returned".into()),
            Err(msg) => bump(format!("trap: {msg}")),
        }
        let mut all = counts.lock().unwrap();
        for (k, v) in local {
            *all.entry(k).or_insert(0) += v;
        }
    });
    assert_no_failures(&failures, SEEDS);
    let counts = counts.into_inner().unwrap();
    let mut wanted: Vec<String> = expected_mnemonics();
    wanted.extend(
        [
            "br_table",
            "brif",
            "brif with arguments",
            "jump with 2+ arguments",
            "trap terminator",
            "@main returned",
        ]
        .map(String::from),
    );
    wanted.extend(TRAPS.iter().map(|t| format!("trap: {t}")));
    let report: Vec<String> = counts.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    eprintln!("coverage over {SEEDS} seeds:\n  {}", report.join("\n  "));
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|k| counts.get(*k).copied().unwrap_or(0) == 0)
        .collect();
    assert!(
        missing.is_empty(),
        "never seen over {SEEDS} seeds: {missing:?}\nseen: {report:?}"
    );
    // Most programs must run to the end, or the code after the first trap goes untested.
    let returned = counts["@main returned"];
    assert!(
        returned * 3 >= SEEDS,
        "only {returned} of {SEEDS} runs of @main returned: too many traps"
    );
}
