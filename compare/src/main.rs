//! `egjit-compare FILE [--invoke NAME] [--engines LIST] [ARG]...`: compiles and runs one
//! function of an egjit IR program on the interpreter, single-op code, the e-graph JIT and
//! Cranelift at `opt_level` none and speed (and, for a kernel of `benches/kernels`, the
//! same kernel in plain Rust), checks that every engine gives the same answer, and prints
//! the compile time per IR operation and the run time of each, with ratios to the e-graph
//! JIT.

mod cl;
mod native;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use egjit::{Config, Imports, Instance, Jit, Module, Type, Value};

#[derive(Parser)]
#[command(
    name = "egjit-compare",
    about = "Compile time and run time of one function on egjit's engines and Cranelift, side by side"
)]
struct Cli {
    /// The program, in egjit's IR text format; or a directory, whose programs with a
    /// `; BENCH: ARG` line each run `main` with that argument (the kernel suite).
    file: String,
    /// The function to run.
    #[arg(long, default_value = "main")]
    invoke: String,
    /// Engines to run, comma-separated, from interp, single_op, jit, cranelift_none,
    /// cranelift_speed, native (the last only for a kernel of benches/kernels).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "interp,single_op,jit,cranelift_none,cranelift_speed,native"
    )]
    engines: Vec<String>,
    /// Seconds to spend timing each engine's compiles, and again its runs (at least 5 of
    /// each are timed).
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
    /// The function's arguments, decimal, typed by its signature.
    #[arg(allow_negative_numbers = true)]
    args: Vec<String>,
}

const ENGINES: [&str; 6] = [
    "interp",
    "single_op",
    "jit",
    "cranelift_none",
    "cranelift_speed",
    "native",
];

/// An answer: the results, or a trap's message.
type Answer = Result<Vec<Value>, String>;

/// Runs the function once on one engine.
type Runner<'a> = Box<dyn FnMut() -> Answer + 'a>;

/// One engine's figures.
struct Row {
    engine: &'static str,
    /// Median compile time, seconds (none for native code).
    compile: Option<f64>,
    /// Median run time, seconds.
    run: f64,
    answer: Answer,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Deep recursion in Cranelift's code (to the call depth limit) needs a deep stack.
    let worker = std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(move || compare(&cli));
    match worker.map(|h| h.join()) {
        Ok(Ok(Ok(()))) => ExitCode::SUCCESS,
        Ok(Ok(Err(m))) => {
            eprintln!("egjit-compare: {m}");
            ExitCode::from(1)
        }
        _ => {
            eprintln!("egjit-compare: the worker thread failed");
            ExitCode::from(1)
        }
    }
}

/// Times `f` until `seconds` pass (at least 5 times, at most 100,000): the median time
/// and the last result.
fn median_time<T>(seconds: f64, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::new();
    let start = Instant::now();
    let mut last;
    loop {
        let t = Instant::now();
        last = std::hint::black_box(f());
        times.push(t.elapsed().as_secs_f64());
        let enough = times.len() >= 5 && start.elapsed().as_secs_f64() >= seconds;
        if enough || times.len() >= 100_000 {
            break;
        }
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], last)
}

/// IR operations of the module: instructions and terminators.
fn operations(m: &Module) -> usize {
    (m.funcs.iter().filter_map(|f| f.body.as_ref()))
        .flat_map(|b| &b.blocks)
        .map(|b| b.insts.len() + usize::from(b.term.is_some()))
        .sum()
}

fn compare(cli: &Cli) -> Result<(), String> {
    for e in &cli.engines {
        if !ENGINES.contains(&e.as_str()) {
            return Err(format!(
                "unknown engine `{e}` (engines: {})",
                ENGINES.join(", ")
            ));
        }
    }
    if Path::new(&cli.file).is_dir() {
        return suite(cli);
    }
    let src = std::fs::read_to_string(&cli.file).map_err(|e| format!("{}: {e}", cli.file))?;
    let (rows, ops) = measure(cli, &cli.file, &src, &cli.args)?;
    report(&rows, ops)
}

