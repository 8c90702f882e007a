//! Runs every `tests/programs/*.egir` and `benches/kernels/*.egir` through the `egjit` CLI and checks the
//! expectations written in its comment directives:
//!
//! ```text
//! ; RUN: [--invoke NAME] [ARG]...
//! ; OUT: <line>          (one per expected stdout line, in order)
//! ; TRAP: <message>      (expect exit 3 and stderr `trap: <message>`)
//! ```
//!
//! Each `RUN` starts a new group; the `OUT`/`TRAP` lines after it belong to
//! it. A group without `TRAP` expects exit status 0 and exactly the `OUT`
//! lines on stdout. A group with `TRAP` expects exit status 3, the `OUT` lines
//! (prints made before the trap) on stdout and `trap: <message>` as the first
//! line of stderr. Every group is run with every engine in [`ENGINES`].

use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

/// Engine flags passed to `egjit run`; every group runs once per engine.
/// An empty string selects the CLI's default engine (no flag).
const ENGINES: &[&str] = &["--interp", "", "--single-op"];

/// The corpus must contain at least this many programs.
const MIN_PROGRAMS: usize = 18;

/// A single run that takes longer than this is killed and reported.
const TIMEOUT: Duration = Duration::from_secs(120);

/// One `RUN` directive with the expectations that follow it.
#[derive(Debug)]
struct Group {
    /// 1-based line number of the `RUN` directive.
    line: usize,
    /// Words after `RUN:`, passed verbatim after the file name.
    args: Vec<String>,
    /// Expected stdout lines.
    out: Vec<String>,
    /// Expected trap message (without the `trap: ` prefix), if any.
    trap: Option<String>,
}

/// Everything one run of the CLI produced.
struct Outcome {
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
    timed_out: bool,
}

/// A `(file, group, engine)` combination to run.
struct Job<'a> {
    file: &'a Path,
    group_index: usize,
    group: &'a Group,
    engine: &'static str,
}

/// If `line` is a directive comment `; KEY: rest`, returns `(KEY, rest)`.
fn directive(line: &str) -> Option<(&str, &str)> {
    let body = line.trim_start().strip_prefix(';')?.trim_start();
    for key in ["RUN", "OUT", "TRAP"] {
        if let Some(rest) = body.strip_prefix(key) {
            if let Some(rest) = rest.strip_prefix(':') {
                return Some((key, rest.trim()));
            }
        }
    }
    None
}

/// Parses the directives of one program into its RUN groups.
fn parse_groups(text: &str) -> Result<Vec<Group>, String> {
    let mut groups: Vec<Group> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let Some((key, rest)) = directive(line) else {
            continue;
        };
        match key {
            "RUN" => groups.push(Group {
                line: line_no,
                args: rest.split_whitespace().map(str::to_owned).collect(),
                out: Vec::new(),
                trap: None,
            }),
            _ => {
                let Some(group) = groups.last_mut() else {
                    return Err(format!("line {line_no}: {key} directive before any RUN"));
                };
                if group.trap.is_some() {
                    return Err(format!(
                        "line {line_no}: {key} directive after the TRAP of the group at line {}",
                        group.line
                    ));
                }
                if key == "OUT" {
                    group.out.push(rest.to_owned());
                } else if rest.is_empty() {
                    return Err(format!("line {line_no}: TRAP directive without a message"));
                } else {
                    group.trap = Some(rest.to_owned());
                }
            }
        }
    }
    if groups.is_empty() {
        return Err("no RUN directive".to_owned());
    }
    Ok(groups)
}

/// Runs `egjit run ENGINE FILE ARGS...`, killing it after [`TIMEOUT`].
fn run_egjit(engine: &str, file: &Path, args: &[String]) -> Result<Outcome, String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_egjit"));
    command.arg("run");
    if !engine.is_empty() {
        command.arg(engine);
    }
    let mut child = command
        .arg(file)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot spawn egjit: {e}"))?;

    fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
        thread::spawn(move || {
            let mut buf = Vec::new();
            // A read error only truncates the captured output.
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    }
    let stdout = drain(child.stdout.take().expect("stdout is piped"));
    let stderr = drain(child.stderr.take().expect("stderr is piped"));

    let deadline = Instant::now() + TIMEOUT;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().ok();
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("cannot wait for egjit: {e}")),
        }
    };
    let text = |h: thread::JoinHandle<Vec<u8>>| {
        String::from_utf8_lossy(&h.join().unwrap_or_default()).into_owned()
    };
    Ok(Outcome {
        status,
        stdout: text(stdout),
        stderr: text(stderr),
        timed_out,
    })
}

