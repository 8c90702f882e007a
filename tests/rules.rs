//! Rewrite rules: the shipped rules hold under the IR's semantics, wrong rules are caught,
//! malformed rule files get located errors, `egjit rules` keeps its contract, and no
//! input makes the parser panic.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::str::FromStr;

use egg::{RecExpr, Runner};
use egjit::select::rules::{
    check_rule, default_rules, parse_rules, parse_rules_bytes, rewrites, Rule,
};
use egjit::select::{Fold, Node};

const WRONG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/wrong.rules");

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules")
}

#[test]
fn every_shipped_rule_holds() {
    let rules = default_rules();
    let failures: Vec<String> = rules.iter().filter_map(|r| check_rule(r).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn shipped_files_parse_with_their_counts() {
    // Rules written in each file (a `.T` rule counts once here) and instances after `.T`
    // expansion, counted by hand from the files.
    let expected = [
        ("arith.rules", 47, 92),
        ("strength.rules", 18, 34),
        ("compare.rules", 53, 106),
        ("const.rules", 11, 22),
        ("extend.rules", 15, 19),
    ];
    let mut total = 0;
    for (file, written, instances) in expected {
        let text = std::fs::read_to_string(rules_dir().join(file)).unwrap();
        let lines = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .count();
        assert_eq!(lines, written, "{file}: rules written");
        let rules = parse_rules(&text, file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rules.len(), instances, "{file}: rule instances");
        total += instances;
    }
    assert_eq!(default_rules().len(), total);
}

#[test]
fn shipped_rules_have_a_comment_above_each() {
    for entry in std::fs::read_dir(rules_dir()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            assert!(
                i > 0 && lines[i - 1].starts_with("# "),
                "{}:{}: no equation comment above the rule",
                path.display(),
                i + 1
            );
        }
    }
}

/// Operations and constants on a side; variables are free.
fn size(e: &egjit::select::rules::Expr) -> usize {
    e.size()
}

#[test]
fn shipped_rules_never_grow_the_expression() {
    for r in default_rules() {
        assert!(
            size(&r.rhs_expr) <= size(&r.lhs_expr),
            "{}: the right side is larger than the left",
            r.name
        );
    }
}

#[test]
fn generic_rules_expand_and_type_their_literals() {
    let text = "\
# x * -1 = 0 - x
mul-neg-one: (imul.T ?a -1) => (isub.T 0 ?a) ; trailing comment
fixed: (icmp.eq.i64 (sextend.i64 ?a) 0xffffffffffffffff) => 0:i32
";
    let rules = parse_rules(text, "g.rules").unwrap();
    let shown: Vec<String> = rules.iter().map(Rule::to_string).collect();
    assert_eq!(
        shown,
        [
            "mul-neg-one.i32: (imul.i32 ?a -1:i32) => (isub.i32 0:i32 ?a)",
            "mul-neg-one.i64: (imul.i64 ?a -1:i64) => (isub.i64 0:i64 ?a)",
            "fixed: (icmp.eq.i64 (sextend.i64 ?a) -1:i64) => 0:i32",
        ]
    );
    assert_eq!(rules[0].line, 2);
    assert_eq!(rules[2].line, 3);
    assert_eq!(rules[2].vars, [("a".to_string(), egjit::Type::I32)]);
}

#[test]
fn spacing_around_the_colon_and_arrow_is_free() {
    for text in [
        "r:(iadd.T ?a 0)=>?a",
        "r :(iadd.T ?a 0) => ?a",
        "r : (iadd.T ?a 0)=> ?a",
        "  r:\t(iadd.T ?a 0)\t=>\t?a   # comment",
        "r: (iadd.T ?a 0) => ?a\r\n",
    ] {
        let rules = parse_rules(text, "s.rules").unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(rules.len(), 2, "{text:?}");
        assert_eq!(rules[0].to_string(), "r.i32: (iadd.i32 ?a 0:i32) => ?a");
    }
}

#[test]
fn literals_fit_their_type_signed_or_unsigned() {
    for lit in ["0xffffffff", "4294967295", "-2147483648", "-1", "0x0"] {
        let text = format!("r: (iadd.i32 ?a {lit}) => ?a");
        assert!(parse_rules(&text, "l.rules").is_ok(), "{lit}");
    }
    for lit in [
        "0xffffffffffffffff",
        "18446744073709551615",
        "-9223372036854775808",
    ] {
        let text = format!("r: (iadd.i64 ?a {lit}) => ?a");
        assert!(parse_rules(&text, "l.rules").is_ok(), "{lit}");
    }
}

/// Malformed rule files: the exact error, with line and column counted by hand.
#[test]
fn malformed_rules_are_located() {
    let deep = format!("r: {}", "(".repeat(40));
    let cases: &[(&str, &str)] = &[
        (
            "add-zero: (foo.i32 ?a 0) => ?a",
            "t.rules:1:12: error: rule add-zero: unknown operation foo.i32",
        ),
        (
            "r: (iadd.T ?a 0 => ?a",
            "t.rules:1:4: error: rule r: unclosed `(`",
        ),
        (
            "r: (iadd.T ?a 0)) => ?a",
            "t.rules:1:17: error: rule r: unmatched `)`",
        ),
        (
            "add-zero (iadd.T ?a 0) => ?a",
            "t.rules:1:10: error: rule add-zero: missing `:` after the rule name",
        ),
        (
            "r: (iadd.T ?a 0) ?a",
            "t.rules:1:18: error: rule r: expected `=>` after the left side, found `?a`",
        ),
        (
            "r: (iadd.T ?a 0)",
            "t.rules:1:17: error: rule r: expected `=>` after the left side, found the end of the line",
        ),
        ("r: => ?a", "t.rules:1:4: error: rule r: the left side is empty"),
        (
            "r: (iadd.T ?a 0) =>",
            "t.rules:1:18: error: rule r: the right side is empty",
        ),
        (
            "r:\t(iadd.T ?a 0) =>   ; nothing after the arrow",
            "t.rules:1:18: error: rule r: the right side is empty",
        ),
        (
            "r: (iadd.i32 ?a) => ?a",
            "t.rules:1:5: error: rule r: iadd.i32 takes 2 operands, not 1",
        ),
        (
            "r: (sextend.i32 ?a) => ?a",
            "t.rules:1:5: error: rule r: sextend has no type i32",
        ),
        (
            "r: (load.i32 ?a) => ?a",
            "t.rules:1:5: error: rule r: load.i32 may trap; rules use pure operations only",
        ),
        (
            "r: (sdiv.T ?a 1) => ?a",
            "t.rules:1:5: error: rule r: sdiv.T may trap; rules use pure operations only",
        ),
        (
            "r: (brif ?a) => ?a",
            "t.rules:1:5: error: rule r: brif is a terminator; rules use pure operations only",
        ),
        (
            "r: (memory.grow ?a) => ?a",
            "t.rules:1:5: error: rule r: memory.grow has an effect; rules use pure operations only",
        ),
        (
            "r: (iadd.T ?a 0) => ?b",
            "t.rules:1:21: error: rule r: variable ?b of the right side is not bound on the left side",
        ),
        (
            "r: (iadd.i64 (sextend.i64 ?a) ?a) => ?a",
            "t.rules:1:31: error: rule r: variable ?a is i64 here but i32 at column 27",
        ),
        (
            "r: (sextend.i64 ?a) => ?a",
            "t.rules:1:24: error: rule r: the right side gives i32 but the left side gives i64",
        ),
        (
            "r: ?a => (iadd.T ?a 0)",
            "t.rules:1:4: error: rule r: the left side cannot be a bare variable; it must be an operation",
        ),
        (
            "r: (iadd.i32 ?a 0x100000000) => ?a",
            "t.rules:1:17: error: rule r: literal 0x100000000 does not fit i32",
        ),
        (
            "r: (iadd.T ?a 4294967296) => ?a",
            "t.rules:1:15: error: rule r: literal 4294967296 does not fit i32",
        ),
        (
            "r: (iadd.i32 ?a -2147483649) => ?a",
            "t.rules:1:17: error: rule r: literal -2147483649 does not fit i32",
        ),
        (
            "r: (iadd.i64 ?a 0x10000000000000000) => ?a",
            "t.rules:1:17: error: rule r: literal 0x10000000000000000 does not fit i64",
        ),
        (
            "a: (iadd.T ?a 0) => ?a\na: (isub.T ?a 0) => ?a",
            "t.rules:2:1: error: rule a: duplicate name a.i32 (first at 1:1)",
        ),
        (
            "r: (iadd ?a 0) => ?a",
            "t.rules:1:5: error: rule r: iadd needs a type suffix (.i32, .i64 or .T)",
        ),
        (
            "# comment\n; another\nok: (iadd.T ?a 0) => ?a   # trailing\n  bad: (bxor.T ?a ?a) => 0 0",
            "t.rules:4:28: error: rule bad: unexpected `0` after the right side",
        ),
        (
            "5x: (iadd.T ?a 0) => ?a",
            "t.rules:1:1: error: bad rule name 5x",
        ),
        (
            "(iadd.T ?a 0) => ?a",
            "t.rules:1:1: error: expected a rule name (NAME: LHS => RHS), found `(`",
        ),
        (
            "r: (iadd.i64 v7:i64 0) => 0",
            "t.rules:1:14: error: rule r: slot v7:i64 cannot appear in a rule; use a variable such as ?a",
        ),
        (
            "r: (iadd.i32 ?a (iconst.i32 0)) => ?a",
            "t.rules:1:18: error: rule r: write a constant as a literal (5 or 5:i32), not iconst.i32",
        ),
        (
            "r: (iadd.i32 ?a 1:i64) => ?a",
            "t.rules:1:17: error: rule r: literal 1:i64 is i64 where i32 is expected",
        ),
        (
            "r: (iadd.i32 (sextend.i64 ?a) ?b) => ?b",
            "t.rules:1:15: error: rule r: sextend.i64 gives i64 where i32 is expected",
        ),
        (
            "r: (iadd.i32 ?a 12ab) => ?a",
            "t.rules:1:17: error: rule r: bad integer literal 12ab",
        ),
        (
            "r: (iadd.i32 ?a 5:i16) => ?a",
            "t.rules:1:17: error: rule r: bad literal type in 5:i16 (write i32, i64 or T)",
        ),
        (
            "r: (iadd.i32 ?1 0) => 0",
            "t.rules:1:14: error: rule r: bad variable name ?1",
        ),
        (
            "r: (() ?a) => ?a",
            "t.rules:1:5: error: rule r: expected an operation after `(`, found `(`",
        ),
        ("r: () => 0", "t.rules:1:4: error: rule r: empty list `()`"),
        (
            "r: (?a 1) => 1",
            "t.rules:1:5: error: rule r: variable ?a cannot take operands",
        ),
        (
            "r: 5 => 5",
            "t.rules:1:4: error: rule r: the left side cannot be a constant; it must be an operation",
        ),
        (
            "r:",
            "t.rules:1:3: error: rule r: expected the left side, found the end of the line",
        ),
        (
            ": (iadd.T ?a 0) => ?a",
            "t.rules:1:1: error: expected a rule name before `:`",
        ),
        (&deep, "t.rules:1:36: error: rule r: nesting deeper than 32 levels"),
    ];
    assert!(cases.len() >= 15);
    for (text, want) in cases {
        match parse_rules(text, "t.rules") {
            Ok(rules) => panic!("{text:?} parsed into {} rule(s)", rules.len()),
            Err(e) => assert_eq!(e.to_string(), *want, "for {text:?}"),
        }
    }
}

#[test]
fn text_that_is_not_utf8_is_located() {
    let e = parse_rules_bytes(b"r: (iadd.T ?a 0) => ?a\nx\xff", "u.rules").unwrap_err();
    assert_eq!(
        e.to_string(),
        "u.rules:2:2: error: the text is not valid UTF-8 (byte 0xff)"
    );
}

#[test]
fn every_wrong_rule_fails_the_check() {
    let text = std::fs::read_to_string(WRONG).unwrap();
    let rules = parse_rules(&text, "wrong.rules").unwrap();
    assert_eq!(rules.len(), 12);
    for r in &rules {
        let msg = check_rule(r).expect_err(&r.name);
        assert!(
            msg.starts_with(&format!("rule {}: counterexample with ?a = ", r.name)),
            "{msg}"
        );
    }
    // The edge values come in the order 0, 1, 2, 3, -1, ...: the first that tells
    // an arithmetic from a logical shift is -1 (-1 >>s 1 = -1, -1 >>u 1 = 2^31 - 1).
    let sshr = rules.iter().find(|r| r.name == "sshr-as-ushr").unwrap();
    assert_eq!(
        check_rule(sshr).unwrap_err(),
        "rule sshr-as-ushr: counterexample with ?a = -1: the left side gives -1, \
         the right side 2147483647"
    );
    // a = 1, b = 0 is the first pair where a - b and b - a differ.
    let sub = rules.iter().find(|r| r.name == "sub-swap.i64").unwrap();
    assert_eq!(
        check_rule(sub).unwrap_err(),
        "rule sub-swap.i64: counterexample with ?a = 1, ?b = 0: the left side gives 1, \
         the right side -1"
    );
}

#[test]
fn a_rule_wrong_only_for_large_values_is_caught() {
    // Holds for every count, 32 and beyond too: both sides take the count mod 32.
    let rules = parse_rules(
        "r: (ushr.i32 (ishl.i32 ?a ?b) ?b) => (band.i32 ?a (ushr.i32 -1 ?b))",
        "w.rules",
    )
    .unwrap();
    assert!(check_rule(&rules[0]).is_ok());
    // Wrong only where bit 40 of a is set: the random values and powers of two find it.
    let rules = parse_rules("r: (band.i64 ?a 0xfffffeffffffffff) => ?a", "w.rules").unwrap();
    assert!(check_rule(&rules[0]).is_err());
    // Three variables: too many edge combinations, so they are sampled.
    let rules = parse_rules(
        "r: (select.i64 ?c ?a ?b) => (select.i64 ?c ?b ?a)",
        "w.rules",
    )
    .unwrap();
    assert!(check_rule(&rules[0]).is_err());
}

#[test]
fn rewrites_run_in_egg() {
    let rules = default_rules();
    let rws = rewrites(&rules).unwrap();
    assert_eq!(rws.len(), rules.len());
    let cases = [
        ("(iadd.i32 (imul.i32 v1:i32 1:i32) 0:i32)", "v1:i32"),
        ("(imul.i64 v2:i64 8:i64)", "(ishl.i64 v2:i64 3:i64)"),
        (
            "(eqz.i32 (icmp.slt.i64 v1:i64 v2:i64))",
            "(icmp.sge.i64 v1:i64 v2:i64)",
        ),
        ("(isub.i32 v3:i32 v3:i32)", "0:i32"),
    ];
    for (start, goal) in cases {
        let start: RecExpr<Node> = RecExpr::from_str(start).unwrap();
        let goal: RecExpr<Node> = RecExpr::from_str(goal).unwrap();
        let runner = Runner::<Node, Fold, ()>::default()
            .with_expr(&start)
            .with_iter_limit(8)
            .run(&rws);
        let root = runner.egraph.find(runner.roots[0]);
        let found = runner
            .egraph
            .lookup_expr(&goal)
            .map(|id| runner.egraph.find(id));
        assert_eq!(found, Some(root), "{start} should reach {goal}");
    }
}

#[test]
fn rewrites_refuse_duplicate_names() {
    let mut rules = default_rules();
    let again = parse_rules("add-zero.i32: (iadd.i32 0 ?x) => ?x", "user.rules").unwrap();
    rules.extend(again);
    let e = rewrites(&rules).expect_err("a duplicate name");
    assert_eq!(
        e.to_string(),
        "user.rules:1:1: error: rule add-zero.i32: duplicate name \
         (first at rules/arith.rules:9:1)"
    );
}

/// xorshift64, for the fuzz inputs.
fn next(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

#[test]
fn random_bytes_never_panic() {
    let mut s = 0x1234_5678_9abc_def1;
    for _ in 0..20_000 {
        let len = (next(&mut s) % 80) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| next(&mut s) as u8).collect();
        let _ = parse_rules_bytes(&bytes, "fuzz.rules");
    }
}

#[test]
fn mutated_rules_never_panic() {
    let pieces = [
        "(",
        ")",
        "?",
        ":",
        "=>",
        "=",
        ">",
        ".T",
        ".i32",
        ".i64",
        "-",
        "0x",
        "9",
        " ",
        "\t",
        "#",
        ";",
        "\n",
        "?a",
        "?b",
        "0",
        "-1",
        "iadd",
        "eqz.i32",
        "sextend.i64",
        "select.T",
        "icmp.slt.T",
        ":i64",
        "18446744073709551616",
        "é",
        "\r",
    ];
    let sources: Vec<String> = ["arith.rules", "compare.rules", "extend.rules"]
        .iter()
        .map(|f| std::fs::read_to_string(rules_dir().join(f)).unwrap())
        .collect();
    let lines: Vec<&str> = sources
        .iter()
        .flat_map(|s| s.lines())
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    let mut s = 0xdead_beef_cafe_f00d;
    let mut checked = 0;
    for _ in 0..20_000 {
        let mut line: Vec<char> = lines[(next(&mut s) % lines.len() as u64) as usize]
            .chars()
            .collect();
        for _ in 0..1 + next(&mut s) % 3 {
            let at = (next(&mut s) % (line.len() as u64 + 1)) as usize;
            match next(&mut s) % 3 {
                0 if at < line.len() => {
                    line.remove(at);
                }
                1 if at < line.len() => {
                    let end = (at + 1 + (next(&mut s) % 6) as usize).min(line.len());
                    line.drain(at..end);
                }
                _ => {
                    let p = pieces[(next(&mut s) % pieces.len() as u64) as usize];
                    for (i, c) in p.chars().enumerate() {
                        line.insert(at + i, c);
                    }
                }
            }
        }
        let text: String = line.into_iter().collect();
        if let Ok(rules) = parse_rules(&text, "m.rules") {
            let _ = rewrites(&rules);
            // Checking is slower; enough of them to exercise odd shapes.
            if checked < 300 {
                for r in &rules {
                    let _ = check_rule(r);
                }
                checked += 1;
            }
        }
    }
}

fn egjit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_egjit"))
        .args(args)
        .output()
        .expect("egjit runs")
}