/// A directory: each program in it with a `; BENCH: ARG` line, its `main` run with that
/// argument; a table of run times per kernel, then the geometric means of the ratios.
fn suite(cli: &Cli) -> Result<(), String> {
    let mut files: Vec<_> = std::fs::read_dir(&cli.file)
        .map_err(|e| format!("{}: {e}", cli.file))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "egir"))
        .collect();
    files.sort();
    let mut table: Vec<(String, Vec<Row>, usize)> = Vec::new();
    for path in files {
        let file = path.to_string_lossy().into_owned();
        let src = std::fs::read_to_string(&path).map_err(|e| format!("{file}: {e}"))?;
        let Some(arg) = src
            .lines()
            .find_map(|l| l.strip_prefix("; BENCH:"))
            .map(|a| a.trim().to_string())
        else {
            continue;
        };
        let (rows, ops) = measure(cli, &file, &src, &[arg])?;
        check_agreement(&rows)?;
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        table.push((name.unwrap_or_default(), rows, ops));
    }
    let engines: Vec<&'static str> = table
        .first()
        .map(|(_, rows, _)| rows.iter().map(|r| r.engine).collect())
        .unwrap_or_default();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Run time (median), and compile µs per IR operation:");
    let _ = write!(out, "{:<10}", "kernel");
    for e in &engines {
        let _ = write!(out, " {e:>16}");
    }
    let _ = writeln!(out);
    for (name, rows, ops) in &table {
        let _ = write!(out, "{name:<10}");
        for r in rows {
            let _ = write!(out, " {:>16}", duration(r.run));
        }
        let _ = writeln!(out);
        let _ = write!(out, "{:<10}", "");
        for r in rows {
            let c = r
                .compile
                .map(|c| format!("{:.2} µs/op", c * 1e6 / *ops as f64));
            let _ = write!(out, " {:>16}", c.unwrap_or_else(|| "-".into()));
        }
        let _ = writeln!(out);
    }
    let geomean = |xs: &[f64]| (xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64).exp();
    let of = |rows: &[Row], e: &str| {
        rows.iter()
            .find(|r| r.engine == e)
            .map(|r| (r.compile, r.run))
    };
    let _ = writeln!(
        out,
        "Geometric means over {} kernels, against the e-graph JIT:",
        table.len()
    );
    for e in &engines {
        let (mut run, mut compile) = (Vec::new(), Vec::new());
        for (_, rows, _) in &table {
            if let (Some((c, r)), Some((jc, jr))) = (of(rows, e), of(rows, "jit")) {
                run.push(r / jr);
                if let (Some(c), Some(jc)) = (c, jc) {
                    compile.push(c / jc);
                }
            }
        }
        if run.is_empty() {
            continue;
        }
        let c = (!compile.is_empty()).then(|| format!("compile {:.2}x", geomean(&compile)));
        let _ = writeln!(
            out,
            "  {e:<16} run time {:.2}x  {}",
            geomean(&run),
            c.unwrap_or_default()
        );
    }
    for name in ["cranelift_none", "cranelift_speed"] {
        let (mut run, mut compile) = (Vec::new(), Vec::new());
        for (_, rows, _) in &table {
            if let (Some((Some(cc), cr)), Some((Some(jc), jr))) = (of(rows, name), of(rows, "jit"))
            {
                compile.push(cc / jc);
                run.push(jr / cr);
            }
        }
        if !run.is_empty() {
            let _ = writeln!(
                out,
                "egjit vs {}: compile {:.1}x faster, run time {:.2}x",
                name.replace('_', "-"),
                geomean(&compile),
                geomean(&run)
            );
        }
    }
    Ok(())
}

