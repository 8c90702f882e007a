//! Semantics of every IR operation, checked against hand-written tables.
//!
//! Each table row is one case: an operation, its inputs and the expected result,
//! derived by hand from `IR.md` (and WebAssembly's core spec where IR.md is silent),
//! never by running egjit. Expected traps are given by their exact IR.md message.
//!
//! For every case a tiny module is generated from the operation name and its operand
//! types, and run in several shapes (operands as parameters, as `iconst`s, and mixed),
//! so that engines which fold constants or have immediate forms are exercised too.
//! All mismatches of a test are collected and reported in one panic.

use egjit::Value;
use egjit::Value::{I32, I64};

// ---------------------------------------------------------------------------------------
// The one place that talks to the egjit API. To run these tables on another engine
// (e.g. the JIT), change `instantiate`.
// ---------------------------------------------------------------------------------------

/// The result of one call: the returned values, or the trap message (exactly as
/// IR.md spells it). Non-trap failures (parse errors, bad calls) come back as an `Err`
/// starting with an upper-case tag, so they never equal an expected trap.
type Outcome = Result<Vec<Value>, String>;

/// Loads `src` into a fresh instance, the single point where the engine is chosen.
fn instantiate(src: &str) -> Result<egjit::Instance, String> {
    let module = egjit::Module::from_text(src, "semantics.egir")
        .map_err(|e| format!("LOAD ERROR: {e}\n--- module ---\n{src}"))?;
    egjit::Instance::new(&module, egjit::Imports::new(), &egjit::Config::default())
        .map_err(|e| format!("INSTANTIATE ERROR: {e}"))
}

/// Runs `calls` in order on one instance of `src` (memory persists across calls).
fn run_seq(src: &str, calls: &[(&str, Vec<Value>)]) -> Vec<Outcome> {
    let mut instance = match instantiate(src) {
        Ok(i) => i,
        Err(e) => return calls.iter().map(|_| Err(e.clone())).collect(),
    };
    calls
        .iter()
        .map(|(name, args)| match instance.call(name, args) {
            Ok(results) => Ok(results),
            Err(egjit::CallError::Trap(t)) => Err(t.to_string()),
            Err(other) => Err(format!("CALL ERROR: {other:?}")),
        })
        .collect()
}

/// Runs one call of `name` on a fresh instance of `src`.
fn run(src: &str, name: &str, args: &[Value]) -> Outcome {
    run_seq(src, &[(name, args.to_vec())]).remove(0)
}

// ---------------------------------------------------------------------------------------
// Helpers for the tables.
// ---------------------------------------------------------------------------------------

const DIV0: &str = "integer divide by zero";
const OVF: &str = "integer overflow";
const OOB: &str = "out of bounds memory access";

/// An i32 given by its bit pattern.
const fn h32(bits: u32) -> Value {
    I32(bits as i32)
}

/// An i64 given by its bit pattern.
const fn h64(bits: u64) -> Value {
    I64(bits as i64)
}

fn ty(v: Value) -> &'static str {
    match v {
        I32(_) => "i32",
        I64(_) => "i64",
    }
}

fn lit(v: Value) -> String {
    match v {
        I32(x) => x.to_string(),
        I64(x) => x.to_string(),
    }
}

/// A value as `I32(-1 = 0xffffffff)`, so both readings of the bits are visible.
fn show_value(v: &Value) -> String {
    match v {
        I32(x) => format!("I32({x} = {x:#x})"),
        I64(x) => format!("I64({x} = {x:#x})"),
    }
}

fn show(o: &Outcome) -> String {
    match o {
        Ok(vs) => format!(
            "[{}]",
            vs.iter().map(show_value).collect::<Vec<_>>().join(", ")
        ),
        Err(msg) => format!("trap/err {msg:?}"),
    }
}

fn expect_outcome(e: Result<Value, &str>) -> Outcome {
    e.map(|v| vec![v]).map_err(str::to_string)
}

/// Panics with every failure listed, or if fewer than `floor` cases ran.
fn finish(what: &str, ran: usize, floor: usize, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} of {ran} {what} runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        ran >= floor,
        "only {ran} {what} runs, expected at least {floor}"
    );
}

// ---------------------------------------------------------------------------------------
// Pure operations: (op, operands, expected).
// ---------------------------------------------------------------------------------------