fn temp_file(name: &str, text: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rules");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn cli_lists_the_default_rules() {
    let o = egjit(&["rules"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), default_rules().len());
    assert_eq!(lines[0], "add-zero.i32: (iadd.i32 ?a 0:i32) => ?a");
    assert!(lines.contains(&"sgt-swap.i64: (icmp.sgt.i64 ?a ?b) => (icmp.slt.i64 ?b ?a)"));
}

#[test]
fn cli_check_passes_the_shipped_rules() {
    let arith = rules_dir().join("arith.rules");
    let extend = rules_dir().join("extend.rules");
    let o = egjit(&[
        "rules",
        "--check",
        arith.to_str().unwrap(),
        extend.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.stderr.is_empty());
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.starts_with("ok add-zero.i32\nok add-zero.i64\n"),
        "{out}"
    );
    assert!(out.ends_with("ok shift-sext32\n"), "{out}");
    assert_eq!(out.lines().count(), 92 + 19);
}

#[test]
fn cli_check_fails_wrong_rules() {
    let o = egjit(&["rules", "--check", WRONG]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(err.lines().count(), 12, "{err}");
    assert!(err.starts_with(&format!(
        "{WRONG}:5:1: error: rule sub-swap.i32: counterexample with ?a = 1, ?b = 0: \
         the left side gives 1, the right side -1\n"
    )));
    assert!(err.contains(&format!(
        "{WRONG}:7:1: error: rule sshr-as-ushr: counterexample with ?a = -1: \
         the left side gives -1, the right side 2147483647\n"
    )));
    assert!(o.stdout.is_empty());
}

#[test]
fn cli_check_reports_malformed_files_and_goes_on() {
    let bad = temp_file("bad.rules", "# bad\nr: (iadd.T ?a 0 => ?a\n");
    let good = temp_file("good.rules", "# x ^ 0 = x\nxz: (bxor.i64 ?a 0) => ?a\n");
    let o = egjit(&["rules", "--check", &bad, &good]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        format!("{bad}:2:4: error: rule r: unclosed `(`\n")
    );
    assert_eq!(String::from_utf8(o.stdout).unwrap(), "ok xz\n");
}

#[test]
fn cli_check_usage_and_missing_files() {
    let o = egjit(&["rules", "--check"]);
    assert_eq!(o.status.code(), Some(2));
    let o = egjit(&["rules", "--check", "/nonexistent/x.rules"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.starts_with("/nonexistent/x.rules:1:1: error: cannot read the rules: "),
        "{err}"
    );
    // The same name in two files checked together.
    let a = temp_file("a.rules", "# x + 0 = x\nz: (iadd.i32 ?a 0) => ?a\n");
    let b = temp_file("b.rules", "\n\n# x - 0 = x\n  z: (isub.i32 ?a 0) => ?a\n");
    let o = egjit(&["rules", "--check", &a, &b]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        format!("{b}:4:3: error: rule z: duplicate name (first at {a}:2:1)\n")
    );
}

/// Rotating an `i32` by 32 gives it back (counts are modulo 32); no built-in rule says so.
const ROTL_32: &str =
    "func @f(i32) -> i32 {\nentry(v0: i32):\n v1 = iconst.i32 32\n v2 = rotl.i32 v0, v1\n return v2\n}\n";
const ROTL_RULE: &str = "# rotl(x, 32) = x for an i32\nrotl-full: (rotl.i32 ?a 32) => ?a\n";

#[test]
fn cli_cover_uses_checked_user_rules() {
    let prog = temp_file("rotl.egir", ROTL_32);
    // The built-in rules keep the rotate.
    let o = egjit(&["cover", &prog]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("rotl_i32_si v0, 32"), "{out}");
    let mine = temp_file("rotl.rules", ROTL_RULE);
    let o = egjit(&["cover", &prog, "--rules", &mine]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(!out.contains("rotl"), "{out}");
    assert!(out.contains("ret v0"), "{out}");
    // A rule that does not hold is refused before it can make wrong code.
    let o = egjit(&["cover", &prog, "--rules", WRONG]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.starts_with(&format!(
            "{WRONG}:5:1: error: rule sub-swap.i32: counterexample with ?a = 1, ?b = 0: "
        )),
        "{err}"
    );
    assert!(o.stdout.is_empty());
    // A user rule may not take a built-in rule's name.
    let dup = temp_file("dup.rules", "# x + 0 = x\nadd-zero: (iadd.T ?a 0) => ?a\n");
    let o = egjit(&["cover", &prog, "--rules", &dup]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.starts_with(&format!(
            "{dup}:2:1: error: rule add-zero.i32: duplicate name (first at rules/arith.rules:"
        )),
        "{err}"
    );
}

#[test]
fn config_rules_reach_selection() {
    use egjit::select::Selector;
    use egjit::{Config, Module};
    let m = Module::from_text(ROTL_32, "rotl.egir").unwrap();
    let names = |config: &Config| -> Vec<&'static str> {
        let cover = Selector::new(config).unwrap().cover(&m).unwrap();
        cover.funcs[0].blocks[0]
            .insts
            .iter()
            .map(|i| i.stencil.name)
            .collect()
    };
    let mut config = Config::default();
    assert_eq!(names(&config), ["rotl_i32_si", "ret"]);
    config.rules = parse_rules(ROTL_RULE, "mine").unwrap();
    assert_eq!(names(&config), ["ret"]);
    // Without the built-in rules, `x + 0` stays an add.
    let add = Module::from_text(
        "func @f(i32) -> i32 {\nentry(v0: i32):\n v1 = iconst.i32 0\n v2 = iadd.i32 v0, v1\n return v2\n}\n",
        "add.egir",
    )
    .unwrap();
    let count = |config: &Config| {
        Selector::new(config).unwrap().cover(&add).unwrap().funcs[0].blocks[0]
            .insts
            .len()
    };
    assert_eq!(count(&Config::default()), 1);
    let bare = Config {
        default_rules: false,
        ..Config::default()
    };
    assert_eq!(count(&bare), 2);
    assert_eq!(Selector::new(&bare).unwrap().rule_count(), 0);
    // Limits: no iteration, no rewriting.
    let mut stopped = Config::default();
    stopped.limits.iterations = 0;
    assert_eq!(count(&stopped), 2);
    // A user rule named like a built-in one is refused, located.
    let clash = Config {
        rules: parse_rules("\n# x + 0 = x\nadd-zero: (iadd.T ?a 0) => ?a\n", "clash").unwrap(),
        ..Config::default()
    };
    let e = Selector::new(&clash).err().expect("a duplicate name");
    assert!(
        e.to_string()
            .starts_with("clash:3:1: error: rule add-zero.i32: duplicate name"),
        "{e}"
    );
}

/// The built-in `sub-const` rewrite (x - c = x + (-c), made in code as it computes -c)
/// holds for every edge constant, checked as the equivalent file rule per constant.
#[test]
fn sub_const_holds_for_edge_constants() {
    for (ty, bits) in [("i32", 32u32), ("i64", 64)] {
        let values: Vec<i128> = vec![
            0,
            1,
            -1,
            2,
            5,
            i32::MIN as i128,
            i32::MAX as i128,
            i64::MIN as i128,
            i64::MAX as i128,
        ];
        for c in values {
            let modulus = 1i128 << bits;
            let c = c.rem_euclid(modulus);
            let neg = (modulus - c) % modulus;
            let text = format!(
                "# x - c = x + (-c)\nsc: (isub.{ty} ?a {c:#x}) => (iadd.{ty} ?a {neg:#x})\n"
            );
            let rules = parse_rules(&text, "sub-const").unwrap_or_else(|e| panic!("{e}"));
            check_rule(&rules[0]).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
    }
    let names: Vec<String> = egjit::select::code_rewrites()
        .iter()
        .map(|r| r.name.to_string())
        .collect();
    assert_eq!(names, ["sub-const.i32", "sub-const.i64"]);
}
