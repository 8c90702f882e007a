//! `egjit`: run IR programs and inspect them.
//!
//! Exit statuses (IR.md): 0 success; 1 bad input, printed as `FILE:LINE:COL: error: ...`;
//! 2 a usage error; 3 a trap, printed as `trap: MESSAGE`.

use std::io::{Read, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use egjit::ir::Module;
use egjit::{CallError, Config, Error, ErrorKind, Imports, Instance, Type, Value};

#[derive(Parser)]
#[command(
    name = "egjit",
    version,
    about = "A copy-and-patch JIT back end with e-graph instruction selection"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a function of a program and print its results, one per line.
    #[command(allow_negative_numbers = true)]
    Run {
        /// The program (`.egir` text), or `-` for standard input.
        file: String,
        /// The function to run.
        #[arg(long, value_name = "NAME", default_value = "main")]
        invoke: String,
        /// Run on the reference interpreter.
        #[arg(long)]
        interp: bool,
        /// Run on the e-graph JIT (emitted native code): the default.
        #[arg(long, conflicts_with = "interp")]
        jit: bool,
        /// Run on the JIT with one stencil per operation and no e-graph.
        #[arg(long, conflicts_with_all = ["interp", "jit"])]
        single_op: bool,
        /// Print compile time, code bytes, IR operations and stencils placed to standard
        /// error (JIT engines).
        #[arg(long, conflicts_with = "interp")]
        stats: bool,
        /// The most nested calls before `call stack exhausted`.
        #[arg(long, value_name = "N", default_value_t = Config::default().max_call_depth)]
        max_call_depth: u32,
        /// Arguments, decimal integers typed by the function's signature.
        args: Vec<String>,
    },
    /// Print the code the JIT emits for a program, stencil by stencil, disassembled.
    Disasm {
        /// The program (`.egir` text), or `-` for standard input.
        file: String,
        /// One stencil per operation, no e-graph.
        #[arg(long)]
        single_op: bool,
    },
    /// List the stencil library: name, IR pattern, operand kinds, size, cost, holes.
    Stencils {
        /// Also disassemble each stencil, with its holes marked.
        #[arg(long)]
        disasm: bool,
    },
    /// List the default rewrite rules, or check rule files with `--check`.
    Rules {
        /// Parse these rule files and check every rule against the IR's semantics.
        #[arg(long, value_name = "FILE", num_args = 1..)]
        check: Vec<String>,
    },
    /// Parse and verify a program, and print it in the canonical text form.
    Print {
        /// The program (`.egir` text), or `-` for standard input.
        file: String,
    },
    /// Print the cover selection chooses: per block the stencil instances, what each
    /// covers, its operands and cost; per function the total and the single-op cost.
    Cover {
        /// The program (`.egir` text), or `-` for standard input.
        file: String,
        /// Rules to use besides the built-in ones (repeatable).
        #[arg(long, value_name = "FILE")]
        rules: Vec<String>,
        /// Use no built-in rules.
        #[arg(long)]
        no_default_rules: bool,
    },
    /// Find superstencils worth adding: covers the programs, counts the groups of 2 to 4
    /// operations that separate stencils cover where one could (a value read once, by the
    /// next), and prints the top candidates as lines for `stencils/superstencils.list`,
    /// with their counts and estimated savings.
    Mine {
        /// The programs (`.egir` text).
        #[arg(required = true)]
        files: Vec<String>,
        /// How many candidates to print.
        #[arg(long, value_name = "N", default_value_t = 20)]
        top: usize,
    },
}

/// What ends a command other than success.
enum Failure {
    /// Bad input: exit 1.
    Input(Error),
    /// Bad usage: exit 2.
    Usage(String),
    /// A trap: exit 3.
    Trap(String),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Run {
            file,
            invoke,
            interp,
            jit,
            single_op,
            stats,
            max_call_depth,
            args,
        } => run(
            &file,
            &invoke,
            &args,
            max_call_depth,
            (interp, jit, single_op, stats),
        ),
        Command::Disasm { file, single_op } => disasm(&file, single_op),
        Command::Stencils { disasm } => {
            let _ = std::io::stdout().write_all(egjit::stencil::listing(disasm).as_bytes());
            Ok(())
        }
        Command::Rules { check } => rules(&check),
        Command::Print { file } => load(&file).map(|m| {
            let _ = std::io::stdout().write_all(m.to_text().as_bytes());
        }),
        Command::Cover {
            file,
            rules,
            no_default_rules,
        } => cover(&file, &rules, no_default_rules),
        Command::Mine { files, top } => mine(&files, top),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(e)) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Trap(msg)) => {
            eprintln!("trap: {msg}");
            ExitCode::from(3)
        }
    }
}