type Case = (&'static str, &'static [Value], Result<Value, &'static str>);

#[rustfmt::skip]
static CASES: &[Case] = &[
    // ---- iconst: literal modulo 2^bits
    ("iconst.i32 0", &[], Ok(I32(0))),
    ("iconst.i32 -1", &[], Ok(I32(-1))),
    ("iconst.i32 0xffffffff", &[], Ok(I32(-1))),
    ("iconst.i32 0x80000000", &[], Ok(I32(i32::MIN))),
    ("iconst.i32 -2147483648", &[], Ok(I32(i32::MIN))),
    ("iconst.i32 2147483647", &[], Ok(I32(i32::MAX))),
    ("iconst.i32 4294967296", &[], Ok(I32(0))),
    ("iconst.i32 0x100000001", &[], Ok(I32(1))),
    ("iconst.i32 -4294967295", &[], Ok(I32(1))),
    ("iconst.i32 0xffffffffffffffff", &[], Ok(I32(-1))),
    ("iconst.i64 0", &[], Ok(I64(0))),
    ("iconst.i64 -1", &[], Ok(I64(-1))),
    ("iconst.i64 0xffffffff", &[], Ok(I64(0xffff_ffff))),
    ("iconst.i64 0xffffffffffffffff", &[], Ok(I64(-1))),
    ("iconst.i64 18446744073709551615", &[], Ok(I64(-1))),
    ("iconst.i64 0x8000000000000000", &[], Ok(I64(i64::MIN))),
    ("iconst.i64 -9223372036854775808", &[], Ok(I64(i64::MIN))),
    ("iconst.i64 9223372036854775807", &[], Ok(I64(i64::MAX))),
    ("iconst.i64 0x123456789abcdef0", &[], Ok(h64(0x1234_5678_9abc_def0))),

    // ---- iadd
    ("iadd.i32", &[I32(1), I32(2)], Ok(I32(3))),
    ("iadd.i32", &[I32(0), I32(0)], Ok(I32(0))),
    ("iadd.i32", &[I32(-1), I32(1)], Ok(I32(0))),
    ("iadd.i32", &[I32(-1), I32(-1)], Ok(I32(-2))),
    ("iadd.i32", &[I32(i32::MAX), I32(1)], Ok(I32(i32::MIN))),
    ("iadd.i32", &[I32(i32::MIN), I32(-1)], Ok(I32(i32::MAX))),
    ("iadd.i32", &[I32(i32::MIN), I32(i32::MIN)], Ok(I32(0))),
    ("iadd.i32", &[I32(i32::MAX), I32(i32::MAX)], Ok(I32(-2))),
    ("iadd.i32", &[h32(0xffff), I32(1)], Ok(I32(0x1_0000))),
    ("iadd.i32", &[h32(0x1234_5678), h32(0x1111_1111)], Ok(h32(0x2345_6789))),
    ("iadd.i64", &[I64(1), I64(2)], Ok(I64(3))),
    ("iadd.i64", &[I64(-1), I64(1)], Ok(I64(0))),
    ("iadd.i64", &[I64(-1), I64(-1)], Ok(I64(-2))),
    ("iadd.i64", &[I64(i64::MAX), I64(1)], Ok(I64(i64::MIN))),
    ("iadd.i64", &[I64(i64::MIN), I64(-1)], Ok(I64(i64::MAX))),
    ("iadd.i64", &[I64(i64::MIN), I64(i64::MIN)], Ok(I64(0))),
    ("iadd.i64", &[h64(0xffff_ffff), I64(1)], Ok(h64(0x1_0000_0000))),
    ("iadd.i64", &[I64(i32::MAX as i64), I64(1)], Ok(I64(0x8000_0000))),
    ("iadd.i64", &[h64(0x1234_5678_9abc_def0), h64(0x1111_1111_1111_1111)], Ok(h64(0x2345_6789_abcd_f001))),

    // ---- isub
    ("isub.i32", &[I32(3), I32(5)], Ok(I32(-2))),
    ("isub.i32", &[I32(0), I32(1)], Ok(I32(-1))),
    ("isub.i32", &[I32(-1), I32(-1)], Ok(I32(0))),
    ("isub.i32", &[I32(i32::MIN), I32(1)], Ok(I32(i32::MAX))),
    ("isub.i32", &[I32(i32::MAX), I32(-1)], Ok(I32(i32::MIN))),
    ("isub.i32", &[I32(0), I32(i32::MIN)], Ok(I32(i32::MIN))),
    ("isub.i32", &[I32(0), I32(i32::MAX)], Ok(I32(-i32::MAX))),
    ("isub.i32", &[I32(1), I32(-1)], Ok(I32(2))),
    ("isub.i64", &[I64(3), I64(5)], Ok(I64(-2))),
    ("isub.i64", &[I64(0), I64(1)], Ok(I64(-1))),
    ("isub.i64", &[I64(i64::MIN), I64(1)], Ok(I64(i64::MAX))),
    ("isub.i64", &[I64(i64::MAX), I64(-1)], Ok(I64(i64::MIN))),
    ("isub.i64", &[I64(0), I64(i64::MIN)], Ok(I64(i64::MIN))),
    ("isub.i64", &[h64(0x1_0000_0000), I64(1)], Ok(I64(0xffff_ffff))),
    ("isub.i64", &[I64(0), h64(0xffff_ffff)], Ok(h64(0xffff_ffff_0000_0001))),

    // ---- imul
    ("imul.i32", &[I32(6), I32(7)], Ok(I32(42))),
    ("imul.i32", &[I32(-3), I32(7)], Ok(I32(-21))),
    ("imul.i32", &[I32(-1), I32(-1)], Ok(I32(1))),
    ("imul.i32", &[I32(0), I32(i32::MAX)], Ok(I32(0))),
    ("imul.i32", &[I32(i32::MAX), I32(2)], Ok(I32(-2))),
    ("imul.i32", &[I32(i32::MIN), I32(-1)], Ok(I32(i32::MIN))),
    ("imul.i32", &[I32(i32::MAX), I32(i32::MAX)], Ok(I32(1))),
    ("imul.i32", &[I32(0x1_0000), I32(0x1_0000)], Ok(I32(0))),
    ("imul.i32", &[h32(0x1234_5678), I32(16)], Ok(h32(0x2345_6780))),
    ("imul.i32", &[I32(123_456_789), I32(987_654_321)], Ok(I32(-67_153_019))),
    ("imul.i64", &[I64(6), I64(7)], Ok(I64(42))),
    ("imul.i64", &[I64(-3), I64(7)], Ok(I64(-21))),
    ("imul.i64", &[I64(0x1_0000), I64(0x1_0000)], Ok(I64(0x1_0000_0000))),
    ("imul.i64", &[h64(0x1_0000_0000), h64(0x1_0000_0000)], Ok(I64(0))),
    ("imul.i64", &[I64(i64::MAX), I64(2)], Ok(I64(-2))),
    ("imul.i64", &[I64(i64::MIN), I64(-1)], Ok(I64(i64::MIN))),
    ("imul.i64", &[I64(i64::MAX), I64(i64::MAX)], Ok(I64(1))),
    ("imul.i64", &[I64(0xffff_ffff), I64(0xffff_ffff)], Ok(h64(0xffff_fffe_0000_0001))),
    ("imul.i64", &[I64(123_456_789), I64(987_654_321)], Ok(I64(121_932_631_112_635_269))),

    // ---- band / bor / bxor
    ("band.i32", &[h32(0xff00_ff00), h32(0x0ff0_0ff0)], Ok(h32(0x0f00_0f00))),
    ("band.i32", &[I32(-1), h32(0x1234_5678)], Ok(h32(0x1234_5678))),
    ("band.i32", &[I32(0), I32(-1)], Ok(I32(0))),
    ("band.i32", &[I32(i32::MIN), I32(i32::MAX)], Ok(I32(0))),
    ("band.i64", &[h64(0xff00_ff00_ff00_ff00), h64(0x0ff0_0ff0_0ff0_0ff0)], Ok(h64(0x0f00_0f00_0f00_0f00))),
    ("band.i64", &[I64(-1), h64(0x1234_5678_9abc_def0)], Ok(h64(0x1234_5678_9abc_def0))),
    ("band.i64", &[h64(0xffff_ffff_0000_0000), I64(0xffff_ffff)], Ok(I64(0))),
    ("bor.i32", &[h32(0xff00_ff00), h32(0x0ff0_0ff0)], Ok(h32(0xfff0_fff0))),
    ("bor.i32", &[I32(0), h32(0x1234_5678)], Ok(h32(0x1234_5678))),
    ("bor.i32", &[I32(i32::MIN), I32(i32::MAX)], Ok(I32(-1))),
    ("bor.i64", &[h64(0xff00_ff00_ff00_ff00), h64(0x0ff0_0ff0_0ff0_0ff0)], Ok(h64(0xfff0_fff0_fff0_fff0))),
    ("bor.i64", &[h64(0xffff_ffff_0000_0000), I64(0xffff_ffff)], Ok(I64(-1))),
    ("bor.i64", &[I64(0), I64(0)], Ok(I64(0))),
    ("bxor.i32", &[h32(0xff00_ff00), h32(0x0ff0_0ff0)], Ok(h32(0xf0f0_f0f0))),
    ("bxor.i32", &[I32(-1), h32(0x1234_5678)], Ok(h32(0xedcb_a987))),
    ("bxor.i32", &[I32(i32::MIN), I32(-1)], Ok(I32(i32::MAX))),
    ("bxor.i32", &[I32(7), I32(7)], Ok(I32(0))),
    ("bxor.i64", &[h64(0xff00_ff00_ff00_ff00), h64(0x0ff0_0ff0_0ff0_0ff0)], Ok(h64(0xf0f0_f0f0_f0f0_f0f0))),
    ("bxor.i64", &[I64(-1), h64(0x1234_5678_9abc_def0)], Ok(h64(0xedcb_a987_6543_210f))),
    ("bxor.i64", &[I64(i64::MIN), I64(-1)], Ok(I64(i64::MAX))),

    // ---- ishl: count is b mod bits
    ("ishl.i32", &[I32(1), I32(0)], Ok(I32(1))),
    ("ishl.i32", &[I32(1), I32(1)], Ok(I32(2))),
    ("ishl.i32", &[I32(1), I32(31)], Ok(I32(i32::MIN))),
    ("ishl.i32", &[I32(1), I32(32)], Ok(I32(1))),
    ("ishl.i32", &[I32(1), I32(33)], Ok(I32(2))),
    ("ishl.i32", &[I32(1), I32(63)], Ok(I32(i32::MIN))),
    ("ishl.i32", &[I32(1), I32(64)], Ok(I32(1))),
    ("ishl.i32", &[I32(1), I32(65)], Ok(I32(2))),
    ("ishl.i32", &[I32(1), I32(-1)], Ok(I32(i32::MIN))),
    ("ishl.i32", &[I32(1), I32(i32::MIN)], Ok(I32(1))),
    ("ishl.i32", &[I32(3), I32(31)], Ok(I32(i32::MIN))),
    ("ishl.i32", &[I32(-1), I32(31)], Ok(I32(i32::MIN))),
    ("ishl.i32", &[h32(0x1234_5678), I32(4)], Ok(h32(0x2345_6780))),
    ("ishl.i32", &[h32(0x1234_5678), I32(36)], Ok(h32(0x2345_6780))),
    ("ishl.i64", &[I64(1), I64(0)], Ok(I64(1))),
    ("ishl.i64", &[I64(1), I64(31)], Ok(I64(0x8000_0000))),
    ("ishl.i64", &[I64(1), I64(32)], Ok(I64(0x1_0000_0000))),
    ("ishl.i64", &[I64(1), I64(33)], Ok(I64(0x2_0000_0000))),
    ("ishl.i64", &[I64(1), I64(63)], Ok(I64(i64::MIN))),
    ("ishl.i64", &[I64(1), I64(64)], Ok(I64(1))),
    ("ishl.i64", &[I64(1), I64(65)], Ok(I64(2))),
    ("ishl.i64", &[I64(1), I64(-1)], Ok(I64(i64::MIN))),
    ("ishl.i64", &[I64(-1), I64(63)], Ok(I64(i64::MIN))),
    ("ishl.i64", &[I64(0xffff_ffff), I64(4)], Ok(I64(0xf_ffff_fff0))),
    ("ishl.i64", &[h64(0x1234_5678_9abc_def0), I64(68)], Ok(h64(0x2345_6789_abcd_ef00))),

    // ---- ushr
    ("ushr.i32", &[I32(i32::MIN), I32(0)], Ok(I32(i32::MIN))),
    ("ushr.i32", &[I32(i32::MIN), I32(31)], Ok(I32(1))),
    ("ushr.i32", &[I32(-1), I32(1)], Ok(I32(i32::MAX))),
    ("ushr.i32", &[I32(-1), I32(31)], Ok(I32(1))),
    ("ushr.i32", &[I32(-1), I32(32)], Ok(I32(-1))),
    ("ushr.i32", &[I32(-1), I32(33)], Ok(I32(i32::MAX))),
    ("ushr.i32", &[I32(-1), I32(63)], Ok(I32(1))),
    ("ushr.i32", &[I32(-1), I32(64)], Ok(I32(-1))),
    ("ushr.i32", &[I32(-1), I32(65)], Ok(I32(i32::MAX))),
    ("ushr.i32", &[I32(-1), I32(-1)], Ok(I32(1))),
    ("ushr.i32", &[I32(0x80), I32(7)], Ok(I32(1))),
    ("ushr.i32", &[h32(0x1234_5678), I32(4)], Ok(h32(0x0123_4567))),
    ("ushr.i64", &[I64(i64::MIN), I64(1)], Ok(h64(0x4000_0000_0000_0000))),
    ("ushr.i64", &[I64(-1), I64(1)], Ok(I64(i64::MAX))),
    ("ushr.i64", &[I64(-1), I64(32)], Ok(I64(0xffff_ffff))),
    ("ushr.i64", &[I64(-1), I64(33)], Ok(I64(0x7fff_ffff))),
    ("ushr.i64", &[I64(-1), I64(63)], Ok(I64(1))),
    ("ushr.i64", &[I64(-1), I64(64)], Ok(I64(-1))),
    ("ushr.i64", &[I64(-1), I64(65)], Ok(I64(i64::MAX))),
    ("ushr.i64", &[I64(-1), I64(-1)], Ok(I64(1))),
    ("ushr.i64", &[h64(0x1234_5678_9abc_def0), I64(4)], Ok(h64(0x0123_4567_89ab_cdef))),

    // ---- sshr
    ("sshr.i32", &[I32(i32::MIN), I32(31)], Ok(I32(-1))),
    ("sshr.i32", &[I32(i32::MIN), I32(1)], Ok(h32(0xc000_0000))),
    ("sshr.i32", &[I32(i32::MIN), I32(32)], Ok(I32(i32::MIN))),
    ("sshr.i32", &[I32(i32::MIN), I32(33)], Ok(h32(0xc000_0000))),
    ("sshr.i32", &[I32(i32::MIN), I32(63)], Ok(I32(-1))),
    ("sshr.i32", &[I32(i32::MIN), I32(64)], Ok(I32(i32::MIN))),
    ("sshr.i32", &[I32(i32::MIN), I32(65)], Ok(h32(0xc000_0000))),
    ("sshr.i32", &[I32(i32::MIN), I32(-1)], Ok(I32(-1))),
    ("sshr.i32", &[I32(i32::MAX), I32(31)], Ok(I32(0))),
    ("sshr.i32", &[I32(i32::MAX), I32(1)], Ok(I32(0x3fff_ffff))),
    ("sshr.i32", &[I32(-1), I32(1)], Ok(I32(-1))),
    ("sshr.i32", &[I32(-8), I32(1)], Ok(I32(-4))),
    ("sshr.i32", &[I32(-7), I32(1)], Ok(I32(-4))),
    ("sshr.i32", &[I32(0x4000_0000), I32(30)], Ok(I32(1))),
    ("sshr.i64", &[I64(i64::MIN), I64(63)], Ok(I64(-1))),
    ("sshr.i64", &[I64(i64::MIN), I64(1)], Ok(h64(0xc000_0000_0000_0000))),
    ("sshr.i64", &[I64(i64::MIN), I64(32)], Ok(I64(i32::MIN as i64))),
    ("sshr.i64", &[I64(i64::MIN), I64(64)], Ok(I64(i64::MIN))),
    ("sshr.i64", &[I64(i64::MIN), I64(65)], Ok(h64(0xc000_0000_0000_0000))),
    ("sshr.i64", &[I64(i64::MIN), I64(-1)], Ok(I64(-1))),
    ("sshr.i64", &[I64(i64::MAX), I64(63)], Ok(I64(0))),
    ("sshr.i64", &[I64(0x8000_0000), I64(31)], Ok(I64(1))),
    ("sshr.i64", &[I64(-7), I64(1)], Ok(I64(-4))),

    // ---- rotl / rotr: count is b mod bits
    ("rotl.i32", &[h32(0x8000_0001), I32(1)], Ok(I32(3))),
    ("rotl.i32", &[h32(0x8000_0001), I32(31)], Ok(h32(0xc000_0000))),
    ("rotl.i32", &[h32(0x1234_5678), I32(0)], Ok(h32(0x1234_5678))),
    ("rotl.i32", &[h32(0x1234_5678), I32(4)], Ok(h32(0x2345_6781))),
    ("rotl.i32", &[h32(0x1234_5678), I32(32)], Ok(h32(0x1234_5678))),
    ("rotl.i32", &[h32(0x1234_5678), I32(36)], Ok(h32(0x2345_6781))),
    ("rotl.i32", &[h32(0x8000_0001), I32(33)], Ok(I32(3))),
    ("rotl.i32", &[h32(0x8000_0001), I32(63)], Ok(h32(0xc000_0000))),
    ("rotl.i32", &[h32(0x8000_0001), I32(64)], Ok(h32(0x8000_0001))),
    ("rotl.i32", &[h32(0x8000_0001), I32(65)], Ok(I32(3))),
    ("rotl.i32", &[h32(0x1234_5678), I32(-1)], Ok(h32(0x091a_2b3c))),
    ("rotl.i32", &[I32(-1), I32(13)], Ok(I32(-1))),
    ("rotr.i32", &[h32(0x8000_0001), I32(1)], Ok(h32(0xc000_0000))),
    ("rotr.i32", &[I32(1), I32(1)], Ok(I32(i32::MIN))),
    ("rotr.i32", &[h32(0x1234_5678), I32(4)], Ok(h32(0x8123_4567))),
    ("rotr.i32", &[h32(0x1234_5678), I32(32)], Ok(h32(0x1234_5678))),
    ("rotr.i32", &[h32(0x8000_0001), I32(33)], Ok(h32(0xc000_0000))),
    ("rotr.i32", &[h32(0x8000_0001), I32(64)], Ok(h32(0x8000_0001))),
    ("rotr.i32", &[h32(0x8000_0001), I32(65)], Ok(h32(0xc000_0000))),
    ("rotr.i32", &[h32(0x1234_5678), I32(-1)], Ok(h32(0x2468_acf0))),
    ("rotl.i64", &[h64(0x8000_0000_0000_0001), I64(1)], Ok(I64(3))),
    ("rotl.i64", &[h64(0x0123_4567_89ab_cdef), I64(4)], Ok(h64(0x1234_5678_9abc_def0))),
    ("rotl.i64", &[h64(0x0123_4567_89ab_cdef), I64(32)], Ok(h64(0x89ab_cdef_0123_4567))),
    ("rotl.i64", &[I64(1), I64(32)], Ok(I64(0x1_0000_0000))),
    ("rotl.i64", &[h64(0x0123_4567_89ab_cdef), I64(64)], Ok(h64(0x0123_4567_89ab_cdef))),
    ("rotl.i64", &[h64(0x8000_0000_0000_0001), I64(65)], Ok(I64(3))),
    ("rotl.i64", &[h64(0x8000_0000_0000_0001), I64(-1)], Ok(h64(0xc000_0000_0000_0000))),
    ("rotr.i64", &[I64(1), I64(1)], Ok(I64(i64::MIN))),
    ("rotr.i64", &[h64(0x0123_4567_89ab_cdef), I64(4)], Ok(h64(0xf012_3456_789a_bcde))),
    ("rotr.i64", &[h64(0x0123_4567_89ab_cdef), I64(32)], Ok(h64(0x89ab_cdef_0123_4567))),
    ("rotr.i64", &[h64(0x0123_4567_89ab_cdef), I64(64)], Ok(h64(0x0123_4567_89ab_cdef))),
    ("rotr.i64", &[h64(0x8000_0000_0000_0001), I64(65)], Ok(h64(0xc000_0000_0000_0000))),
    ("rotr.i64", &[h64(0x8000_0000_0000_0001), I64(-1)], Ok(I64(3))),

    // ---- sdiv: truncates toward zero
    ("sdiv.i32", &[I32(7), I32(2)], Ok(I32(3))),
    ("sdiv.i32", &[I32(-7), I32(2)], Ok(I32(-3))),
    ("sdiv.i32", &[I32(7), I32(-2)], Ok(I32(-3))),
    ("sdiv.i32", &[I32(-7), I32(-2)], Ok(I32(3))),
    ("sdiv.i32", &[I32(0), I32(-1)], Ok(I32(0))),
    ("sdiv.i32", &[I32(i32::MIN), I32(1)], Ok(I32(i32::MIN))),
    ("sdiv.i32", &[I32(i32::MIN), I32(2)], Ok(I32(-0x4000_0000))),
    ("sdiv.i32", &[I32(i32::MIN), I32(i32::MIN)], Ok(I32(1))),
    ("sdiv.i32", &[I32(i32::MAX), I32(-1)], Ok(I32(-i32::MAX))),
    ("sdiv.i32", &[I32(-1), I32(i32::MIN)], Ok(I32(0))),
    ("sdiv.i32", &[I32(i32::MIN), I32(-1)], Err(OVF)),
    ("sdiv.i32", &[I32(1), I32(0)], Err(DIV0)),
    ("sdiv.i32", &[I32(0), I32(0)], Err(DIV0)),
    ("sdiv.i32", &[I32(i32::MIN), I32(0)], Err(DIV0)),
    ("sdiv.i64", &[I64(7), I64(2)], Ok(I64(3))),
    ("sdiv.i64", &[I64(-7), I64(2)], Ok(I64(-3))),
    ("sdiv.i64", &[I64(7), I64(-2)], Ok(I64(-3))),
    ("sdiv.i64", &[I64(-7), I64(-2)], Ok(I64(3))),
    ("sdiv.i64", &[I64(i64::MIN), I64(2)], Ok(h64(0xc000_0000_0000_0000))),
    ("sdiv.i64", &[I64(i64::MIN), I64(i64::MIN)], Ok(I64(1))),
    ("sdiv.i64", &[I64(i64::MAX), I64(-1)], Ok(I64(-i64::MAX))),
    ("sdiv.i64", &[I64(i32::MIN as i64), I64(-1)], Ok(I64(0x8000_0000))),
    ("sdiv.i64", &[I64(i64::MIN), I64(-1)], Err(OVF)),
    ("sdiv.i64", &[I64(1), I64(0)], Err(DIV0)),
    ("sdiv.i64", &[I64(i64::MIN), I64(0)], Err(DIV0)),
    ("sdiv.i64", &[I64(1), h64(0x1_0000_0000)], Ok(I64(0))),

    // ---- udiv
    ("udiv.i32", &[I32(7), I32(2)], Ok(I32(3))),
    ("udiv.i32", &[I32(-7), I32(2)], Ok(I32(0x7fff_fffc))),
    ("udiv.i32", &[I32(7), I32(-2)], Ok(I32(0))),
    ("udiv.i32", &[I32(-1), I32(-1)], Ok(I32(1))),
    ("udiv.i32", &[I32(-1), I32(2)], Ok(I32(i32::MAX))),
    ("udiv.i32", &[I32(i32::MIN), I32(-1)], Ok(I32(0))),
    ("udiv.i32", &[I32(i32::MIN), I32(2)], Ok(I32(0x4000_0000))),
    ("udiv.i32", &[I32(-1), I32(1)], Ok(I32(-1))),
    ("udiv.i32", &[I32(1), I32(0)], Err(DIV0)),
    ("udiv.i32", &[I32(-1), I32(0)], Err(DIV0)),
    ("udiv.i64", &[I64(7), I64(2)], Ok(I64(3))),
    ("udiv.i64", &[I64(-7), I64(2)], Ok(h64(0x7fff_ffff_ffff_fffc))),
    ("udiv.i64", &[I64(-1), I64(2)], Ok(I64(i64::MAX))),
    ("udiv.i64", &[I64(i64::MIN), I64(-1)], Ok(I64(0))),
    ("udiv.i64", &[I64(-1), h64(0x1_0000_0000)], Ok(I64(0xffff_ffff))),
    ("udiv.i64", &[h64(0x1_0000_0000), I64(2)], Ok(I64(0x8000_0000))),
    ("udiv.i64", &[I64(1), I64(0)], Err(DIV0)),
    ("udiv.i64", &[I64(i64::MIN), I64(0)], Err(DIV0)),

    // ---- srem: sign of the dividend; MIN % -1 = 0
    ("srem.i32", &[I32(7), I32(2)], Ok(I32(1))),
    ("srem.i32", &[I32(-7), I32(2)], Ok(I32(-1))),
    ("srem.i32", &[I32(7), I32(-2)], Ok(I32(1))),
    ("srem.i32", &[I32(-7), I32(-2)], Ok(I32(-1))),
    ("srem.i32", &[I32(0), I32(-1)], Ok(I32(0))),
    ("srem.i32", &[I32(i32::MIN), I32(-1)], Ok(I32(0))),
    ("srem.i32", &[I32(i32::MIN), I32(2)], Ok(I32(0))),
    ("srem.i32", &[I32(i32::MIN), I32(3)], Ok(I32(-2))),
    ("srem.i32", &[I32(i32::MAX), I32(i32::MIN)], Ok(I32(i32::MAX))),
    ("srem.i32", &[I32(i32::MIN), I32(i32::MAX)], Ok(I32(-1))),
    ("srem.i32", &[I32(5), I32(0)], Err(DIV0)),
    ("srem.i32", &[I32(i32::MIN), I32(0)], Err(DIV0)),
    ("srem.i64", &[I64(7), I64(2)], Ok(I64(1))),
    ("srem.i64", &[I64(-7), I64(2)], Ok(I64(-1))),
    ("srem.i64", &[I64(7), I64(-2)], Ok(I64(1))),
    ("srem.i64", &[I64(-7), I64(-2)], Ok(I64(-1))),
    ("srem.i64", &[I64(i64::MIN), I64(-1)], Ok(I64(0))),
    ("srem.i64", &[I64(i64::MIN), I64(3)], Ok(I64(-2))),
    ("srem.i64", &[I64(i64::MAX), I64(i64::MIN)], Ok(I64(i64::MAX))),
    ("srem.i64", &[I64(i64::MIN), I64(0)], Err(DIV0)),
    ("srem.i64", &[I64(5), I64(0)], Err(DIV0)),

    // ---- urem
    ("urem.i32", &[I32(7), I32(2)], Ok(I32(1))),
    ("urem.i32", &[I32(-7), I32(2)], Ok(I32(1))),
    ("urem.i32", &[I32(-7), I32(3)], Ok(I32(0))),
    ("urem.i32", &[I32(-1), I32(10)], Ok(I32(5))),
    ("urem.i32", &[I32(7), I32(-2)], Ok(I32(7))),
    ("urem.i32", &[I32(i32::MIN), I32(-1)], Ok(I32(i32::MIN))),
    ("urem.i32", &[I32(-1), I32(i32::MIN)], Ok(I32(i32::MAX))),
    ("urem.i32", &[I32(1), I32(0)], Err(DIV0)),
    ("urem.i32", &[I32(-1), I32(0)], Err(DIV0)),
    ("urem.i64", &[I64(7), I64(2)], Ok(I64(1))),
    ("urem.i64", &[I64(-7), I64(2)], Ok(I64(1))),
    ("urem.i64", &[I64(-1), I64(10)], Ok(I64(5))),
    ("urem.i64", &[I64(i64::MIN), I64(-1)], Ok(I64(i64::MIN))),
    ("urem.i64", &[I64(-1), h64(0x1_0000_0000)], Ok(I64(0xffff_ffff))),
    ("urem.i64", &[I64(1), I64(0)], Err(DIV0)),

    // ---- clz / ctz / popcnt
    ("clz.i32", &[I32(0)], Ok(I32(32))),
    ("clz.i32", &[I32(-1)], Ok(I32(0))),
    ("clz.i32", &[I32(1)], Ok(I32(31))),
    ("clz.i32", &[I32(i32::MIN)], Ok(I32(0))),
    ("clz.i32", &[I32(i32::MAX)], Ok(I32(1))),
    ("clz.i32", &[I32(0x1_0000)], Ok(I32(15))),
    ("clz.i64", &[I64(0)], Ok(I64(64))),
    ("clz.i64", &[I64(-1)], Ok(I64(0))),
    ("clz.i64", &[I64(1)], Ok(I64(63))),
    ("clz.i64", &[I64(i64::MIN)], Ok(I64(0))),
    ("clz.i64", &[I64(i64::MAX)], Ok(I64(1))),
    ("clz.i64", &[I64(0xffff_ffff)], Ok(I64(32))),
    ("clz.i64", &[h64(0x1_0000_0000)], Ok(I64(31))),
    ("ctz.i32", &[I32(0)], Ok(I32(32))),
    ("ctz.i32", &[I32(-1)], Ok(I32(0))),
    ("ctz.i32", &[I32(1)], Ok(I32(0))),
    ("ctz.i32", &[I32(i32::MIN)], Ok(I32(31))),
    ("ctz.i32", &[I32(0x1_0000)], Ok(I32(16))),
    ("ctz.i32", &[I32(i32::MAX)], Ok(I32(0))),
    ("ctz.i64", &[I64(0)], Ok(I64(64))),
    ("ctz.i64", &[I64(-1)], Ok(I64(0))),
    ("ctz.i64", &[I64(1)], Ok(I64(0))),
    ("ctz.i64", &[I64(i64::MIN)], Ok(I64(63))),
    ("ctz.i64", &[h64(0x1_0000_0000)], Ok(I64(32))),
    ("ctz.i64", &[I64(0x8000_0000)], Ok(I64(31))),
    ("popcnt.i32", &[I32(0)], Ok(I32(0))),
    ("popcnt.i32", &[I32(-1)], Ok(I32(32))),
    ("popcnt.i32", &[I32(1)], Ok(I32(1))),
    ("popcnt.i32", &[I32(i32::MIN)], Ok(I32(1))),
    ("popcnt.i32", &[I32(i32::MAX)], Ok(I32(31))),
    ("popcnt.i32", &[h32(0x5555_5555)], Ok(I32(16))),
    ("popcnt.i32", &[h32(0x1234_5678)], Ok(I32(13))),
    ("popcnt.i64", &[I64(0)], Ok(I64(0))),
    ("popcnt.i64", &[I64(-1)], Ok(I64(64))),
    ("popcnt.i64", &[I64(i64::MIN)], Ok(I64(1))),
    ("popcnt.i64", &[I64(i64::MAX)], Ok(I64(63))),
    ("popcnt.i64", &[I64(0xffff_ffff)], Ok(I64(32))),
    ("popcnt.i64", &[h64(0x0123_4567_89ab_cdef)], Ok(I64(32))),

    // ---- eqz: result is i32
    ("eqz.i32", &[I32(0)], Ok(I32(1))),
    ("eqz.i32", &[I32(1)], Ok(I32(0))),
    ("eqz.i32", &[I32(-1)], Ok(I32(0))),
    ("eqz.i32", &[I32(i32::MIN)], Ok(I32(0))),
    ("eqz.i64", &[I64(0)], Ok(I32(1))),
    ("eqz.i64", &[I64(1)], Ok(I32(0))),
    ("eqz.i64", &[I64(-1)], Ok(I32(0))),
    ("eqz.i64", &[I64(i64::MIN)], Ok(I32(0))),
    ("eqz.i64", &[h64(0x1_0000_0000)], Ok(I32(0))),

    // ---- select: a if c != 0 else b; c is i32
    ("select.i32", &[I32(0), I32(11), I32(22)], Ok(I32(22))),
    ("select.i32", &[I32(1), I32(11), I32(22)], Ok(I32(11))),
    ("select.i32", &[I32(-1), I32(11), I32(22)], Ok(I32(11))),
    ("select.i32", &[I32(2), I32(11), I32(22)], Ok(I32(11))),
    ("select.i32", &[I32(i32::MIN), I32(11), I32(22)], Ok(I32(11))),
    ("select.i32", &[I32(0x100), I32(11), I32(22)], Ok(I32(11))),
    ("select.i32", &[I32(0), I32(-1), I32(i32::MIN)], Ok(I32(i32::MIN))),
    ("select.i32", &[I32(1), I32(-1), I32(i32::MIN)], Ok(I32(-1))),
    ("select.i64", &[I32(0), h64(0x1122_3344_5566_7788), I64(-1)], Ok(I64(-1))),
    ("select.i64", &[I32(1), h64(0x1122_3344_5566_7788), I64(-1)], Ok(h64(0x1122_3344_5566_7788))),
    ("select.i64", &[I32(-1), h64(0x1122_3344_5566_7788), I64(-1)], Ok(h64(0x1122_3344_5566_7788))),
    ("select.i64", &[I32(2), h64(0x1122_3344_5566_7788), I64(-1)], Ok(h64(0x1122_3344_5566_7788))),
    ("select.i64", &[I32(i32::MIN), I64(i64::MIN), I64(i64::MAX)], Ok(I64(i64::MIN))),
    ("select.i64", &[I32(0), I64(i64::MIN), I64(i64::MAX)], Ok(I64(i64::MAX))),

    // ---- sextend / uextend / ireduce
    ("sextend.i64", &[I32(0)], Ok(I64(0))),
    ("sextend.i64", &[I32(1)], Ok(I64(1))),
    ("sextend.i64", &[I32(-1)], Ok(I64(-1))),
    ("sextend.i64", &[I32(i32::MIN)], Ok(h64(0xffff_ffff_8000_0000))),
    ("sextend.i64", &[I32(i32::MAX)], Ok(I64(0x7fff_ffff))),
    ("uextend.i64", &[I32(0)], Ok(I64(0))),
    ("uextend.i64", &[I32(1)], Ok(I64(1))),
    ("uextend.i64", &[I32(-1)], Ok(I64(0xffff_ffff))),
    ("uextend.i64", &[I32(i32::MIN)], Ok(I64(0x8000_0000))),
    ("uextend.i64", &[I32(i32::MAX)], Ok(I64(0x7fff_ffff))),
    ("ireduce.i32", &[I64(0)], Ok(I32(0))),
    ("ireduce.i32", &[I64(-1)], Ok(I32(-1))),
    ("ireduce.i32", &[I64(0xffff_ffff)], Ok(I32(-1))),
    ("ireduce.i32", &[h64(0x1_0000_0000)], Ok(I32(0))),
    ("ireduce.i32", &[h64(0x1_2345_6789)], Ok(h32(0x2345_6789))),
    ("ireduce.i32", &[I64(0x8000_0000)], Ok(I32(i32::MIN))),
    ("ireduce.i32", &[h64(0x1_7fff_ffff)], Ok(I32(i32::MAX))),
    ("ireduce.i32", &[I64(i64::MIN)], Ok(I32(0))),
    ("ireduce.i32", &[I64(i64::MAX)], Ok(I32(-1))),

    // ---- sext8 / sext16 / sext32
    ("sext8.i32", &[I32(0)], Ok(I32(0))),
    ("sext8.i32", &[I32(0x7f)], Ok(I32(127))),
    ("sext8.i32", &[I32(0x80)], Ok(I32(-128))),
    ("sext8.i32", &[I32(0xff)], Ok(I32(-1))),
    ("sext8.i32", &[I32(0x100)], Ok(I32(0))),
    ("sext8.i32", &[h32(0x1234_5680)], Ok(I32(-128))),
    ("sext8.i32", &[h32(0xffff_ff7f)], Ok(I32(127))),
    ("sext8.i32", &[I32(-1)], Ok(I32(-1))),
    ("sext16.i32", &[I32(0)], Ok(I32(0))),
    ("sext16.i32", &[I32(0x7fff)], Ok(I32(32767))),
    ("sext16.i32", &[I32(0x8000)], Ok(I32(-32768))),
    ("sext16.i32", &[I32(0xffff)], Ok(I32(-1))),
    ("sext16.i32", &[I32(0x1_0000)], Ok(I32(0))),
    ("sext16.i32", &[h32(0x1234_8000)], Ok(I32(-32768))),
    ("sext16.i32", &[h32(0xffff_7fff)], Ok(I32(32767))),
    ("sext8.i64", &[I64(0x7f)], Ok(I64(127))),
    ("sext8.i64", &[I64(0x80)], Ok(I64(-128))),
    ("sext8.i64", &[I64(0xff)], Ok(I64(-1))),
    ("sext8.i64", &[I64(0x100)], Ok(I64(0))),
    ("sext8.i64", &[h64(0x0123_4567_89ab_cd80)], Ok(I64(-128))),
    ("sext8.i64", &[I64(-129)], Ok(I64(127))),
    ("sext16.i64", &[I64(0x8000)], Ok(I64(-32768))),
    ("sext16.i64", &[I64(0x7fff)], Ok(I64(32767))),
    ("sext16.i64", &[I64(0xffff)], Ok(I64(-1))),
    ("sext16.i64", &[h64(0x1234_5678_9abc_7fff)], Ok(I64(32767))),
    ("sext16.i64", &[h64(0x1234_5678_9abc_8000)], Ok(I64(-32768))),
    ("sext32.i64", &[I64(0x8000_0000)], Ok(I64(i32::MIN as i64))),
    ("sext32.i64", &[I64(0x7fff_ffff)], Ok(I64(i32::MAX as i64))),
    ("sext32.i64", &[I64(0xffff_ffff)], Ok(I64(-1))),
    ("sext32.i64", &[h64(0x1234_5678_ffff_ffff)], Ok(I64(-1))),
    ("sext32.i64", &[h64(0xffff_ffff_0000_0000)], Ok(I64(0))),
    ("sext32.i64", &[h64(0x1_0000_0001)], Ok(I64(1))),
    ("sext32.i64", &[I64(i64::MIN)], Ok(I64(0))),
];

/// Result type of a pure op, from its name (`icmp.CC.T` and `eqz.T` yield i32).
fn result_type(op: &str) -> &str {
    let base = op.split_whitespace().next().unwrap_or(op);
    if base.starts_with("icmp.") || base.starts_with("eqz.") {
        "i32"
    } else {
        base.rsplit('.').next().unwrap_or("?")
    }
}

/// A module with `func @f` applying `op` to `args`; operand `i` is an `iconst` when
/// `konst[i]`, else a parameter of `@f`. Returns the text and the arguments to pass.
fn pure_module(op: &str, args: &[Value], konst: &[bool]) -> (String, Vec<Value>) {
    let params: Vec<Value> = args
        .iter()
        .zip(konst)
        .filter(|(_, k)| !**k)
        .map(|(v, _)| *v)
        .collect();
    let sig: Vec<&str> = params.iter().map(|v| ty(*v)).collect();
    let decls: Vec<String> = params
        .iter()
        .enumerate()
        .map(|(i, v)| format!("v{i}: {}", ty(*v)))
        .collect();
    let mut body = String::new();
    let mut next = params.len();
    let mut next_param = 0;
    let mut operands = Vec::new();
    for (v, k) in args.iter().zip(konst) {
        if *k {
            body.push_str(&format!("    v{next} = iconst.{} {}\n", ty(*v), lit(*v)));
            operands.push(format!("v{next}"));
            next += 1;
        } else {
            operands.push(format!("v{next_param}"));
            next_param += 1;
        }
    }
    let inst = format!("{op} {}", operands.join(", "));
    body.push_str(&format!("    v{next} = {}\n", inst.trim_end()));
    let entry = if decls.is_empty() {
        "entry:".to_string()
    } else {
        format!("entry({}):", decls.join(", "))
    };
    let text = format!(
        "func @f({}) -> {} {{\n{entry}\n{body}    return v{next}\n}}\n",
        sig.join(", "),
        result_type(op)
    );
    (text, params)
}

/// The operand shapes to try: all parameters, all constants, and each single operand
/// as a constant (the others parameters).
fn shapes(n: usize) -> Vec<Vec<bool>> {
    let mut out = vec![vec![false; n]];
    if n >= 1 {
        out.push(vec![true; n]);
    }
    if n >= 2 {
        for i in 0..n {
            out.push((0..n).map(|j| j == i).collect());
        }
    }
    out
}

/// Runs one pure case in every shape; returns the number of runs.
fn check_pure(op: &str, args: &[Value], expected: &Outcome, failures: &mut Vec<String>) -> usize {
    let all = shapes(args.len());
    for konst in &all {
        let (text, params) = pure_module(op, args, konst);
        let actual = run(&text, "f", &params);
        if &actual != expected {
            failures.push(format!(
                "{op} {args:?} (const operands {konst:?}): expected {}, got {}",
                show(expected),
                show(&actual)
            ));
        }
    }
    all.len()
}

#[test]
fn pure_ops() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for (op, args, expected) in CASES {
        ran += check_pure(op, args, &expect_outcome(*expected), &mut failures);
    }
    finish("pure-op", ran, 1000, &failures);
}