/// Checks one outcome against its group; returns a description of every
/// mismatch (empty when the run is as expected).
fn check(group: &Group, outcome: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    if outcome.timed_out {
        problems.push(format!("timed out after {TIMEOUT:?}"));
    }
    let expected_code = if group.trap.is_some() { 3 } else { 0 };
    let code = outcome.status.and_then(|s| s.code());
    if code != Some(expected_code) {
        let actual = match (code, outcome.status) {
            (Some(c), _) => c.to_string(),
            (None, Some(s)) => format!("none ({s})"),
            (None, None) => "unknown".to_owned(),
        };
        problems.push(format!(
            "exit status: expected {expected_code}, got {actual}"
        ));
    }
    let stdout: Vec<&str> = outcome.stdout.lines().collect();
    if stdout != group.out {
        problems.push(format!(
            "stdout: expected {:?}, got {:?}",
            group.out, stdout
        ));
    }
    if let Some(message) = &group.trap {
        let expected = format!("trap: {message}");
        let first = outcome.stderr.lines().next().unwrap_or("");
        if first != expected {
            problems.push(format!(
                "stderr first line: expected {expected:?}, got {first:?}"
            ));
        }
    }
    problems
}

/// The `.egir` files of a directory of the package, sorted.
fn program_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let entries =
        fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
                .path()
        })
        .filter(|path| path.extension().is_some_and(|ext| ext == "egir"))
        .collect();
    files.sort();
    files
}

#[test]
fn corpus() {
    let mut files = program_files("tests/programs");
    assert!(
        files.len() >= MIN_PROGRAMS,
        "expected at least {MIN_PROGRAMS} programs in tests/programs, found {}",
        files.len()
    );
    // The kernels of the run-time bench are checked alike.
    let kernels = program_files("benches/kernels");
    assert!(
        kernels.len() >= 7,
        "{} kernels in benches/kernels",
        kernels.len()
    );
    files.extend(kernels);

    let mut failures: Vec<String> = Vec::new();
    let mut parsed: Vec<(PathBuf, Vec<Group>)> = Vec::new();
    for file in files {
        let groups = fs::read_to_string(&file)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|text| parse_groups(&text));
        match groups {
            Ok(groups) => parsed.push((file, groups)),
            Err(e) => failures.push(format!("{}: bad directives: {e}", file.display())),
        }
    }

    let jobs: Vec<Job> = parsed
        .iter()
        .flat_map(|(file, groups)| {
            groups
                .iter()
                .enumerate()
                .flat_map(move |(group_index, group)| {
                    ENGINES.iter().map(move |&engine| Job {
                        file,
                        group_index,
                        group,
                        engine,
                    })
                })
        })
        .collect();

    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    let workers = thread::available_parallelism()
        .map_or(4, |n| n.get())
        .min(16);
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(index) else {
                    break;
                };
                let report = match run_egjit(job.engine, job.file, &job.group.args) {
                    Err(e) => Some(vec![e]),
                    Ok(outcome) => {
                        let problems = check(job.group, &outcome);
                        (!problems.is_empty()).then(|| {
                            let mut lines = problems;
                            lines.push(format!("actual stdout: {:?}", outcome.stdout));
                            lines.push(format!("actual stderr: {:?}", outcome.stderr));
                            lines
                        })
                    }
                };
                if let Some(lines) = report {
                    let mut text = format!(
                        "{}: group {} (RUN at line {}: {:?}), engine {}",
                        job.file.display(),
                        job.group_index + 1,
                        job.group.line,
                        job.group.args.join(" "),
                        if job.engine.is_empty() {
                            "(default)"
                        } else {
                            job.engine
                        }
                    );
                    for line in lines {
                        let _ = write!(text, "\n    {line}");
                    }
                    results.lock().unwrap().push((index, text));
                }
            });
        }
    });

    let mut run_failures = results.into_inner().unwrap();
    run_failures.sort_by_key(|(index, _)| *index);
    failures.extend(run_failures.into_iter().map(|(_, text)| text));

    let groups: usize = parsed.iter().map(|(_, groups)| groups.len()).sum();
    assert!(
        failures.is_empty(),
        "{} failure(s) in {} runs ({} files, {} groups, {} engines):\n\n{}",
        failures.len(),
        jobs.len(),
        parsed.len(),
        groups,
        ENGINES.len(),
        failures.join("\n\n")
    );
}