/// Reads, parses and verifies the program.
fn load(file: &str) -> Result<Module, Failure> {
    let (name, bytes) = if file == "-" {
        let mut buf = Vec::new();
        let r = std::io::stdin().read_to_end(&mut buf);
        ("<stdin>", r.map(|_| buf))
    } else {
        (file, std::fs::read(file))
    };
    let bytes = bytes.map_err(|e| {
        Failure::Input(Error {
            kind: ErrorKind::Io,
            file: name.to_string(),
            loc: Some((1, 1)),
            message: format!("cannot read the program: {e}"),
        })
    })?;
    let module = egjit::ir::parse_bytes(&bytes, name).map_err(Failure::Input)?;
    egjit::ir::verify(&module).map_err(Failure::Input)?;
    Ok(module)
}

fn run(
    file: &str,
    invoke: &str,
    args: &[String],
    max_call_depth: u32,
    (interp, jit, single_op, stats): (bool, bool, bool, bool),
) -> Result<(), Failure> {
    let module = load(file)?;
    let Some(id) = module.func_by_name(invoke) else {
        return Err(Failure::Input(Error {
            kind: ErrorKind::Verify,
            file: module.source.clone(),
            loc: Some((1, 1)),
            message: format!("no function `@{invoke}` to run in this module"),
        }));
    };
    let sig = module.func(id).sig.clone();
    if args.len() != sig.params.len() {
        return Err(Failure::Usage(format!(
            "`@{invoke}` takes {} argument(s) {sig}, given {}",
            sig.params.len(),
            args.len()
        )));
    }
    let values = args
        .iter()
        .zip(&sig.params)
        .enumerate()
        .map(|(i, (a, &t))| {
            parse_arg(a, t).ok_or_else(|| {
                Failure::Usage(format!(
                    "argument {} of `@{invoke}` is `{a}`, not a decimal {t} (from {} to {})",
                    i + 1,
                    if t == Type::I32 {
                        i32::MIN as i128
                    } else {
                        i64::MIN as i128
                    },
                    if t == Type::I32 {
                        u32::MAX as u128
                    } else {
                        u64::MAX as u128
                    },
                ))
            })
        })
        .collect::<Result<Vec<Value>, Failure>>()?;
    let config = Config {
        max_call_depth,
        single_op,
        ..Config::default()
    };
    // The JIT is the default engine; `--jit` says so explicitly.
    let _ = jit;
    let outcome = if !interp {
        let jit = egjit::Jit::new(config).map_err(Failure::Input)?;
        let start = std::time::Instant::now();
        let compiled = jit.compile(&module).map_err(Failure::Input)?;
        if stats {
            let elapsed = start.elapsed();
            let operations: usize = module
                .funcs
                .iter()
                .filter_map(|f| f.body.as_ref())
                .flat_map(|b| &b.blocks)
                .map(|b| b.insts.len() + usize::from(b.term.is_some()))
                .sum();
            eprintln!(
                "stats: compile {} µs, code {} bytes, {operations} IR operations, {} stencils ({})",
                elapsed.as_micros(),
                compiled.code_size(),
                compiled.placed().len(),
                if single_op { "single-op" } else { "e-graph" }
            );
        }
        let mut instance = compiled
            .instantiate(host_imports())
            .map_err(Failure::Input)?;
        instance.call(invoke, &values)
    } else {
        let mut instance =
            Instance::new(&module, host_imports(), &config).map_err(Failure::Input)?;
        instance.call(invoke, &values)
    };
    match outcome {
        Ok(results) => {
            let mut out = std::io::stdout().lock();
            for v in results {
                let _ = writeln!(out, "{v}");
            }
            Ok(())
        }
        Err(CallError::Trap(t)) => Err(Failure::Trap(t.to_string())),
        Err(e) => Err(Failure::Usage(e.to_string())),
    }
}

/// `egjit rules`: lists the default rules, or (with files) parses and checks them: `ok
/// NAME` for each rule that holds, a located error for each that does not.
fn rules(files: &[String]) -> Result<(), Failure> {
    use egjit::select::rules;
    let mut out = std::io::stdout().lock();
    if files.is_empty() {
        for rule in rules::default_rules() {
            let _ = writeln!(out, "{rule}");
        }
        return Ok(());
    }
    let mut errors = Vec::new();
    let mut all = Vec::new();
    for file in files {
        let parsed = read_rules(file);
        match parsed {
            Ok(parsed) => all.extend(parsed),
            Err(e) => errors.push(e),
        }
    }
    if let Err(e) = rules::check_unique(&all) {
        errors.push(e);
    }
    for rule in &all {
        match rules::check_rule(rule) {
            Ok(()) => {
                let _ = writeln!(out, "ok {}", rule.name);
            }
            Err(message) => errors.push(Error {
                kind: ErrorKind::Rules,
                file: rule.file.clone(),
                loc: Some((rule.line, rule.col)),
                message,
            }),
        }
    }
    let _ = out.flush();
    // Every error but the last is printed here; the last ends the command as bad input.
    match errors.pop() {
        None => Ok(()),
        Some(last) => {
            for e in &errors {
                eprintln!("{e}");
            }
            Err(Failure::Input(last))
        }
    }
}