// ---------------------------------------------------------------------------------------
// icmp: one pair of operands per line, with the results of every condition in the
// order eq ne slt sle sgt sge ult ule ugt uge.
// ---------------------------------------------------------------------------------------

const CONDS: [&str; 10] = [
    "eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge",
];

#[rustfmt::skip]
static ICMP_CASES: &[(Value, Value, [i32; 10])] = &[
    //                                        eq ne slt sle sgt sge ult ule ugt uge
    (I32(0), I32(0),                         [1, 0, 0,  1,  0,  1,  0,  1,  0,  1]),
    (I32(1), I32(2),                         [0, 1, 1,  1,  0,  0,  1,  1,  0,  0]),
    (I32(2), I32(1),                         [0, 1, 0,  0,  1,  1,  0,  0,  1,  1]),
    (I32(-1), I32(1),                        [0, 1, 1,  1,  0,  0,  0,  0,  1,  1]),
    (I32(1), I32(-1),                        [0, 1, 0,  0,  1,  1,  1,  1,  0,  0]),
    (I32(0), I32(-1),                        [0, 1, 0,  0,  1,  1,  1,  1,  0,  0]),
    (I32(-2), I32(-1),                       [0, 1, 1,  1,  0,  0,  1,  1,  0,  0]),
    (I32(-1), I32(-1),                       [1, 0, 0,  1,  0,  1,  0,  1,  0,  1]),
    (I32(i32::MIN), I32(i32::MAX),           [0, 1, 1,  1,  0,  0,  0,  0,  1,  1]),
    (I32(i32::MAX), I32(i32::MIN),           [0, 1, 0,  0,  1,  1,  1,  1,  0,  0]),
    (I32(i32::MIN), I32(i32::MIN),           [1, 0, 0,  1,  0,  1,  0,  1,  0,  1]),
    (I32(i32::MIN), I32(0),                  [0, 1, 1,  1,  0,  0,  0,  0,  1,  1]),
    (I32(i32::MAX), I32(-1),                 [0, 1, 0,  0,  1,  1,  1,  1,  0,  0]),
    (I64(0), I64(0),                         [1, 0, 0,  1,  0,  1,  0,  1,  0,  1]),
    (I64(1), I64(2),                         [0, 1, 1,  1,  0,  0,  1,  1,  0,  0]),
    (I64(2), I64(1),                         [0, 1, 0,  0,  1,  1,  0,  0,  1,  1]),
    (I64(-1), I64(1),                        [0, 1, 1,  1,  0,  0,  0,  0,  1,  1]),
    (I64(1), I64(-1),                        [0, 1, 0,  0,  1,  1,  1,  1,  0,  0]),
    (I64(-1), I64(-1),                       [1, 0, 0,  1,  0,  1,  0,  1,  0,  1]),
    (I64(i64::MIN), I64(i64::MAX),           [0, 1, 1,  1,  0,  0,  0,  0,  1,  1]),
    (I64(i64::MAX), I64(i64::MIN),           [0, 1, 0,  0,  1,  1,  1,  1,  0,  0]),
    (I64(i64::MIN), I64(i64::MIN),           [1, 0, 0,  1,  0,  1,  0,  1,  0,  1]),
    (I64(i64::MIN), I64(0),                  [0, 1, 1,  1,  0,  0,  0,  0,  1,  1]),
    (I64(0x8000_0000), I64(1),               [0, 1, 0,  0,  1,  1,  0,  0,  1,  1]),
    (I64(0xffff_ffff), h64(0x1_0000_0000),   [0, 1, 1,  1,  0,  0,  1,  1,  0,  0]),
    (I64(-1), I64(0xffff_ffff),              [0, 1, 1,  1,  0,  0,  0,  0,  1,  1]),
    (h64(0x1_0000_0000), I64(0),             [0, 1, 0,  0,  1,  1,  0,  0,  1,  1]),
    (h64(0x1_0000_0001), I64(1),             [0, 1, 0,  0,  1,  1,  0,  0,  1,  1]),
];

