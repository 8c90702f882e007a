//! Bad input, one case per line: the text, where the error must point (LINE:COL, counted
//! by hand), and a fragment of the message. Syntax errors come from the parser, the rest
//! from the verifier; both through `Module::from_text`.

use egjit::{ErrorKind, Module};

/// `(name, source, "LINE:COL", fragment of the message, kind)`.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    ErrorKind,
);

use ErrorKind::{Syntax as S, Verify as V};

const CASES: &[Case] = &[
    // --- lexical ---
    ("unexpected char", "func @f() {\nentry:\n$\n}", "3:1", "unexpected character '$'", S),
    ("lone @", "func @ () {", "1:6", "expected a function name after `@`", S),
    ("lone minus", "func @f() - i64 {", "1:11", "expected `->` or a negative integer", S),
    ("bad int", "memory 12ab", "1:8", "invalid integer literal `12ab`", S),
    ("empty hex", "memory 0x", "1:8", "invalid integer literal `0x`", S),
    ("u64 overflow", "func @f() -> i64 {\nentry:\nv0 = iconst.i64 18446744073709551616\nreturn v0\n}", "3:17", "does not fit in 64 bits", S),
    ("i64 underflow", "func @f() -> i64 {\nentry:\nv0 = iconst.i64 -9223372036854775809\nreturn v0\n}", "3:17", "does not fit in 64 bits", S),
    ("hex overflow", "func @f() -> i64 {\nentry:\nv0 = iconst.i64 0x10000000000000000\nreturn v0\n}", "3:17", "does not fit in 64 bits", S),
    ("unterminated string", "memory 1\ndata 0 \"abc", "2:8", "unterminated string", S),
    ("bad escape", "memory 1\ndata 0 \"a\\qb\"", "2:10", "unknown escape", S),
    ("short hex escape", "memory 1\ndata 0 \"\\4\"", "2:9", "two hex digits", S),
    ("value number too large", "func @f() {\nentry:\nv4294967296 = iconst.i32 0\nreturn\n}", "3:1", "too large", S),
    // --- module items ---
    ("garbage item", "memory 1\nfoo", "2:1", "expected `memory`, `data`, `import` or `func`, found `foo`", S),
    ("two memories", "memory 1\nmemory 2", "2:1", "at most one `memory` (the first is at 1:1)", S),
    ("memory too big", "memory 65537", "1:8", "between 0 and 65536, found 65537", S),
    ("negative memory", "memory -1", "1:8", "between 0 and 65536, found -1", S),
    ("max too big", "memory 1 max 70000", "1:14", "between 0 and 65536", S),
    ("data without string", "memory 1\ndata 0 7", "2:8", "expected a string, found integer `7`", S),
    ("reserved f32", "func @f(f32) {", "1:9", "`f32` is reserved", S),
    ("missing type", "func @f( {", "1:10", "expected a type (`i32` or `i64`), found `{`", S),
    ("missing body brace", "func @f()\nentry:", "2:1", "expected `{`, found `entry`", S),
    ("no blocks", "func @f() {}", "1:12", "expected a block", S),
    ("function twice", "func @f() {\nentry:\nreturn\n}\nimport @f()", "5:8", "function `@f` is defined twice (first at 1:1)", S),
    ("call undefined", "func @f() {\nentry:\ncall @g()\nreturn\n}", "3:6", "call to undefined function `@g`", S),
    // --- blocks and instructions ---
    ("missing terminator at end", "func @f() {\nentry:\nv0 = iconst.i32 1\n}", "4:1", "block `entry` has no terminator", S),
    ("missing terminator before block", "func @f() {\nentry:\nv0 = iconst.i32 1\nnext:\nreturn\n}", "4:1", "block `entry` has no terminator", S),
    ("inst after terminator", "func @f() {\nentry:\nreturn\nv0 = iconst.i32 1\n}", "4:1", "the block before already ended", S),
    ("block twice", "func @f() {\nentry:\njump a\na:\njump a\na:\nreturn\n}", "6:1", "block `a` is defined twice (first at 4:1)", S),
    ("dotted block", "func @f() {\nentry:\njump a.b\n}", "3:6", "expected a block name, found `a.b`", S),
    ("undefined block", "func @f() {\nentry:\njump nowhere\n}", "3:6", "undefined block `nowhere`", S),
    ("undefined value", "func @f() -> i32 {\nentry:\nreturn v9\n}", "3:8", "undefined value `v9`", S),
    ("first undefined use", "func @f() -> i32 {\nentry:\nv1 = iadd.i32 v7, v8\nreturn v1\n}", "3:15", "undefined value `v7`", S),
    ("value twice", "func @f() {\nentry:\nv0 = iconst.i32 1\nv0 = iconst.i32 2\nreturn\n}", "4:1", "value `v0` is defined twice (first at 3:1)", S),
    ("param twice", "func @f(i32, i32) {\nentry(v0: i32, v0: i32):\nreturn\n}", "2:16", "value `v0` is defined twice", S),
    ("unknown op", "func @f() {\nentry:\nv0 = frob.i32 1\nreturn\n}", "3:6", "unknown operation `frob.i32`", S),
    ("missing suffix", "func @f(i32) {\nentry(v0: i32):\nv1 = iadd v0, v0\nreturn\n}", "3:6", "`iadd` needs a type suffix (`iadd.i32` or `iadd.i64`)", S),
    ("wrong suffix", "func @f(i32) {\nentry(v0: i32):\nv1 = sextend.i32 v0\nreturn\n}", "3:6", "write `sextend.i64`", S),
    ("suffix on untyped", "memory 1\nfunc @f() {\nentry:\nv0 = memory.size.i32\nreturn\n}", "4:6", "`memory.size` takes no type suffix", S),
    ("reserved suffix", "func @f() {\nentry:\nv0 = iconst.f64 1\nreturn\n}", "3:6", "`f64` is reserved", S),
    ("too many results", "func @f(i32) {\nentry(v0: i32):\nv1, v2 = iadd.i32 v0, v0\nreturn\n}", "3:1", "`iadd.i32` has 1 result, but 2 are named", S),
    ("store with result", "memory 1\nfunc @f(i32) {\nentry(v0: i32):\nv1 = store.i32 v0, v0\nreturn\n}", "4:1", "`store.i32` has 0 results, but 1 is named", S),
    ("unnamed result", "func @f(i32) {\nentry(v0: i32):\niadd.i32 v0, v0\nreturn\n}", "3:1", "`iadd.i32` has 1 result, but 0 are named", S),
    ("missing operand", "func @f(i32) {\nentry(v0: i32):\nv1 = iadd.i32 v0\nreturn\n}", "4:1", "expected `,`, found `return`", S),
    ("negative offset", "memory 1\nfunc @f(i32) {\nentry(v0: i32):\nv1 = load.i32 v0, -4\nreturn\n}", "4:19", "the memory offset must be between 0 and 4294967295, found -4", S),
    ("offset too big", "memory 1\nfunc @f(i32) {\nentry(v0: i32):\nv1 = load.i32 v0, 0x100000000\nreturn\n}", "4:19", "between 0 and 4294967295", S),
    ("br_table target args", "func @f(i32) {\nentry(v0: i32):\nbr_table v0, [a], a(v0)\na:\nreturn\n}", "3:20", "`br_table` targets take no arguments", S),
    ("value as op", "func @f(i32) {\nentry(v0: i32):\nv0\n}", "3:1", "`v0` is a value", S),
    // --- types (verifier) ---
    ("operand type", "func @f(i64, i32) -> i64 {\nentry(v0: i64, v1: i32):\nv2 = iadd.i64 v0, v1\nreturn v2\n}", "3:1", "`iadd.i64` operand 2 (`v1`) has type i32, expected i64", V),
    ("select cond type", "func @f(i64) -> i64 {\nentry(v0: i64):\nv1 = select.i64 v0, v0, v0\nreturn v1\n}", "3:1", "operand 1 (`v0`) has type i64, expected i32", V),
    ("extend type", "func @f(i64) -> i64 {\nentry(v0: i64):\nv1 = sextend.i64 v0\nreturn v1\n}", "3:1", "has type i64, expected i32", V),
    ("load address type", "memory 1\nfunc @f(i64) -> i64 {\nentry(v0: i64):\nv1 = load.i64 v0\nreturn v1\n}", "4:1", "`load.i64` operand 1 (`v0`) has type i64, expected i32", V),
    ("call arity", "func @g(i32) {\nentry(v0: i32):\nreturn\n}\nfunc @f() {\nentry:\ncall @g()\nreturn\n}", "7:1", "`call @g` takes 1 operand(s), found 0", V),
    ("call arg type", "func @g(i32) {\nentry(v0: i32):\nreturn\n}\nfunc @f(i64) {\nentry(v0: i64):\ncall @g(v0)\nreturn\n}", "7:1", "`call @g` operand 1 (`v0`) has type i64, expected i32", V),
    ("call result count", "func @g() {\nentry:\nreturn\n}\nfunc @f() {\nentry:\nv0 = call @g()\nreturn\n}", "7:1", "`call @g` returns (), but its results are (i32)", V),
    ("call result type", "func @g() -> i64 {\nentry:\nv0 = iconst.i64 1\nreturn v0\n}\nfunc @f() -> i32 {\nentry:\nv0 = call @g()\nreturn v0\n}", "9:1", "`return` passes (i64), but `@f` returns (i32)", V),
    ("return type", "func @f(i32) -> i64 {\nentry(v0: i32):\nreturn v0\n}", "3:1", "`return` passes (i32), but `@f` returns (i64)", V),
    ("return count", "func @f(i32) -> i32, i32 {\nentry(v0: i32):\nreturn v0\n}", "3:1", "`return` passes (i32), but `@f` returns (i32, i32)", V),
    ("entry params", "func @f(i32) {\nentry:\nreturn\n}", "2:1", "the entry block's parameters () do not match the signature of `@f` (i32)", V),
    ("entry param type", "func @f(i32) {\nentry(v0: i64):\nreturn\n}", "2:1", "parameters (i64) do not match", V),
    ("branch arg count", "func @f(i32) {\nentry(v0: i32):\njump a\na(v1: i32):\nreturn\n}", "3:1", "branch to `a` passes (), but the block takes (i32)", V),
    ("branch arg type", "func @f(i64) {\nentry(v0: i64):\njump a(v0)\na(v1: i32):\nreturn\n}", "3:1", "branch to `a` passes (i64), but the block takes (i32)", V),
    ("brif target args", "func @f(i32) {\nentry(v0: i32):\nbrif v0, a, a(v0)\na:\nreturn\n}", "3:1", "branch to `a` passes (i32), but the block takes ()", V),
    ("br_table index type", "func @f(i64) {\nentry(v0: i64):\nbr_table v0, [], a\na:\nreturn\n}", "3:1", "`br_table` index `v0` has type i64, expected i32", V),
    ("br_table target params", "func @f(i32) {\nentry(v0: i32):\nbr_table v0, [a], b\na(v1: i32):\nreturn\nb:\nreturn\n}", "3:1", "branch to `a` passes (), but the block takes (i32)", V),
    // --- SSA dominance (verifier) ---
    ("use before def", "func @f() -> i32 {\nentry:\nv1 = iadd.i32 v0, v0\nv0 = iconst.i32 1\nreturn v1\n}", "3:1", "`v0` is used where its definition (in block `entry`) does not dominate the use", V),
    ("self use", "func @f() -> i32 {\nentry:\nv0 = iadd.i32 v0, v0\nreturn v0\n}", "3:1", "does not dominate", V),
    ("diamond", "func @f(i32) -> i32 {\nentry(v0: i32):\nbrif v0, a, b\na:\nv1 = iconst.i32 1\njump c\nb:\njump c\nc:\nreturn v1\n}", "10:1", "`v1` is used where its definition (in block `a`) does not dominate the use", V),
    ("loop body to header", "func @f(i32) -> i32 {\nentry(v0: i32):\njump h\nh:\nbrif v0, body, exit\nbody:\nv1 = iconst.i32 1\njump h\nexit:\nreturn v1\n}", "10:1", "definition (in block `body`) does not dominate", V),
    ("branch arg not dominated", "func @f(i32) {\nentry(v0: i32):\nbrif v0, a, b\na:\nv1 = iconst.i32 1\njump b\nb:\njump c(v1)\nc(v2: i32):\nreturn\n}", "8:1", "`v1` is used where its definition (in block `a`) does not dominate", V),
    // --- memory (verifier) ---
    ("data without memory", "data 0 \"x\"", "1:1", "a `data` segment needs a `memory`", V),
    ("data past end", "memory 1\ndata 65535 \"ab\"", "2:1", "data segment of 2 bytes at offset 65535 does not fit in the initial memory of 65536 bytes", V),
    ("max below initial", "memory 2 max 1", "1:1", "memory maximum 1 is less than its initial size 2", V),
];