/// Compiles and runs one function of `src` (the text of `file`) on the chosen engines:
/// the rows, and the module's IR operations.
fn measure(
    cli: &Cli,
    file: &str,
    src: &str,
    raw_args: &[String],
) -> Result<(Vec<Row>, usize), String> {
    let m = Module::from_text(src, file).map_err(|e| e.to_string())?;
    let index = m
        .funcs
        .iter()
        .position(|f| f.name == cli.invoke && f.body.is_some())
        .ok_or_else(|| format!("{file}: no function `@{}`", cli.invoke))?;
    let sig = m.funcs[index].sig.clone();
    if raw_args.len() != sig.params.len() {
        return Err(format!(
            "@{} takes {} argument(s), {} given",
            cli.invoke,
            sig.params.len(),
            raw_args.len()
        ));
    }
    let args: Vec<Value> = (raw_args.iter().zip(&sig.params))
        .map(|(a, &t)| parse_arg(a, t))
        .collect::<Result<_, _>>()?;
    let ops = operations(&m);
    let wants = |e: &str| cli.engines.iter().any(|x| x == e);
    let secs = cli.seconds;
    let config = Config::default();
    // Compiles, engine by engine: the median compile time and what runs the function.
    let mut engines: Vec<(&'static str, Option<f64>, Runner)> = Vec::new();
    if wants("interp") {
        let (compile, inst) = median_time(secs, || {
            Instance::new(&m, host_imports(), &config).map_err(|e| e.to_string())
        });
        let mut inst = inst?;
        let (name, args) = (cli.invoke.clone(), args.clone());
        engines.push((
            "interp",
            Some(compile),
            Box::new(move || answer_of(inst.call(&name, &args))),
        ));
    }
    for (engine, single_op) in [("single_op", true), ("jit", false)] {
        if !wants(engine) {
            continue;
        }
        let jit = Jit::new(Config {
            single_op,
            ..config.clone()
        })
        .map_err(|e| e.to_string())?;
        let (compile, inst) = median_time(secs, || {
            let code = jit.compile(&m).map_err(|e| e.to_string())?;
            code.instantiate(host_imports()).map_err(|e| e.to_string())
        });
        let mut inst = inst?;
        let (name, args) = (cli.invoke.clone(), args.clone());
        engines.push((
            engine,
            Some(compile),
            Box::new(move || answer_of(inst.call(&name, &args))),
        ));
    }
    for (engine, opt) in [
        ("cranelift_none", cl::Opt::None),
        ("cranelift_speed", cl::Opt::Speed),
    ] {
        if !wants(engine) {
            continue;
        }
        let (compile, code) = median_time(secs, || {
            let code = cl::compile(&m, opt)?;
            let host = cl::Host::new(&m)?;
            Ok::<_, String>((code, host))
        });
        let (code, mut host) = code?;
        let (m, args) = (&m, args.clone());
        engines.push((
            engine,
            Some(compile),
            Box::new(move || host.call(m, &code, index, &args)),
        ));
    }
    let kernel = Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let in_suite = file.contains("benches/kernels") && cli.invoke == "main";
    if wants("native") && in_suite && args.len() == 1 && native::run(&kernel, 0).is_some() {
        let arg = match args[0] {
            Value::I32(v) => v as i64,
            Value::I64(v) => v,
        };
        let results = sig.results.clone();
        engines.push((
            "native",
            None,
            Box::new(
                move || match native::run(&kernel, std::hint::black_box(arg)) {
                    Some(Ok(v)) => Ok(results
                        .iter()
                        .map(|&t| Value::from_bits(t, v as u64))
                        .collect()),
                    Some(Err(m)) => Err(m),
                    None => Err("not a kernel".into()),
                },
            ),
        ));
    }
    // Runs, in rounds: each round runs every engine once, so that a change in the
    // machine's speed over seconds reaches all of them alike.
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); engines.len()];
    let mut answers: Vec<Option<Answer>> = vec![None; engines.len()];
    let start = Instant::now();
    let budget = secs * engines.len() as f64;
    loop {
        for (k, (_, _, run)) in engines.iter_mut().enumerate() {
            let t = Instant::now();
            let a = std::hint::black_box(run());
            times[k].push(t.elapsed().as_secs_f64());
            answers[k] = Some(a);
        }
        let rounds = times.first().map_or(0, Vec::len);
        if rounds >= 100_000 || (rounds >= 5 && start.elapsed().as_secs_f64() >= budget) {
            break;
        }
    }
    let rows: Vec<Row> = (engines.iter().zip(times).zip(answers))
        .map(|(((engine, compile, _), mut t), a)| {
            t.sort_by(f64::total_cmp);
            Row {
                engine,
                compile: *compile,
                run: t[t.len() / 2],
                answer: a.unwrap_or_else(|| Err("did not run".into())),
            }
        })
        .collect();
    Ok((rows, ops))
}