#[test]
fn icmp() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for (a, b, results) in ICMP_CASES {
        for (cc, r) in CONDS.iter().zip(results) {
            let op = format!("icmp.{cc}.{}", ty(*a));
            ran += check_pure(&op, &[*a, *b], &Ok(vec![I32(*r)]), &mut failures);
        }
    }
    finish("icmp", ran, 1000, &failures);
}

// ---------------------------------------------------------------------------------------
// Memory. One page (65536 bytes) with known bytes:
//   0..20      01 02 03 04 05 06 07 08 f0 f1 f2 f3 f4 f5 f6 f7 80 7f ff 00
//   32..40     41 0a 09 5c 22 00 ff 7f   ("A\n\t\\\"" then \00 \ff \7f: escapes)
//   256..272   aa (16 times)             (scratch for stores)
//   65528..    11 22 33 44 55 66 77 88   (the last 8 bytes)
// everything else is zero.
// ---------------------------------------------------------------------------------------

const MEM: &str = r#"memory 1
data 0 "\01\02\03\04\05\06\07\08\f0\f1\f2\f3\f4\f5\f6\f7\80\7f\ff\00"
data 32 "A\n\t\\\"\00\ff\7f"
data 256 "\aa\aa\aa\aa\aa\aa\aa\aa\aa\aa\aa\aa\aa\aa\aa\aa"
data 65528 "\11\22\33\44\55\66\77\88"
"#;

