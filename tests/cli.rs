//! The command-line contract of IR.md: exit statuses, messages, standard input, arguments.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn egjit(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_egjit"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the egjit binary starts");
    let mut input = child.stdin.take().expect("stdin is piped");
    input
        .write_all(stdin.unwrap_or_default())
        .expect("stdin takes the input");
    drop(input);
    child.wait_with_output().expect("egjit finishes")
}

/// Writes `text` to a fresh file under the target directory and returns its path.
fn file(name: &str, text: &[u8]) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("temp file");
    path.to_string_lossy().into_owned()
}

fn status(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const DOWN: &str = "
; down(n) recurses n times: n + 1 frames in all
func @down(i32) -> i32 {
entry(v0: i32):
    v1 = eqz.i32 v0
    brif v1, done, more
done:
    return v0
more:
    v2 = iconst.i32 1
    v3 = isub.i32 v0, v2
    v4 = call @down(v3)
    return v4
}
func @id32(i32) -> i32 {
entry(v0: i32):
    return v0
}
func @id64(i64) -> i64 {
entry(v0: i64):
    return v0
}
func @pair(i64, i32) -> i32, i64 {
entry(v0: i64, v1: i32):
    return v1, v0
}
";

#[test]
fn runs_and_prints_each_result_on_its_own_line() {
    let f = file("down.egir", DOWN.as_bytes());
    let o = egjit(&["run", &f, "--invoke", "pair", "-5", "7"], None);
    assert_eq!(
        (status(&o), stdout(&o).as_str(), stderr(&o).as_str()),
        (0, "7\n-5\n", "")
    );
}

#[test]
fn arguments_are_typed_by_the_signature() {
    let f = file("args.egir", DOWN.as_bytes());
    let run = |name: &str, arg: &str| egjit(&["run", &f, "--invoke", name, arg], None);
    // An i32 may be given unsigned; it prints signed.
    assert_eq!(stdout(&run("id32", "4294967295")), "-1\n");
    assert_eq!(stdout(&run("id32", "-2147483648")), "-2147483648\n");
    assert_eq!(stdout(&run("id64", "18446744073709551615")), "-1\n");
    assert_eq!(
        stdout(&run("id64", "-9223372036854775808")),
        "-9223372036854775808\n"
    );
    // Out of range for the type, or not a number: usage errors.
    for (name, arg) in [
        ("id32", "4294967296"),
        ("id32", "-2147483649"),
        ("id64", "18446744073709551616"),
        ("id64", "12x"),
        ("id64", ""),
    ] {
        let o = run(name, arg);
        assert_eq!(status(&o), 2, "{name} {arg}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("not a decimal"),
            "{name} {arg}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let f = file("usage.egir", DOWN.as_bytes());
    for args in [
        vec!["run", &f, "--invoke", "down"],
        vec!["run", &f, "--invoke", "down", "1", "2"],
        vec!["run"],
        vec!["run", &f, "--no-such-flag"],
        vec!["frobnicate"],
        vec![],
    ] {
        let o = egjit(&args, None);
        assert_eq!(status(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{args:?}");
    }
}

#[test]
fn call_depth_limit_is_a_trap() {
    let f = file("depth.egir", DOWN.as_bytes());
    let run = |limit: &str, n: &str| {
        egjit(
            &["run", &f, "--invoke", "down", "--max-call-depth", limit, n],
            None,
        )
    };
    // 100 frames fit a limit of 100; 101 do not.
    assert_eq!(stdout(&run("100", "99")), "0\n");
    let o = run("100", "100");
    assert_eq!(
        (status(&o), stderr(&o).as_str()),
        (3, "trap: call stack exhausted\n")
    );
    // The default limit is 10,000 nested calls.
    let o = egjit(&["run", &f, "--invoke", "down", "9999"], None);
    assert_eq!(stdout(&o), "0\n");
    let o = egjit(&["run", &f, "--invoke", "down", "10000"], None);
    assert_eq!(
        (status(&o), stderr(&o).as_str()),
        (3, "trap: call stack exhausted\n")
    );
    // Far past the limit: still a trap, never a crash.
    let o = egjit(
        &[
            "run",
            &f,
            "--invoke",
            "down",
            "--max-call-depth",
            "1000000",
            "2000000",
        ],
        None,
    );
    assert_eq!(
        (status(&o), stderr(&o).as_str()),
        (3, "trap: call stack exhausted\n")
    );
}

#[test]
fn standard_input_is_dash() {
    let o = egjit(
        &["run", "-", "--invoke", "id64", "42"],
        Some(DOWN.as_bytes()),
    );
    assert_eq!((status(&o), stdout(&o).as_str()), (0, "42\n"));
    let o = egjit(
        &["run", "-"],
        Some(b"func @main() {\nentry:\n  jump nowhere\n}\n"),
    );
    assert_eq!(status(&o), 1);
    assert_eq!(
        stderr(&o),
        "<stdin>:3:8: error: undefined block `nowhere`\n"
    );
}

#[test]
fn bad_input_exits_1_with_file_line_col() {
    let cases: &[(&str, &[u8], &str)] = &[
        ("empty.egir", b"", ":1:1: error: no function `@main` to run"),
        (
            "nomain.egir",
            b"func @f() {\nentry:\n  return\n}\n",
            ":1:1: error: no function `@main` to run",
        ),
        (
            "utf8.egir",
            b"func @main() {\nentry:\n  ; caf\xc3\xa9 \xff\xfe\n  return\n}\n",
            ":3:10: error: the text is not valid UTF-8 (byte 0xff)",
        ),
        (
            "nul.egir",
            b"func @main() {\x00}",
            ":1:15: error: unexpected character '\\0'",
        ),
        (
            "binary.egir",
            &[0x7f, b'E', b'L', b'F', 2, 1, 1, 0],
            ":1:1: error: unexpected character '\\u{7f}'",
        ),
        (
            "syntax.egir",
            b"func @main() -> i32 {\nentry:\n  v0 = iconst.i32\n  return v0\n}\n",
            ":4:3: error: expected an integer literal, found `return`",
        ),
        (
            "types.egir",
            b"func @main() -> i32 {\nentry:\n  v0 = iconst.i64 1\n  return v0\n}\n",
            ":4:3: error: `return` passes (i64), but `@main` returns (i32)",
        ),
        (
            "import.egir",
            b"import @env.nope(i32)\nfunc @main() {\nentry:\n  return\n}\n",
            ":1:1: error: import `@env.nope` is not provided by the host",
        ),
    ];
    for &(name, text, want) in cases {
        let f = file(name, text);
        let o = egjit(&["run", &f], None);
        let err = stderr(&o);
        assert_eq!(status(&o), 1, "{name}: {err}");
        assert!(
            err.starts_with(&f) && err.contains(want),
            "{name}: `{err}` should be `{f}{want}`"
        );
        assert!(stdout(&o).is_empty(), "{name}");
    }
    let missing = file("x", b"").replace("/x", "/no-such-file.egir");
    let o = egjit(&["run", &missing], None);
    assert_eq!(status(&o), 1);
    assert!(
        stderr(&o).starts_with(&format!("{missing}:1:1: error: cannot read the program")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn traps_exit_3_after_earlier_output() {
    let src = b"import @env.print(i64)\nimport @env.fail(i32, i64)\nimport @env.echo(i32, i64) -> i32, i64\n\
func @main() -> i64 {\nentry:\n  v0 = iconst.i32 -3\n  v1 = iconst.i64 9\n  v2, v3 = call @env.echo(v0, v1)\n  call @env.print(v3)\n  call @env.fail(v2, v3)\n  return v3\n}\n";
    let f = file("host.egir", src);
    let o = egjit(&["run", &f], None);
    assert_eq!(
        (status(&o), stdout(&o).as_str(), stderr(&o).as_str()),
        (3, "9\n", "trap: host error: env.fail(-3, 9)\n")
    );
}

/// `--invoke` may name an import: every engine calls its host function, as a call from
/// the program would.
#[test]
fn an_invoked_import_calls_its_host_function_on_every_engine() {
    let src = b"import @env.echo(i32, i64) -> i32, i64\nimport @env.fail(i32)\nfunc @main() {\nentry:\n    return\n}\n";
    let f = file("invoke_import.egir", src);
    for engine in ["--jit", "--single-op", "--interp"] {
        let o = egjit(
            &["run", &f, engine, "--invoke", "env.echo", "5", "-7"],
            None,
        );
        assert_eq!(
            (status(&o), stdout(&o).as_str()),
            (0, "5\n-7\n"),
            "{engine}"
        );
        let o = egjit(&["run", &f, engine, "--invoke", "env.fail", "3"], None);
        assert_eq!(
            (status(&o), stderr(&o).as_str()),
            (3, "trap: host error: env.fail(3)\n"),
            "{engine}"
        );
    }
}

#[test]
fn print_writes_canonical_text() {
    let src = b"func @f(i32)->i32{entry(v7:i32): v9 = iconst.i32 0xffffffff v8 = iadd.i32 v7, v9 return v8}";
    let f = file("print.egir", src);
    let o = egjit(&["print", &f], None);
    assert_eq!(
        stdout(&o),
        "func @f(i32) -> i32 {\nentry(v7: i32):\n    v9 = iconst.i32 -1\n    v8 = iadd.i32 v7, v9\n    return v8\n}\n"
    );
}

#[test]
fn stats_go_to_standard_error() {
    let fib = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/programs/fib.egir");
    for (flag, engine) in [("--jit", "e-graph"), ("--single-op", "single-op")] {
        let o = egjit(&["run", fib, flag, "--stats"], None);
        assert_eq!((status(&o), stdout(&o).as_str()), (0, "610\n"));
        let err = stderr(&o);
        // fib.egir has 24 operations: 11 in @fib, 10 in @fib64, 3 in @main.
        let rest = err
            .strip_prefix("stats: compile ")
            .unwrap_or_else(|| panic!("{err}"));
        let (micros, rest) = rest.split_once(" µs, code ").expect("compile time");
        assert!(micros.parse::<u64>().is_ok(), "{err}");
        let (bytes, rest) = rest.split_once(" bytes, 24 IR operations, ").expect("ops");
        assert!(bytes.parse::<u64>().unwrap() > 0, "{err}");
        let (stencils, rest) = rest.split_once(" stencils (").expect("stencils");
        assert!(stencils.parse::<u64>().unwrap() >= 10, "{err}");
        assert_eq!(rest, format!("{engine})\n"));
    }
    let o = egjit(&["run", fib, "--interp", "--stats"], None);
    assert_eq!(status(&o), 2);
}