/// Prints the table and the summary lines; an error when the answers differ.
fn report(rows: &[Row], ops: usize) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    let jit = rows.iter().find(|r| r.engine == "jit");
    let _ = writeln!(
        out,
        "{:<16} {:>14} {:>10} {:>14} {:>10}  answer",
        "engine", "compile µs/op", "vs jit", "run time", "vs jit"
    );
    for r in rows {
        let per_op = r.compile.map(|c| c * 1e6 / ops.max(1) as f64);
        let c_ratio = (r.compile.zip(jit.and_then(|j| j.compile))).map(|(c, j)| c / j);
        let r_ratio = jit.map(|j| r.run / j.run);
        let _ = writeln!(
            out,
            "{:<16} {:>14} {:>10} {:>14} {:>10}  {}",
            r.engine,
            per_op.map_or("-".into(), |v| format!("{v:.3}")),
            c_ratio.map_or("-".into(), |v| format!("{v:.2}x")),
            duration(r.run),
            r_ratio.map_or("-".into(), |v| format!("{v:.2}x")),
            match &r.answer {
                Ok(vs) => vs
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                Err(m) => format!("trap: {m}"),
            }
        );
    }
    let _ = writeln!(out, "({ops} IR operations)");
    if let Some(j) = jit {
        for name in ["cranelift_none", "cranelift_speed"] {
            let Some(c) = rows.iter().find(|r| r.engine == name) else {
                continue;
            };
            let (Some(cc), Some(jc)) = (c.compile, j.compile) else {
                continue;
            };
            let _ = writeln!(
                out,
                "egjit vs {}: compile {:.1}x faster, run time {:.2}x",
                name.replace('_', "-"),
                cc / jc,
                j.run / c.run
            );
        }
    }
    check_agreement(rows)
}

/// An error naming two engines whose answers differ.
fn check_agreement(rows: &[Row]) -> Result<(), String> {
    let first = &rows.first().ok_or("no engine ran")?.answer;
    for r in rows {
        if &r.answer != first {
            return Err(format!(
                "the engines disagree: {} gives {:?}, {} gives {:?}",
                rows[0].engine, first, r.engine, r.answer
            ));
        }
    }
    Ok(())
}

fn duration(s: f64) -> String {
    if s >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{:.3} µs", s * 1e6)
    }
}

fn answer_of(r: Result<Vec<Value>, egjit::CallError>) -> Answer {
    r.map_err(|e| e.to_string())
}

fn parse_arg(a: &str, t: Type) -> Result<Value, String> {
    let bad = || format!("`{a}` is not an {t}");
    Ok(match t {
        Type::I32 => {
            let v: i64 = a.parse().map_err(|_| bad())?;
            if v < i32::MIN as i64 || v > u32::MAX as i64 {
                return Err(bad());
            }
            Value::I32(v as i32)
        }
        Type::I64 => {
            let v: i128 = a.parse().map_err(|_| bad())?;
            if v < i64::MIN as i128 || v > u64::MAX as i128 {
                return Err(bad());
            }
            Value::I64(v as i64)
        }
    })
}

/// egjit's imports: the host functions of [`cl::HOST_FUNCTIONS`].
pub fn host_imports() -> Imports {
    let mut imports = Imports::new();
    for name in cl::HOST_FUNCTIONS {
        imports.define(name, move |_, args| cl::host_function(name, args));
    }
    imports
}