/// (op, addr, off, expected)
type LoadCase = (&'static str, i32, u32, Result<Value, &'static str>);

#[rustfmt::skip]
static LOAD_CASES: &[LoadCase] = &[
    // ---- load.i32
    ("load.i32", 0, 0, Ok(h32(0x0403_0201))),
    ("load.i32", 1, 0, Ok(h32(0x0504_0302))),
    ("load.i32", 0, 4, Ok(h32(0x0807_0605))),
    ("load.i32", 2, 2, Ok(h32(0x0807_0605))),
    ("load.i32", 8, 0, Ok(h32(0xf3f2_f1f0))),
    ("load.i32", 16, 0, Ok(h32(0x00ff_7f80))),
    ("load.i32", 32, 0, Ok(h32(0x5c09_0a41))),
    ("load.i32", 36, 0, Ok(h32(0x7fff_0022))),
    ("load.i32", 1000, 0, Ok(I32(0))),
    ("load.i32", 65532, 0, Ok(h32(0x8877_6655))),
    ("load.i32", 0, 65532, Ok(h32(0x8877_6655))),
    ("load.i32", 65530, 2, Ok(h32(0x8877_6655))),
    ("load.i32", 65533, 0, Err(OOB)),
    ("load.i32", 65534, 0, Err(OOB)),
    ("load.i32", 65535, 0, Err(OOB)),
    ("load.i32", 65536, 0, Err(OOB)),
    ("load.i32", 0, 65533, Err(OOB)),
    ("load.i32", 65532, 1, Err(OOB)),
    ("load.i32", 0, 65536, Err(OOB)),
    ("load.i32", -4, 0, Err(OOB)),
    ("load.i32", -1, 0, Err(OOB)),
    ("load.i32", i32::MIN, 0, Err(OOB)),
    ("load.i32", i32::MAX, 0, Err(OOB)),
    ("load.i32", 0, 0xffff_ffff, Err(OOB)),
    ("load.i32", 0, 0x8000_0000, Err(OOB)),
    ("load.i32", 4, 0xffff_fffc, Err(OOB)),
    ("load.i32", -4, 4, Err(OOB)),
    ("load.i32", -1, 0xffff_ffff, Err(OOB)),
    // ---- load.i64
    ("load.i64", 0, 0, Ok(h64(0x0807_0605_0403_0201))),
    ("load.i64", 3, 0, Ok(h64(0xf2f1_f008_0706_0504))),
    ("load.i64", 8, 0, Ok(h64(0xf7f6_f5f4_f3f2_f1f0))),
    ("load.i64", 0, 8, Ok(h64(0xf7f6_f5f4_f3f2_f1f0))),
    ("load.i64", 32, 0, Ok(h64(0x7fff_0022_5c09_0a41))),
    ("load.i64", 1000, 0, Ok(I64(0))),
    ("load.i64", 65528, 0, Ok(h64(0x8877_6655_4433_2211))),
    ("load.i64", 0, 65528, Ok(h64(0x8877_6655_4433_2211))),
    ("load.i64", 65524, 4, Ok(h64(0x8877_6655_4433_2211))),
    ("load.i64", 65529, 0, Err(OOB)),
    ("load.i64", 65532, 0, Err(OOB)),
    ("load.i64", 65536, 0, Err(OOB)),
    ("load.i64", 0, 65529, Err(OOB)),
    ("load.i64", 65528, 1, Err(OOB)),
    ("load.i64", -8, 0, Err(OOB)),
    ("load.i64", 8, 0xffff_fff8, Err(OOB)),
    ("load.i64", 0, 0xffff_ffff, Err(OOB)),
    // ---- load8_s.i32 / load8_u.i32
    ("load8_s.i32", 0, 0, Ok(I32(1))),
    ("load8_s.i32", 8, 0, Ok(h32(0xffff_fff0))),
    ("load8_s.i32", 16, 0, Ok(I32(-128))),
    ("load8_s.i32", 17, 0, Ok(I32(127))),
    ("load8_s.i32", 18, 0, Ok(I32(-1))),
    ("load8_s.i32", 19, 0, Ok(I32(0))),
    ("load8_s.i32", 65535, 0, Ok(h32(0xffff_ff88))),
    ("load8_s.i32", 0, 65535, Ok(h32(0xffff_ff88))),
    ("load8_s.i32", 65536, 0, Err(OOB)),
    ("load8_s.i32", 0, 65536, Err(OOB)),
    ("load8_s.i32", -1, 0, Err(OOB)),
    ("load8_s.i32", 0, 0xffff_ffff, Err(OOB)),
    ("load8_s.i32", 1, 0xffff_ffff, Err(OOB)),
    ("load8_u.i32", 0, 0, Ok(I32(1))),
    ("load8_u.i32", 8, 0, Ok(I32(0xf0))),
    ("load8_u.i32", 16, 0, Ok(I32(0x80))),
    ("load8_u.i32", 17, 0, Ok(I32(0x7f))),
    ("load8_u.i32", 18, 0, Ok(I32(0xff))),
    ("load8_u.i32", 65535, 0, Ok(I32(0x88))),
    ("load8_u.i32", 65535, 1, Err(OOB)),
    ("load8_u.i32", 65536, 0, Err(OOB)),
    ("load8_u.i32", -1, 0, Err(OOB)),
    ("load8_u.i32", 1, 0xffff_ffff, Err(OOB)),
    // ---- load16_s.i32 / load16_u.i32
    ("load16_s.i32", 0, 0, Ok(I32(0x0201))),
    ("load16_s.i32", 8, 0, Ok(h32(0xffff_f1f0))),
    ("load16_s.i32", 16, 0, Ok(I32(0x7f80))),
    ("load16_s.i32", 17, 0, Ok(h32(0xffff_ff7f))),
    ("load16_s.i32", 18, 0, Ok(I32(0xff))),
    ("load16_s.i32", 65534, 0, Ok(h32(0xffff_8877))),
    ("load16_s.i32", 65535, 0, Err(OOB)),
    ("load16_s.i32", 0, 65535, Err(OOB)),
    ("load16_s.i32", -2, 0, Err(OOB)),
    ("load16_u.i32", 0, 0, Ok(I32(0x0201))),
    ("load16_u.i32", 8, 0, Ok(I32(0xf1f0))),
    ("load16_u.i32", 17, 0, Ok(I32(0xff7f))),
    ("load16_u.i32", 65534, 0, Ok(I32(0x8877))),
    ("load16_u.i32", 0, 65534, Ok(I32(0x8877))),
    ("load16_u.i32", 65535, 0, Err(OOB)),
    ("load16_u.i32", 2, 0xffff_fffe, Err(OOB)),
    // ---- narrow i64 loads
    ("load8_s.i64", 8, 0, Ok(h64(0xffff_ffff_ffff_fff0))),
    ("load8_s.i64", 17, 0, Ok(I64(127))),
    ("load8_s.i64", 18, 0, Ok(I64(-1))),
    ("load8_s.i64", 65535, 0, Ok(h64(0xffff_ffff_ffff_ff88))),
    ("load8_s.i64", 65536, 0, Err(OOB)),
    ("load8_u.i64", 8, 0, Ok(I64(0xf0))),
    ("load8_u.i64", 18, 0, Ok(I64(0xff))),
    ("load8_u.i64", 65535, 0, Ok(I64(0x88))),
    ("load8_u.i64", -1, 0, Err(OOB)),
    ("load16_s.i64", 8, 0, Ok(h64(0xffff_ffff_ffff_f1f0))),
    ("load16_s.i64", 16, 0, Ok(I64(0x7f80))),
    ("load16_s.i64", 65534, 0, Ok(h64(0xffff_ffff_ffff_8877))),
    ("load16_s.i64", 65535, 0, Err(OOB)),
    ("load16_u.i64", 8, 0, Ok(I64(0xf1f0))),
    ("load16_u.i64", 65534, 0, Ok(I64(0x8877))),
    ("load16_u.i64", 65535, 0, Err(OOB)),
    ("load32_s.i64", 0, 0, Ok(I64(0x0403_0201))),
    ("load32_s.i64", 8, 0, Ok(h64(0xffff_ffff_f3f2_f1f0))),
    ("load32_s.i64", 16, 0, Ok(I64(0x00ff_7f80))),
    ("load32_s.i64", 65532, 0, Ok(h64(0xffff_ffff_8877_6655))),
    ("load32_s.i64", 65533, 0, Err(OOB)),
    ("load32_s.i64", -4, 0, Err(OOB)),
    ("load32_u.i64", 0, 0, Ok(I64(0x0403_0201))),
    ("load32_u.i64", 8, 0, Ok(I64(0xf3f2_f1f0))),
    ("load32_u.i64", 65532, 0, Ok(I64(0x8877_6655))),
    ("load32_u.i64", 0, 65532, Ok(I64(0x8877_6655))),
    ("load32_u.i64", 65533, 0, Err(OOB)),
    ("load32_u.i64", 0, 0xffff_ffff, Err(OOB)),
];