#[test]
fn bad_input_is_refused_with_a_located_message() {
    let mut failures = Vec::new();
    for &(name, src, at, fragment, kind) in CASES {
        match Module::from_text(src, "t.egir") {
            Ok(_) => failures.push(format!("{name}: accepted")),
            Err(e) => {
                let text = e.to_string();
                let prefix = format!("t.egir:{at}: error: ");
                if !text.starts_with(&prefix) || !text.contains(fragment) || e.kind != kind {
                    failures.push(format!(
                        "{name}: expected `{prefix}...{fragment}...` ({kind:?}), got `{text}` ({:?})",
                        e.kind
                    ));
                }
            }
        }
    }
    assert!(CASES.len() >= 70, "the table lost its cases");
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

/// Good text that looks close to the bad cases above must be accepted: the checks refuse
/// what IR.md forbids, not more.
const GOOD: &[(&str, &str)] = &[
    ("empty module", ""),
    ("comments only", "; nothing\n   ; here\n"),
    ("i64 extremes", "func @f() {\nentry:\nv0 = iconst.i64 18446744073709551615\nv1 = iconst.i64 -9223372036854775808\nv2 = iconst.i64 0xffffffffffffffff\nreturn\n}"),
    ("i32 literal modulo", "func @f() -> i32 {\nentry:\nv0 = iconst.i32 0xffffffffff\nreturn v0\n}"),
    ("brif on i64", "func @f(i64) {\nentry(v0: i64):\nbrif v0, a, a\na:\nreturn\n}"),
    ("forward call", "func @f() -> i32 {\nentry:\nv0 = call @g()\nreturn v0\n}\nfunc @g() -> i32 {\nentry:\nv0 = iconst.i32 7\nreturn v0\n}"),
    ("value used in dominated block", "func @f(i32) -> i32 {\nentry(v0: i32):\nv1 = iconst.i32 1\nbrif v0, a, b\na:\nreturn v1\nb:\nreturn v0\n}"),
    ("block defined after its use", "func @f() {\nentry:\njump z\ny:\nreturn\nz:\njump y\n}"),
    ("terminator-named block", "func @f() {\nentry:\njump trap\ntrap:\ntrap\n}"),
    ("value-like block name", "func @f() {\nentry:\njump v1\nv1:\nreturn\n}"),
    ("sparse value numbers", "func @f() -> i32 {\nentry:\nv4000000000 = iconst.i32 3\nreturn v4000000000\n}"),
    ("empty br_table", "func @f(i32) {\nentry(v0: i32):\nbr_table v0, [], a\na:\nreturn\n}"),
    ("max offset", "memory 1\nfunc @f(i32) -> i32 {\nentry(v0: i32):\nv1 = load.i32 v0, 4294967295\nreturn v1\n}"),
    ("full memory", "memory 65536 max 65536"),
    ("data at the end", "memory 1\ndata 65534 \"\\ff\\00\""),
    ("memory operations without a memory", "func @f(i32) -> i32 {\nentry(v0: i32):\nv1 = load.i32 v0\nstore8.i32 v0, v1, 3\nv2 = memory.grow v1\nv3 = memory.size\nreturn v3\n}"),
    ("unreachable block", "func @f() {\nentry:\nreturn\ndead:\nv0 = iconst.i32 1\njump dead\n}"),
    ("all on one line", "func @f(i32) -> i32 { entry(v0: i32): v1 = iadd.i32 v0, v0 return v1 }"),
];

#[test]
fn close_but_good_text_is_accepted() {
    let failures: Vec<String> = GOOD
        .iter()
        .filter_map(|&(name, src)| {
            Module::from_text(src, "t.egir")
                .err()
                .map(|e| format!("{name}: {e}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
