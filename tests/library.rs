//! The library API: instances, host functions, traps as values, the builder.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use egjit::ir::Opcode;
use egjit::{
    CallError, CompiledModule, Config, ErrorKind, Imports, Instance, Jit, Module, ModuleBuilder,
    Trap, Type, Value,
};

const COUNTER: &str = "
memory 1 max 2
import @host.read(i32) -> i64
import @host.bump()
func @store(i32, i64) {
entry(v0: i32, v1: i64):
    store.i64 v0, v1
    return
}
func @load(i32) -> i64 {
entry(v0: i32):
    v1 = load.i64 v0
    return v1
}
func @via_host(i32) -> i64 {
entry(v0: i32):
    call @host.bump()
    v1 = call @host.read(v0)
    return v1
}
func @grow(i32) -> i32 {
entry(v0: i32):
    v1 = memory.grow v0
    return v1
}
";

fn counter_instance(bumps: Arc<AtomicUsize>) -> Instance {
    let m = Module::from_text(COUNTER, "counter.egir").unwrap_or_else(|e| panic!("{e}"));
    let mut imports = Imports::new();
    imports
        .define("host.read", |caller, args| {
            let Value::I32(addr) = args[0] else {
                return Err("bad argument".into());
            };
            let mem = caller.memory();
            let at = addr as u32 as usize;
            let bytes = mem
                .get(at..at + 8)
                .ok_or_else(|| format!("address {at} out of range"))?;
            Ok(vec![Value::I64(i64::from_le_bytes(
                bytes.try_into().map_err(|_| "slice")?,
            ))])
        })
        .define("host.bump", move |_, _| {
            bumps.fetch_add(1, Ordering::SeqCst);
            Ok(vec![])
        });
    Instance::new(&m, imports, &Config::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn memory_persists_across_calls_and_hosts_see_it() {
    let bumps = Arc::new(AtomicUsize::new(0));
    let mut inst = counter_instance(bumps.clone());
    assert_eq!(
        inst.call("store", &[Value::I32(16), Value::I64(-2)]),
        Ok(vec![])
    );
    assert_eq!(
        inst.call("load", &[Value::I32(16)]),
        Ok(vec![Value::I64(-2)])
    );
    assert_eq!(
        inst.call("via_host", &[Value::I32(16)]),
        Ok(vec![Value::I64(-2)])
    );
    assert_eq!(
        &inst.memory()[16..24],
        &[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    );
    // A host error becomes a trap with its message; the instance goes on working.
    assert_eq!(
        inst.call("via_host", &[Value::I32(65534)]),
        Err(CallError::Trap(Trap::Host(
            "address 65534 out of range".into()
        )))
    );
    assert_eq!(bumps.load(Ordering::SeqCst), 2);
    assert_eq!(
        inst.call("load", &[Value::I32(65536)]),
        Err(CallError::Trap(Trap::OutOfBounds))
    );
    assert_eq!(
        inst.call("load", &[Value::I32(16)]),
        Ok(vec![Value::I64(-2)])
    );
    // memory.grow: old size, then -1 past the maximum of 2 pages.
    assert_eq!(inst.call("grow", &[Value::I32(1)]), Ok(vec![Value::I32(1)]));
    assert_eq!(
        inst.call("grow", &[Value::I32(1)]),
        Ok(vec![Value::I32(-1)])
    );
    assert_eq!(inst.memory().len(), 2 * 65536);
    assert_eq!(
        inst.call("load", &[Value::I32(65536)]),
        Ok(vec![Value::I64(0)])
    );
}

#[test]
fn wrong_calls_are_errors_not_traps() {
    let mut inst = counter_instance(Arc::new(AtomicUsize::new(0)));
    assert_eq!(
        inst.call("nope", &[]),
        Err(CallError::NoSuchFunction("nope".into()))
    );
    let e = inst.call("load", &[Value::I64(1)]).unwrap_err();
    assert!(matches!(e, CallError::BadArguments { .. }));
    assert_eq!(
        e.to_string(),
        "`@load` takes 1 argument(s) (i32) -> i64, given (i64)"
    );
    assert!(matches!(
        inst.call("load", &[]),
        Err(CallError::BadArguments { .. })
    ));
}

#[test]
fn missing_imports_and_bad_host_results_are_reported() {
    let m = Module::from_text(COUNTER, "counter.egir").unwrap_or_else(|e| panic!("{e}"));
    let e = Instance::new(&m, Imports::new(), &Config::default())
        .err()
        .expect("imports are missing");
    assert_eq!(e.kind, ErrorKind::Link);
    assert_eq!(
        e.to_string(),
        "counter.egir:3:1: error: import `@host.read` is not provided by the host"
    );
    let mut imports = Imports::new();
    imports
        .define("host.read", |_, _| Ok(vec![Value::I32(1)]))
        .define("host.bump", |_, _| Ok(vec![]));
    let mut inst = Instance::new(&m, imports, &Config::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        inst.call("via_host", &[Value::I32(0)]),
        Err(CallError::Trap(Trap::Host(
            "host function `@host.read` returned (i32), but its import declares (i32) -> i64"
                .into()
        )))
    );
}

#[test]
fn call_depth_limit_is_configurable() {
    // f(n) = n == 0 ? 0 : f(n - 1) + 1, built in code.
    let mut mb = ModuleBuilder::new();
    let f = mb.declare_function("f", &[Type::I64], &[Type::I64]);
    let mut fb = mb.function(f);
    let n = fb.params()[0];
    let base = fb.create_block();
    let rec = fb.create_block();
    let zero = fb.op(Opcode::Eqz, Type::I64, &[n]);
    fb.brif(zero, base, &[], rec, &[]);
    fb.switch_to_block(base);
    fb.ret(&[n]);
    fb.switch_to_block(rec);
    let one = fb.iconst(Type::I64, 1);
    let m1 = fb.op(Opcode::Isub, Type::I64, &[n, one]);
    let r = fb.call(f, &[m1]);
    let r1 = fb.op(Opcode::Iadd, Type::I64, &[r[0], one]);
    fb.ret(&[r1]);
    fb.finish();
    let m = mb.finish().unwrap_or_else(|e| panic!("{e}"));
    let mut inst = Instance::new(
        &m,
        Imports::new(),
        &Config {
            max_call_depth: 50,
            ..Config::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // f(49) needs 50 frames, f(50) needs 51.
    assert_eq!(inst.call("f", &[Value::I64(49)]), Ok(vec![Value::I64(49)]));
    assert_eq!(
        inst.call("f", &[Value::I64(50)]),
        Err(CallError::Trap(Trap::CallStackExhausted))
    );
    assert_eq!(inst.call("f", &[Value::I64(3)]), Ok(vec![Value::I64(3)]));
    let mut deep =
        Instance::new(&m, Imports::new(), &Config::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        deep.call("f", &[Value::I64(9_999)]),
        Ok(vec![Value::I64(9_999)])
    );
    assert_eq!(
        deep.call("f", &[Value::I64(10_000)]),
        Err(CallError::Trap(Trap::CallStackExhausted))
    );
}

#[test]
fn builder_loops_with_parallel_moves() {
    // (a, b) = (b, a + b) n times: Fibonacci through a swap of block parameters.
    let mut mb = ModuleBuilder::new();
    let f = mb.declare_function("fib", &[Type::I32], &[Type::I64]);
    let mut fb = mb.function(f);
    let n = fb.params()[0];
    let head = fb.create_block();
    let i = fb.append_block_param(head, Type::I32);
    let a = fb.append_block_param(head, Type::I64);
    let b = fb.append_block_param(head, Type::I64);
    let body = fb.create_block();
    let exit = fb.create_block();
    let zero = fb.iconst(Type::I64, 0);
    let one = fb.iconst(Type::I64, 1);
    let zero32 = fb.iconst(Type::I32, 0);
    fb.jump(head, &[zero32, zero, one]);
    fb.switch_to_block(head);
    let more = fb.op(Opcode::IcmpUlt, Type::I32, &[i, n]);
    fb.brif(more, body, &[], exit, &[]);
    fb.switch_to_block(body);
    let sum = fb.op(Opcode::Iadd, Type::I64, &[a, b]);
    let one32 = fb.iconst(Type::I32, 1);
    let i1 = fb.op(Opcode::Iadd, Type::I32, &[i, one32]);
    fb.jump(head, &[i1, b, sum]);
    fb.switch_to_block(exit);
    fb.ret(&[a]);
    fb.finish();
    let m = mb.finish().unwrap_or_else(|e| panic!("{e}"));
    let mut inst =
        Instance::new(&m, Imports::new(), &Config::default()).unwrap_or_else(|e| panic!("{e}"));
    for (n, want) in [
        (0, 0),
        (1, 1),
        (2, 1),
        (10, 55),
        (50, 12_586_269_025),
        (90, 2_880_067_194_370_816_120),
    ] {
        assert_eq!(
            inst.call("fib", &[Value::I32(n)]),
            Ok(vec![Value::I64(want)]),
            "fib({n})"
        );
    }
}

#[test]
fn builder_misuse_is_a_verification_error() {
    let mut mb = ModuleBuilder::new();
    let f = mb.declare_function("f", &[Type::I32], &[Type::I32]);
    let mut fb = mb.function(f);
    let x = fb.params()[0];
    let y = fb.op(Opcode::Iadd, Type::I64, &[x, x]);
    fb.ret(&[y]);
    fb.finish();
    let e = mb.finish().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Verify);
    assert_eq!(e.to_string(), "<builder>: error: in `@f`, block `entry`: `iadd.i64` operand 1 (`v0`) has type i32, expected i64");

    let mut mb = ModuleBuilder::new();
    let f = mb.declare_function("f", &[], &[]);
    let fb = mb.function(f);
    fb.finish();
    let e = mb.finish().unwrap_err();
    assert_eq!(
        e.to_string(),
        "<builder>: error: in `@f`, block `entry`: block `entry` has no terminator"
    );

    let mut mb = ModuleBuilder::new();
    let f = mb.declare_function("f", &[], &[]);
    let mut fb = mb.function(f);
    let v = fb.iconst(Type::I32, 1);
    // A store has no result: `op` reports it through the verifier.
    let r = fb.op(Opcode::Store, Type::I32, &[v, v]);
    fb.ret(&[r]);
    fb.finish();
    assert!(mb.finish().is_err());
}

#[test]
fn traps_leave_the_instance_usable() {
    let src = "
func @div(i32, i32) -> i32 {
entry(v0: i32, v1: i32):
    v2 = sdiv.i32 v0, v1
    return v2
}
func @outer(i32, i32) -> i32 {
entry(v0: i32, v1: i32):
    v2 = call @div(v0, v1)
    v3 = call @div(v2, v1)
    return v3
}";
    let m = Module::from_text(src, "div.egir").unwrap_or_else(|e| panic!("{e}"));
    let mut inst =
        Instance::new(&m, Imports::new(), &Config::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        inst.call("outer", &[Value::I32(100), Value::I32(0)]),
        Err(CallError::Trap(Trap::DivideByZero))
    );
    assert_eq!(
        inst.call("outer", &[Value::I32(i32::MIN), Value::I32(-1)]),
        Err(CallError::Trap(Trap::IntegerOverflow))
    );
    assert_eq!(
        inst.call("outer", &[Value::I32(100), Value::I32(3)]),
        Ok(vec![Value::I32(11)])
    );
    assert_eq!(
        inst.call("outer", &[Value::I32(-100), Value::I32(3)]),
        Ok(vec![Value::I32(-11)])
    );
}

#[test]
fn a_module_without_memory_has_zero_pages_that_cannot_grow() {
    let src = "
func @grow(i32) -> i32 {
entry(v0: i32):
    v1 = memory.grow v0
    return v1
}
func @size() -> i32 {
entry:
    v0 = memory.size
    return v0
}";
    let m = Module::from_text(src, "nomem.egir").unwrap_or_else(|e| panic!("{e}"));
    let mut inst =
        Instance::new(&m, Imports::new(), &Config::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inst.call("size", &[]), Ok(vec![Value::I32(0)]));
    // Growing by nothing succeeds (old size 0); anything more is past the maximum of 0.
    assert_eq!(inst.call("grow", &[Value::I32(0)]), Ok(vec![Value::I32(0)]));
    assert_eq!(
        inst.call("grow", &[Value::I32(1)]),
        Ok(vec![Value::I32(-1)])
    );
    assert_eq!(inst.call("size", &[]), Ok(vec![Value::I32(0)]));
}

/// A compiled module is shared between threads, each compiling and running at once.
#[test]
fn compiled_modules_are_shared_and_compiled_from_several_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<egjit::CompiledModule>();
    send_sync::<egjit::Jit>();
    let src = "func @sq(i64) -> i64 {\nentry(v0: i64):\n    v1 = imul.i64 v0, v0\n    return v1\n}";
    let m = Module::from_text(src, "sq.egir").unwrap();
    let jit = egjit::Jit::new(Config::default()).unwrap();
    let shared = jit.compile(&m).unwrap();
    std::thread::scope(|s| {
        for t in 0..4i64 {
            let (jit, m, shared) = (&jit, &m, shared.clone());
            s.spawn(move || {
                let own = jit.compile(m).unwrap();
                for c in [own, shared] {
                    let mut inst = c.instantiate(Imports::new()).unwrap();
                    let got = inst.call("sq", &[Value::I64(t + 3)]).unwrap();
                    assert_eq!(got, vec![Value::I64((t + 3) * (t + 3))]);
                }
            });
        }
    });
}

/// The code memory of a dropped module is written again for the next one: modules
/// compiled, run and dropped in turn, from several threads, each run the code of its own
/// module and never that of one before it.
#[test]
fn modules_compiled_after_others_are_dropped_run_their_own_code() {
    let jit = egjit::Jit::new(Config::default()).unwrap();
    let src = |k: i64| {
        format!(
            "func @f(i64) -> i64 {{\nentry(v0: i64):\n    v1 = iconst.i64 {k}\n    v2 = imul.i64 v0, v1\n    return v2\n}}"
        )
    };
    std::thread::scope(|s| {
        for t in 0..3i64 {
            let jit = &jit;
            s.spawn(move || {
                for k in 0..40i64 {
                    let factor = 1000 * t + k;
                    let m = Module::from_text(&src(factor), "f.egir").unwrap();
                    let c = jit.compile(&m).unwrap();
                    let got = c.call("f", &[Value::I64(7)]).unwrap();
                    assert_eq!(got, vec![Value::I64(7 * factor)]);
                }
            });
        }
    });
}

fn compile(src: &str, single_op: bool) -> CompiledModule {
    let m = Module::from_text(src, "t.egir").unwrap_or_else(|e| panic!("{e}"));
    let config = Config {
        single_op,
        ..Config::default()
    };
    Jit::new(config)
        .and_then(|j| j.compile(&m))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn typed_calls_on_both_jit_engines() {
    let fib = std::fs::read_to_string("tests/programs/fib.egir").expect("fib");
    for single_op in [false, true] {
        let compiled = compile(&fib, single_op);
        let fib64 = compiled.typed::<(i64,), i64>("fib64").expect("typed fib64");
        // Fibonacci numbers, by hand: F(30) = 832040, F(40) = 102334155.
        assert_eq!(fib64.call((30,)).expect("fib64 30"), 832_040);
        assert_eq!(fib64.call((40,)).expect("fib64 40"), 102_334_155);
        let fib32 = compiled
            .typed::<(u32,), u32>("fib")
            .expect("typed fib, unsigned");
        assert_eq!(fib32.call((20,)).expect("fib 20"), 6765);
        // The untyped call on the module runs the same code.
        assert_eq!(
            compiled.call("fib", &[Value::I32(10)]).expect("fib 10"),
            vec![Value::I32(55)]
        );
    }
}

#[test]
fn typed_signatures_are_checked_once() {
    let compiled = compile(
        &std::fs::read_to_string("tests/programs/fib.egir").expect("fib"),
        false,
    );
    match compiled.typed::<(i32,), i32>("fib64") {
        Err(CallError::BadArguments { func, found, .. }) => {
            assert_eq!(func, "fib64");
            assert_eq!(found, vec![Type::I32]);
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("i32 parameters accepted for an i64 function"),
    }
    match compiled.typed::<(i64,), (i64, i64)>("fib64") {
        Err(e @ CallError::BadResults { .. }) => {
            assert_eq!(e.to_string(), "`@fib64` returns (i64), not (i64, i64)")
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("two results accepted for one"),
    }
    assert!(matches!(
        compiled.typed::<(), ()>("nope"),
        Err(CallError::NoSuchFunction(n)) if n == "nope"
    ));
    match compiled.call("fib", &[Value::I64(3)]) {
        Err(CallError::BadArguments { found, .. }) => assert_eq!(found, vec![Type::I64]),
        other => panic!("an i64 passed for an i32: {other:?}"),
    }
}

#[test]
fn the_modules_own_instance_keeps_its_memory_and_survives_traps() {
    let src = "
memory 1
func @put(i32, i64) {
entry(v0: i32, v1: i64):
    store.i64 v0, v1
    return
}
func @get(i32) -> i64 {
entry(v0: i32):
    v1 = load.i64 v0
    return v1
}
func @pair(i32, i64) -> i64, i32 {
entry(v0: i32, v1: i64):
    return v1, v0
}
";
    for single_op in [false, true] {
        let compiled = compile(src, single_op);
        let put = compiled.typed::<(i32, i64), ()>("put").expect("put");
        let get = compiled.typed::<(i32,), i64>("get").expect("get");
        put.call((8, -5)).expect("put");
        // A clone shares the instance.
        assert_eq!(
            compiled.clone().call("get", &[Value::I32(8)]).expect("get"),
            vec![Value::I64(-5)]
        );
        // 65536 - 8 + 8 bytes: past the one page.
        assert_eq!(get.call((65_529,)), Err(CallError::Trap(Trap::OutOfBounds)));
        assert_eq!(get.call((8,)).expect("get after a trap"), -5);
        let pair = compiled
            .typed::<(i32, i64), (i64, i32)>("pair")
            .expect("pair");
        assert_eq!(pair.call((-1, 7)).expect("pair"), (7, -1));
        // A separate instance has its own memory, zeroed.
        let mut other = compiled.instantiate(Imports::new()).expect("instance");
        assert_eq!(
            get.call_in(&mut other, (8,))
                .expect("get in another instance"),
            0
        );
        let foreign = compile(src, single_op);
        let mut foreign = foreign.instantiate(Imports::new()).expect("instance");
        match get.call_in(&mut foreign, (8,)) {
            Err(e @ CallError::WrongInstance(_)) => assert_eq!(
                e.to_string(),
                "`@get` was called on an instance of another compiled module"
            ),
            other => panic!("ran on another module's instance: {other:?}"),
        }
    }
}

#[test]
fn a_module_with_imports_needs_an_instance_to_call() {
    let compiled = compile(COUNTER, false);
    match compiled.call("load", &[Value::I32(0)]) {
        Err(CallError::Instantiate(e)) => {
            assert_eq!(e.kind, ErrorKind::Link);
            assert!(
                e.to_string()
                    .contains("import `@host.read` is not provided"),
                "{e}"
            );
        }
        other => panic!("called without imports: {other:?}"),
    }
}

/// A function whose frame holds `width` values, recursing `depth` deep: `rec(d)` is `d`
/// (each level adds `width - 7` ones to the inner result and takes `width - 8` back).
fn wide_recursion(width: u32) -> String {
    let mut s = String::from(
        "func @rec(i32) -> i32 {\nentry(v0: i32):\n    v1 = iconst.i32 0\n    v2 = icmp.eq.i32 v0, v1\n    brif v2, done, more\ndone:\n    return v1\nmore:\n    v3 = iconst.i32 1\n    v4 = isub.i32 v0, v3\n    v5 = call @rec(v4)\n",
    );
    let mut acc = 5;
    for v in 6..width - 2 {
        s.push_str(&format!("    v{v} = iadd.i32 v{acc}, v3\n"));
        acc = v;
    }
    let (k, r) = (width - 2, width - 1);
    s.push_str(&format!(
        "    v{k} = iconst.i32 {}\n    v{r} = isub.i32 v{acc}, v{k}\n    return v{r}\n}}\n",
        width - 9
    ));
    s
}

/// The call-depth limit holds whatever the frames' size: 10,000 nested calls of a
/// function of 7,000 values (over 512 MiB of frames on single-op and the interpreter)
/// run on every engine, and the 10,001st traps on every engine.
#[test]
fn deep_recursion_with_wide_frames_runs_to_the_depth_limit_on_every_engine() {
    let src = wide_recursion(7000);
    let m = Module::from_text(&src, "wide.egir").unwrap_or_else(|e| panic!("{e}"));
    // `rec(9999)` makes 10,000 nested calls, counting the exported one.
    let within = [Value::I32(9999)];
    let past = [Value::I32(10_000)];
    let exhausted = |r: Result<Vec<Value>, CallError>| match r {
        Err(CallError::Trap(t)) => t.to_string() == "call stack exhausted",
        _ => false,
    };
    {
        let mut interp =
            Instance::new(&m, Imports::new(), &Config::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            interp.call("rec", &within).expect("interp"),
            [Value::I32(9999)]
        );
        assert!(exhausted(interp.call("rec", &past)));
    }
    for single_op in [false, true] {
        let compiled = compile(&src, single_op);
        assert_eq!(
            compiled.call("rec", &within).expect("jit"),
            [Value::I32(9999)],
            "single_op {single_op}"
        );
        assert!(
            exhausted(compiled.call("rec", &past)),
            "single_op {single_op}"
        );
    }
}

/// A module built in code may number its values as it likes: here the entry block's
/// parameters are values 2 and 0, not 0 and 1, and a constant is value 1. Every engine
/// must read the arguments from the parameters it names.
#[test]
fn entry_parameters_numbered_out_of_order_take_the_arguments() {
    let src = "func @f(i64, i64) -> i64 {
entry(v0: i64, v1: i64):
    v2 = iconst.i64 100
    v3 = isub.i64 v0, v1
    v4 = iadd.i64 v3, v2
    return v4
}
";
    let mut m = Module::from_text(src, "t.egir").unwrap_or_else(|e| panic!("{e}"));
    // Renumber: old v0 → 2, old v1 → 0, old v2 → 1; the text's v0 stays the first
    // parameter and v1 the second.
    let body = m.funcs[0].body.as_mut().expect("a body");
    let renumber = |v: egjit::ir::Value| egjit::ir::Value([2, 0, 1, 3, 4][v.0 as usize]);
    let mut values = body.values.clone();
    for (old, data) in body.values.iter().enumerate() {
        values[renumber(egjit::ir::Value(old as u32)).0 as usize] = data.clone();
    }
    body.values = values;
    for b in &mut body.blocks {
        b.params.iter_mut().for_each(|p| *p = renumber(*p));
        for inst in &mut b.insts {
            inst.args.iter_mut().for_each(|a| *a = renumber(*a));
            inst.results.iter_mut().for_each(|r| *r = renumber(*r));
        }
        if let Some(egjit::ir::Terminator {
            kind: egjit::ir::TermKind::Return(vals),
            ..
        }) = &mut b.term
        {
            vals.iter_mut().for_each(|v| *v = renumber(*v));
        }
    }
    assert_eq!(
        m.funcs[0].body.as_ref().expect("a body").blocks[0].params,
        vec![egjit::ir::Value(2), egjit::ir::Value(0)]
    );
    // f(10, 3) = 10 - 3 + 100 = 107.
    let want = vec![Value::I64(107)];
    let args = [Value::I64(10), Value::I64(3)];
    for single_op in [false, true] {
        let jit = Jit::new(Config {
            single_op,
            ..Config::default()
        })
        .expect("jit");
        let compiled = jit.compile(&m).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            compiled.call("f", &args).expect("call"),
            want,
            "single_op {single_op}"
        );
    }
    let mut interp = Instance::new(&m, Imports::new(), &Config::default()).expect("instance");
    assert_eq!(interp.call("f", &args).expect("interp"), want);
}