/// `func @f(i32) -> T` that loads from `v0 + off`, or with the address as a constant.
fn load_module(op: &str, off: u32, addr: Option<i32>) -> String {
    let off = if off == 0 {
        String::new()
    } else {
        format!(", {off}")
    };
    let (params, entry, first) = match addr {
        None => ("i32", "entry(v0: i32):".to_string(), String::new()),
        Some(a) => (
            "",
            "entry:".to_string(),
            format!("    v0 = iconst.i32 {a}\n"),
        ),
    };
    format!(
        "{MEM}\nfunc @f({params}) -> {} {{\n{entry}\n{first}    v1 = {op} v0{off}\n    return v1\n}}\n",
        result_type(op)
    )
}

#[test]
fn loads() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for (op, addr, off, expected) in LOAD_CASES {
        let expected = expect_outcome(*expected);
        let shapes = [
            (load_module(op, *off, None), vec![I32(*addr)]),
            (load_module(op, *off, Some(*addr)), vec![]),
        ];
        for (text, args) in &shapes {
            ran += 1;
            let actual = run(text, "f", args);
            if actual != expected {
                failures.push(format!(
                    "{op} addr={addr} off={off} (addr const: {}): expected {}, got {}",
                    args.is_empty(),
                    show(&expected),
                    show(&actual)
                ));
            }
        }
    }
    finish("load", ran, 200, &failures);
}