/// A decimal argument of type `t`: signed, or unsigned up to 2^bits - 1 (taken modulo
/// 2^bits, as literals are).
fn parse_arg(s: &str, t: Type) -> Option<Value> {
    let v: i128 = s.parse().ok()?;
    let (lo, hi) = match t {
        Type::I32 => (i32::MIN as i128, u32::MAX as i128),
        Type::I64 => (i64::MIN as i128, u64::MAX as i128),
    };
    (lo..=hi)
        .contains(&v)
        .then(|| Value::from_bits(t, v as u64))
}

/// The host functions the CLI provides (see README.md):
/// `@env.print` prints its arguments on one line; `@env.fail` returns a host error;
/// `@env.echo` returns its arguments.
fn host_imports() -> Imports {
    fn list(args: &[Value], sep: &str) -> String {
        args.iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(sep)
    }
    let mut imports = Imports::new();
    imports
        .define("env.print", |_, args| {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", list(args, " ")).map_err(|e| format!("env.print: {e}"))?;
            Ok(Vec::new())
        })
        .define("env.fail", |_, args| {
            Err(format!("env.fail({})", list(args, ", ")))
        })
        .define("env.echo", |_, args| Ok(args.to_vec()));
    imports
}

/// `egjit cover`: the built-in rules (unless refused) and the rule files, then the cover.
fn cover(file: &str, rule_files: &[String], no_default_rules: bool) -> Result<(), Failure> {
    let module = load(file)?;
    let mut config = Config {
        default_rules: !no_default_rules,
        ..Config::default()
    };
    for f in rule_files {
        config.rules.extend(read_rules(f).map_err(Failure::Input)?);
    }
    // A rule that does not hold would make wrong code: each is checked as by `egjit rules
    // --check`.
    for rule in &config.rules {
        egjit::select::rules::check_rule(rule).map_err(|message| {
            Failure::Input(Error {
                kind: ErrorKind::Rules,
                file: rule.file.clone(),
                loc: Some((rule.line, rule.col)),
                message,
            })
        })?;
    }
    let selector = egjit::select::Selector::new(&config).map_err(Failure::Input)?;
    let cover = selector.cover(&module).map_err(Failure::Input)?;
    let _ = write!(std::io::stdout(), "{}", cover.display(&module));
    Ok(())
}

fn mine(files: &[String], top: usize) -> Result<(), Failure> {
    let selector = egjit::select::Selector::new(&Config::default()).map_err(Failure::Input)?;
    let mut covers = Vec::with_capacity(files.len());
    for file in files {
        let module = load(file)?;
        covers.push(selector.cover(&module).map_err(Failure::Input)?);
    }
    let candidates = egjit::select::mine::mine(&covers);
    let mut out = format!(
        "# {} candidate superstencils in {} program(s); the top {} by estimated saving (uses x \
         saving per use, {} a value kept in a register)\n",
        candidates.len(),
        files.len(),
        top.min(candidates.len()),
        egjit::select::mine::SAVING_PER_VALUE
    );
    for line in egjit::select::mine::list_lines(&candidates[..top.min(candidates.len())]) {
        out.push_str(&line);
        out.push('\n');
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(())
}

fn disasm(file: &str, single_op: bool) -> Result<(), Failure> {
    let module = load(file)?;
    let config = Config {
        single_op,
        ..Config::default()
    };
    let compiled = egjit::Jit::new(config)
        .and_then(|j| j.compile(&module))
        .map_err(Failure::Input)?;
    let _ = write!(std::io::stdout(), "{}", compiled.disasm());
    Ok(())
}

/// Reads and parses a rule file.
fn read_rules(file: &str) -> Result<Vec<egjit::select::rules::Rule>, Error> {
    let bytes = std::fs::read(file).map_err(|e| Error {
        kind: ErrorKind::Io,
        file: file.to_string(),
        loc: Some((1, 1)),
        message: format!("cannot read the rules: {e}"),
    })?;
    egjit::select::rules::parse_rules_bytes(&bytes, file)
}