/// (op, addr, off, value, store trap or None, check address, expected `load.i64` there
/// after the store). The check runs as a separate call on the same instance, so a
/// trapping store must have written nothing.
type StoreCase = (
    &'static str,
    i32,
    u32,
    Value,
    Option<&'static str>,
    i32,
    Value,
);

#[rustfmt::skip]
static STORE_CASES: &[StoreCase] = &[
    // ---- each width, little-endian, into the aa-filled scratch at 256
    ("store.i32", 256, 0, h32(0x1234_5678), None, 256, h64(0xaaaa_aaaa_1234_5678)),
    ("store.i32", 257, 0, h32(0x1234_5678), None, 256, h64(0xaaaa_aa12_3456_78aa)),
    ("store.i32", 256, 4, h32(0x1234_5678), None, 256, h64(0x1234_5678_aaaa_aaaa)),
    ("store.i32", 252, 4, I32(-1), None, 256, h64(0xaaaa_aaaa_ffff_ffff)),
    ("store8.i32", 256, 0, h32(0x1234_5678), None, 256, h64(0xaaaa_aaaa_aaaa_aa78)),
    ("store8.i32", 259, 0, I32(-1), None, 256, h64(0xaaaa_aaaa_ffaa_aaaa)),
    ("store8.i32", 256, 7, I32(0), None, 256, h64(0x00aa_aaaa_aaaa_aaaa)),
    ("store16.i32", 256, 0, h32(0x1234_5678), None, 256, h64(0xaaaa_aaaa_aaaa_5678)),
    ("store16.i32", 263, 0, h32(0x1234_5678), None, 260, h64(0xaaaa_aa56_78aa_aaaa)),
    ("store.i64", 256, 0, h64(0x0102_0304_0506_0708), None, 256, h64(0x0102_0304_0506_0708)),
    ("store.i64", 260, 0, h64(0x0102_0304_0506_0708), None, 256, h64(0x0506_0708_aaaa_aaaa)),
    ("store.i64", 256, 0, I64(-1), None, 256, I64(-1)),
    ("store8.i64", 256, 0, h64(0x1122_3344_5566_7788), None, 256, h64(0xaaaa_aaaa_aaaa_aa88)),
    ("store16.i64", 256, 0, h64(0x1122_3344_5566_7788), None, 256, h64(0xaaaa_aaaa_aaaa_7788)),
    ("store32.i64", 256, 0, h64(0x1122_3344_5566_7788), None, 256, h64(0xaaaa_aaaa_5566_7788)),
    ("store32.i64", 258, 0, h64(0x1122_3344_5566_7788), None, 256, h64(0xaaaa_5566_7788_aaaa)),
    // ---- exactly at the end
    ("store.i32", 65532, 0, h32(0x1234_5678), None, 65528, h64(0x1234_5678_4433_2211)),
    ("store.i32", 0, 65532, h32(0x1234_5678), None, 65528, h64(0x1234_5678_4433_2211)),
    ("store.i64", 65528, 0, h64(0x0102_0304_0506_0708), None, 65528, h64(0x0102_0304_0506_0708)),
    ("store8.i32", 65535, 0, I32(0x99), None, 65528, h64(0x9977_6655_4433_2211)),
    ("store8.i32", 0, 65535, I32(0x99), None, 65528, h64(0x9977_6655_4433_2211)),
    ("store16.i32", 65534, 0, I32(0xbbcc), None, 65528, h64(0xbbcc_6655_4433_2211)),
    ("store16.i64", 65534, 0, I64(0xbbcc), None, 65528, h64(0xbbcc_6655_4433_2211)),
    ("store32.i64", 65532, 0, I64(-1), None, 65528, h64(0xffff_ffff_4433_2211)),
    // ---- straddling or past the end: trap, and nothing is written
    ("store.i32", 65533, 0, h32(0x1234_5678), Some(OOB), 65528, h64(0x8877_6655_4433_2211)),
    ("store.i32", 65534, 0, h32(0x1234_5678), Some(OOB), 65528, h64(0x8877_6655_4433_2211)),
    ("store.i32", 65535, 0, h32(0x1234_5678), Some(OOB), 65528, h64(0x8877_6655_4433_2211)),
    ("store.i32", 65536, 0, h32(0x1234_5678), Some(OOB), 65528, h64(0x8877_6655_4433_2211)),
    ("store.i32", 65532, 1, h32(0x1234_5678), Some(OOB), 65528, h64(0x8877_6655_4433_2211)),
    ("store.i32", 0, 65533, h32(0x1234_5678), Some(OOB), 65528, h64(0x8877_6655_4433_2211)),
    ("store.i64", 65529, 0, I64(0), Some(OOB), 65528, h64(0x8877_6655_4433_2211)),
    ("store.i64", 65532, 0, I64(0), Some(OOB), 65528, h64(0x8877_6655_4433_2211)),
    ("store.i64", 65535, 0, I64(0), Some(OOB), 65528, h64(0x8877_6655_4433_2211)),
    ("store16.i32", 65535, 0, I32(0), Some(OOB), 65528, h64(0x8877_6655_4433_2211)),
    ("store16.i64", 65535, 0, I64(0), Some(OOB), 65528, h64(0x8877_6655_4433_2211)),
    ("store32.i64", 65533, 0, I64(0), Some(OOB), 65528, h64(0x8877_6655_4433_2211)),
    ("store8.i32", 65536, 0, I32(0), Some(OOB), 65528, h64(0x8877_6655_4433_2211)),
    ("store8.i64", 65536, 0, I64(0), Some(OOB), 65528, h64(0x8877_6655_4433_2211)),
    // ---- addresses negative as i32, and offsets that must not wrap to low memory
    ("store.i32", -4, 0, I32(0), Some(OOB), 65528, h64(0x8877_6655_4433_2211)),
    ("store.i64", -8, 0, I64(0), Some(OOB), 65528, h64(0x8877_6655_4433_2211)),
    ("store.i32", i32::MIN, 0, I32(0), Some(OOB), 0, h64(0x0807_0605_0403_0201)),
    ("store.i32", 4, 0xffff_fffc, I32(0), Some(OOB), 0, h64(0x0807_0605_0403_0201)),
    ("store8.i32", 1, 0xffff_ffff, I32(0), Some(OOB), 0, h64(0x0807_0605_0403_0201)),
    ("store.i64", 8, 0xffff_fff8, I64(0), Some(OOB), 0, h64(0x0807_0605_0403_0201)),
    ("store.i32", 0, 0xffff_ffff, I32(0), Some(OOB), 0, h64(0x0807_0605_0403_0201)),
];

/// `func @st(i32, T)` storing `v1` at `v0 + off` (either operand may be a constant),
/// and `func @check(i32) -> i64` loading 8 bytes.
fn store_module(op: &str, off: u32, addr: Option<i32>, val: Option<Value>, vty: &str) -> String {
    let off = if off == 0 {
        String::new()
    } else {
        format!(", {off}")
    };
    let mut params = Vec::new();
    let mut body = String::new();
    let addr_name = match addr {
        None => {
            params.push(("v0".to_string(), "i32"));
            "v0".to_string()
        }
        Some(a) => {
            body.push_str(&format!("    v10 = iconst.i32 {a}\n"));
            "v10".to_string()
        }
    };
    let val_name = match val {
        None => {
            params.push(("v1".to_string(), vty));
            "v1".to_string()
        }
        Some(v) => {
            body.push_str(&format!("    v11 = iconst.{vty} {}\n", lit(v)));
            "v11".to_string()
        }
    };
    let sig: Vec<&str> = params.iter().map(|(_, t)| *t).collect();
    let decls: Vec<String> = params.iter().map(|(n, t)| format!("{n}: {t}")).collect();
    let entry = if decls.is_empty() {
        "entry:".to_string()
    } else {
        format!("entry({}):", decls.join(", "))
    };
    format!(
        "{MEM}
func @st({}) {{
{entry}
{body}    {op} {addr_name}, {val_name}{off}
    return
}}

func @check(i32) -> i64 {{
entry(v0: i32):
    v1 = load.i64 v0
    return v1
}}
",
        sig.join(", ")
    )
}

#[test]
fn stores() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for (op, addr, off, val, trap, check_addr, after) in STORE_CASES {
        let store_expected: Outcome = match trap {
            None => Ok(vec![]),
            Some(t) => Err(t.to_string()),
        };
        let check_expected: Outcome = Ok(vec![*after]);
        for (addr_const, val_const) in [(false, false), (true, true), (true, false), (false, true)]
        {
            let text = store_module(
                op,
                *off,
                addr_const.then_some(*addr),
                val_const.then_some(*val),
                ty(*val),
            );
            let mut args = Vec::new();
            if !addr_const {
                args.push(I32(*addr));
            }
            if !val_const {
                args.push(*val);
            }
            let out = run_seq(&text, &[("st", args), ("check", vec![I32(*check_addr)])]);
            ran += 1;
            if out[0] != store_expected || out[1] != check_expected {
                failures.push(format!(
                    "{op} addr={addr} off={off} val={val:?} (addr const {addr_const}, value const {val_const}): \
                     expected store {} then load.i64 @{check_addr} = {}, got {} then {}",
                    show(&store_expected),
                    show(&check_expected),
                    show(&out[0]),
                    show(&out[1])
                ));
            }
        }
    }
    finish("store", ran, 150, &failures);
}

// ---------------------------------------------------------------------------------------
// Call sequences on one instance: memory.size, memory.grow, memory without a `memory`.
// ---------------------------------------------------------------------------------------

const SIZE_GROW_FUNCS: &str = "
func @size() -> i32 {
entry:
    v0 = memory.size
    return v0
}

func @grow(i32) -> i32 {
entry(v0: i32):
    v1 = memory.grow v0
    return v1
}

func @load(i32) -> i32 {
entry(v0: i32):
    v1 = load.i32 v0
    return v1
}

func @store(i32, i32) {
entry(v0: i32, v1: i32):
    store.i32 v0, v1
    return
}
";

type Step = (
    &'static str,
    &'static [Value],
    Result<&'static [Value], &'static str>,
);

#[rustfmt::skip]
static GROW_WITH_MAX: &[Step] = &[
    ("size", &[], Ok(&[I32(1)])),
    ("load", &[I32(0)], Ok(&[h32(0x0403_0201)])),
    ("load", &[I32(65532)], Ok(&[I32(0)])),
    ("load", &[I32(65533)], Err(OOB)),
    ("load", &[I32(65536)], Err(OOB)),
    ("grow", &[I32(0)], Ok(&[I32(1)])),
    ("size", &[], Ok(&[I32(1)])),
    ("grow", &[I32(1)], Ok(&[I32(1)])),
    ("size", &[], Ok(&[I32(2)])),
    ("load", &[I32(0)], Ok(&[h32(0x0403_0201)])),
    ("load", &[I32(65536)], Ok(&[I32(0)])),
    ("load", &[I32(131068)], Ok(&[I32(0)])),
    ("load", &[I32(131069)], Err(OOB)),
    ("store", &[I32(131068), h32(0x5566_7788)], Ok(&[])),
    ("load", &[I32(131068)], Ok(&[h32(0x5566_7788)])),
    ("store", &[I32(131069), I32(0)], Err(OOB)),
    ("load", &[I32(131068)], Ok(&[h32(0x5566_7788)])),
    ("grow", &[I32(2)], Ok(&[I32(-1)])),
    ("size", &[], Ok(&[I32(2)])),
    ("grow", &[I32(-1)], Ok(&[I32(-1)])),
    ("grow", &[I32(65536)], Ok(&[I32(-1)])),
    ("size", &[], Ok(&[I32(2)])),
    ("load", &[I32(131069)], Err(OOB)),
    ("grow", &[I32(1)], Ok(&[I32(2)])),
    ("size", &[], Ok(&[I32(3)])),
    ("load", &[I32(0)], Ok(&[h32(0x0403_0201)])),
    ("load", &[I32(131068)], Ok(&[h32(0x5566_7788)])),
    ("load", &[I32(196604)], Ok(&[I32(0)])),
    ("load", &[I32(196605)], Err(OOB)),
    ("load", &[I32(196608)], Err(OOB)),
    ("grow", &[I32(1)], Ok(&[I32(-1)])),
    ("grow", &[I32(0)], Ok(&[I32(3)])),
    ("size", &[], Ok(&[I32(3)])),
];

#[rustfmt::skip]
static GROW_NO_MAX: &[Step] = &[
    ("size", &[], Ok(&[I32(0)])),
    ("load", &[I32(0)], Err(OOB)),
    ("store", &[I32(0), I32(1)], Err(OOB)),
    ("grow", &[I32(0)], Ok(&[I32(0)])),
    ("grow", &[I32(1)], Ok(&[I32(0)])),
    ("size", &[], Ok(&[I32(1)])),
    ("load", &[I32(0)], Ok(&[I32(0)])),
    ("load", &[I32(65532)], Ok(&[I32(0)])),
    ("load", &[I32(65533)], Err(OOB)),
    ("grow", &[I32(65536)], Ok(&[I32(-1)])),
    ("grow", &[I32(-1)], Ok(&[I32(-1)])),
    ("grow", &[I32(i32::MIN)], Ok(&[I32(-1)])),
    ("size", &[], Ok(&[I32(1)])),
    ("grow", &[I32(2)], Ok(&[I32(1)])),
    ("size", &[], Ok(&[I32(3)])),
    ("store", &[I32(196604), I32(-1)], Ok(&[])),
    ("load", &[I32(196604)], Ok(&[I32(-1)])),
    ("load", &[I32(196605)], Err(OOB)),
];

#[rustfmt::skip]
static NO_MEMORY: &[Step] = &[
    ("size", &[], Ok(&[I32(0)])),
    ("load", &[I32(0)], Err(OOB)),
    ("load", &[I32(-4)], Err(OOB)),
    ("store", &[I32(0), I32(1)], Err(OOB)),
    ("size", &[], Ok(&[I32(0)])),
];

fn check_steps(what: &str, src: &str, steps: &[Step], failures: &mut Vec<String>) -> usize {
    let calls: Vec<(&str, Vec<Value>)> = steps
        .iter()
        .map(|(name, args, _)| (*name, args.to_vec()))
        .collect();
    let out = run_seq(src, &calls);
    for (i, ((name, args, expected), actual)) in steps.iter().zip(&out).enumerate() {
        let expected: Outcome = expected.map(<[Value]>::to_vec).map_err(str::to_string);
        if *actual != expected {
            failures.push(format!(
                "{what} step {i}: {name}{args:?}: expected {}, got {}",
                show(&expected),
                show(actual)
            ));
        }
    }
    steps.len()
}

#[test]
fn memory_size_and_grow() {
    let mut failures = Vec::new();
    let mut ran = 0;
    let with_max = format!("memory 1 max 3\ndata 0 \"\\01\\02\\03\\04\"\n{SIZE_GROW_FUNCS}");
    ran += check_steps("memory 1 max 3", &with_max, GROW_WITH_MAX, &mut failures);
    let no_max = format!("memory 0\n{SIZE_GROW_FUNCS}");
    ran += check_steps("memory 0", &no_max, GROW_NO_MAX, &mut failures);
    let no_memory = SIZE_GROW_FUNCS.replace("    v1 = memory.grow v0\n", "    v1 = iconst.i32 0\n");
    ran += check_steps("no memory", &no_memory, NO_MEMORY, &mut failures);
    finish("memory sequence", ran, 50, &failures);
}

/// A load or store with an explicit `, 0` offset, and a trap in one call that leaves
/// the instance usable for the next.
#[test]
fn misc_memory() {
    let src = format!(
        "{MEM}
func @ld0(i32) -> i32 {{
entry(v0: i32):
    v1 = load.i32 v0, 0
    return v1
}}

func @st0(i32, i64) {{
entry(v0: i32, v1: i64):
    store.i64 v0, v1, 0
    return
}}

func @ldhex(i32) -> i32 {{
entry(v0: i32):
    v1 = load.i32 v0, 0x4
    return v1
}}
"
    );
    let steps: &[(&str, Vec<Value>, Outcome)] = &[
        ("ld0", vec![I32(0)], Ok(vec![h32(0x0403_0201)])),
        ("ldhex", vec![I32(0)], Ok(vec![h32(0x0807_0605)])),
        ("ldhex", vec![I32(65532)], Err(OOB.to_string())),
        ("ld0", vec![I32(65532)], Ok(vec![h32(0x8877_6655)])),
        ("st0", vec![I32(65529), I64(0)], Err(OOB.to_string())),
        ("ld0", vec![I32(65532)], Ok(vec![h32(0x8877_6655)])),
        (
            "st0",
            vec![I32(256), h64(0x0102_0304_0506_0708)],
            Ok(vec![]),
        ),
        ("ld0", vec![I32(256)], Ok(vec![h32(0x0506_0708)])),
        ("ldhex", vec![I32(256)], Ok(vec![h32(0x0102_0304)])),
    ];
    let calls: Vec<(&str, Vec<Value>)> = steps.iter().map(|(n, a, _)| (*n, a.clone())).collect();
    let out = run_seq(&src, &calls);
    let mut failures = Vec::new();
    for ((name, args, expected), actual) in steps.iter().zip(&out) {
        if actual != expected {
            failures.push(format!(
                "{name}{args:?}: expected {}, got {}",
                show(expected),
                show(actual)
            ));
        }
    }
    finish("misc memory", steps.len(), 9, &failures);
}
