//! Every stencil runs in isolation: copied into executable memory, its holes patched, run
//! on a frame, and compared with the reference interpreter on edge values.

use egjit::runtime::CodeBuffer;
use egjit::stencil::abi::{Ctx, StencilFn};
use egjit::stencil::{patch, HoleValue, Kind, Stencil, STENCILS};
use egjit::{Config, Imports, Instance, Module, Type, Value};

/// Frame layout of the harness: operand `i` in slot `i`, the result in slot 3.
const RESULT_SLOT: usize = 3;
/// What the harness's taken-branch landing returns (the `trap` stencil's code).
const TAKEN: u64 = 4;

/// Runs `stencil` with operand values `ops` (slots or immediates by its kinds) and
/// returns (what it returned, the result slot). Continue lands on `ret` (returns 0), a
/// taken branch on `trap` (returns 4).
fn run(stencil: &'static Stencil, ops: &[u64]) -> Result<(u64, u64), String> {
    run_with(stencil, ops, 0, &mut [])
}

/// [`run`] with a memory access offset and a linear memory.
fn run_with(
    stencil: &'static Stencil,
    ops: &[u64],
    offset: u32,
    mem: &mut [u8],
) -> Result<(u64, u64), String> {
    let ret = Stencil::by_name("ret").ok_or("no `ret` stencil")?;
    let taken = Stencil::by_name("trap").ok_or("no `trap` stencil")?;
    let mut buf = CodeBuffer::new(4096).map_err(|e| e.to_string())?;
    let at = buf.push(stencil.code).ok_or("too big")?;
    let cont = buf.push(ret.code).ok_or("too big")?;
    let target = buf.push(taken.code).ok_or("too big")?;
    let (cont, target, base) = (buf.address(cont), buf.address(target), buf.address(at));
    let code = buf.written_mut();
    for hole in stencil.holes {
        let value: i64 = match hole.value {
            HoleValue::Operand(n) => match stencil.kinds[n as usize] {
                Kind::Slot => 8 * n as i64,
                Kind::Imm => ops[n as usize] as i64,
            },
            HoleValue::Result => 8 * RESULT_SLOT as i64,
            HoleValue::Offset => offset as i64,
            HoleValue::Continue => cont as i64,
            HoleValue::Target => target as i64,
        };
        patch(stencil, hole, &mut code[at..], base, value).map_err(|e| e.to_string())?;
    }
    let exec = buf.finish().map_err(|e| e.to_string())?;
    let mut frame = [0u64; 4];
    for (i, (&v, &k)) in ops.iter().zip(stencil.kinds).enumerate() {
        if k == Kind::Slot {
            frame[i] = v;
        }
    }
    frame[RESULT_SLOT] = 0xdead_beef_dead_beef;
    let mut ctx = Ctx {
        mem_size: mem.len() as u64,
        ..Ctx::default()
    };
    // SAFETY: the code is a complete stencil followed by its continuation and target,
    // patched for this frame; the frame has the four slots it uses.
    let status = unsafe {
        let f: StencilFn = std::mem::transmute::<u64, StencilFn>(exec.address(at));
        f(frame.as_mut_ptr().cast(), mem.as_mut_ptr(), &mut ctx)
    };
    Ok((status, frame[RESULT_SLOT]))
}

const EDGES_32: &[i64] = &[
    0,
    1,
    -1,
    2,
    31,
    32,
    33,
    i32::MIN as i64,
    i32::MAX as i64,
    0x5555_5555,
    -0x1234_5678,
    0x80,
    0x7fff,
    0x8000,
];
const EDGES_64: &[i64] = &[
    0,
    1,
    -1,
    2,
    63,
    64,
    65,
    i64::MIN,
    i64::MAX,
    i32::MIN as i64,
    i32::MAX as i64,
    0x1_0000_0000,
    -0x1234_5678_9abc_def0,
    0x8000_0000,
];

fn value(ty: Type, v: i64) -> Value {
    match ty {
        Type::I32 => Value::I32(v as i32),
        Type::I64 => Value::I64(v),
    }
}

/// The reference: the interpreter on a one-operation function.
fn reference(stencil: &Stencil, args: &[Value]) -> Result<Option<Value>, String> {
    let types: Vec<Type> = args.iter().map(|a| a.ty()).collect();
    let decl: Vec<String> = args
        .iter()
        .enumerate()
        .map(|(i, a)| format!("v{i}: {}", a.ty()))
        .collect();
    let uses: Vec<String> = (0..args.len()).map(|i| format!("v{i}")).collect();
    let opcode = stencil.opcode.ok_or("no opcode")?;
    let ty = stencil.ty.ok_or("no type")?;
    let result = opcode.info().results[0].resolve(ty);
    let src = format!(
        "func @f({}) -> {result} {{\nentry({}):\n    v9 = {}.{ty} {}\n    return v9\n}}",
        egjit::ir::type_list(&types),
        decl.join(", "),
        opcode.name(),
        uses.join(", ")
    );
    let m = Module::from_text(&src, "reference").map_err(|e| e.to_string())?;
    let mut inst =
        Instance::new(&m, Imports::new(), &Config::default()).map_err(|e| e.to_string())?;
    match inst.call("f", args) {
        Ok(v) => Ok(v.first().copied()),
        Err(egjit::CallError::Trap(t)) => Err(t.to_string()),
        Err(e) => Err(format!("reference failed: {e}")),
    }
}

fn trap_message(code: u64) -> String {
    match code {
        1 => "integer divide by zero",
        2 => "integer overflow",
        3 => "out of bounds memory access",
        4 => "unreachable",
        _ => "?",
    }
    .to_string()
}

#[test]
fn every_compute_stencil_matches_the_reference_on_edge_values() {
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut stencils = 0;
    for s in STENCILS {
        let Some(op) = s.opcode else { continue };
        let info = op.info();
        // Pure operations and the trapping divisions; memory and calls are tested below.
        let compute = op.is_pure() || (op.may_trap() && !op.touches_memory());
        if !compute {
            continue;
        }
        if info.imm != egjit::ir::oplist::Imm::None {
            continue; // Constants: their own test.
        }
        let ty = s.ty.unwrap_or(Type::I32);
        let types: Vec<Type> = info.params.iter().map(|p| p.resolve(ty)).collect();
        stencils += 1;
        // Every combination of edge values for up to two operands; a select condition
        // takes 0, 1 and -1.
        let pools: Vec<Vec<i64>> = types
            .iter()
            .zip(s.kinds)
            .enumerate()
            .map(|(i, (&t, &k))| {
                let base = if i == 0 && op == egjit::ir::Opcode::Select {
                    &[0, 1, -1][..]
                } else if t == Type::I32 {
                    EDGES_32
                } else {
                    EDGES_64
                };
                base.iter()
                    .copied()
                    .filter(|&v| {
                        k == Kind::Slot
                            || t == Type::I32
                            || (i32::MIN as i64..=i32::MAX as i64).contains(&v)
                    })
                    .collect()
            })
            .collect();
        let mut combos: Vec<Vec<i64>> = vec![vec![]];
        for pool in &pools {
            combos = combos
                .iter()
                .flat_map(|c| pool.iter().map(move |&v| [c.clone(), vec![v]].concat()))
                .collect();
        }
        for combo in combos {
            cases += 1;
            let args: Vec<Value> = types
                .iter()
                .zip(&combo)
                .map(|(&t, &v)| value(t, v))
                .collect();
            let bits: Vec<u64> = args.iter().map(|a| a.to_bits()).collect();
            let want = reference(s, &args);
            let got = run(s, &bits);
            let result_ty = info.results[0].resolve(ty);
            let got = match got {
                Ok((0, r)) => Ok(Some(Value::from_bits(result_ty, r))),
                Ok((code, _)) => Err(trap_message(code)),
                Err(e) => Err(format!("harness: {e}")),
            };
            if got != want {
                failures.push(format!(
                    "{} {:?}: stencil {:?}, reference {:?}",
                    s.name, args, got, want
                ));
            }
        }
    }
    assert!(
        stencils > 150 && cases > 10_000,
        "only {stencils} stencils, {cases} cases"
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
}

const PAGE: usize = 65536;

/// Bytes 0..16 and the last 8 bytes of the one-page memory of the memory tests.
fn memory_image() -> Vec<u8> {
    let mut m = vec![0u8; PAGE];
    for (i, b) in m.iter_mut().take(16).enumerate() {
        *b = 0x80 | (i as u8 * 17);
    }
    for (i, b) in m[PAGE - 8..].iter_mut().enumerate() {
        *b = 0xf0 + i as u8;
    }
    m
}

fn data_segments() -> String {
    let hex = |bytes: &[u8]| {
        bytes
            .iter()
            .map(|b| format!("\\{b:02x}"))
            .collect::<String>()
    };
    let m = memory_image();
    format!(
        "memory 1\ndata 0 \"{}\"\ndata {} \"{}\"\n",
        hex(&m[..16]),
        PAGE - 8,
        hex(&m[PAGE - 8..])
    )
}

#[test]
fn memory_stencils_match_the_reference() {
    let addresses: &[u32] = &[
        0,
        1,
        3,
        7,
        8,
        65528,
        65532,
        65534,
        65535,
        65536,
        0xffff_fffc,
        0xffff_ffff,
    ];
    let offsets: &[u32] = &[0, 1, 4, 65535, 0xffff_ffff];
    let values: &[i64] = &[0, -1, 0x0123_4567_89ab_cdef, i32::MIN as i64, 0x7f];
    let mut failures = Vec::new();
    let mut cases = 0;
    for s in STENCILS {
        let Some(op) = s.opcode else { continue };
        let info = op.info();
        if info.imm != egjit::ir::oplist::Imm::Offset {
            continue;
        }
        let ty = s.ty.unwrap_or(Type::I32);
        let mnemonic = format!("{}.{}", info.name, ty);
        let is_store = info.results.is_empty();
        let vals: Vec<i64> = if is_store {
            values
                .iter()
                .copied()
                .filter(|&v| {
                    s.kinds[1] == Kind::Slot || (i32::MIN as i64..=i32::MAX as i64).contains(&v)
                })
                .collect()
        } else {
            vec![0]
        };
        for &addr in addresses {
            for &off in offsets {
                for &v in &vals {
                    cases += 1;
                    let val = value(ty, v);
                    let src = if is_store {
                        format!("{}func @f(i32, {ty}) {{\nentry(v0: i32, v1: {ty}):\n    {mnemonic} v0, v1, {off}\n    return\n}}", data_segments())
                    } else {
                        format!("{}func @f(i32) -> {ty} {{\nentry(v0: i32):\n    v1 = {mnemonic} v0, {off}\n    return v1\n}}", data_segments())
                    };
                    let m = Module::from_text(&src, "reference").unwrap_or_else(|e| panic!("{e}"));
                    let mut inst = Instance::new(&m, Imports::new(), &Config::default())
                        .unwrap_or_else(|e| panic!("{e}"));
                    let args: Vec<Value> = if is_store {
                        vec![Value::I32(addr as i32), val]
                    } else {
                        vec![Value::I32(addr as i32)]
                    };
                    let want = match inst.call("f", &args) {
                        Ok(r) => Ok(r.first().copied()),
                        Err(egjit::CallError::Trap(t)) => Err(t.to_string()),
                        Err(e) => panic!("{e}"),
                    };
                    let mut mem = memory_image();
                    let bits: Vec<u64> = args.iter().map(|a| a.to_bits()).collect();
                    let got = match run_with(s, &bits, off, &mut mem) {
                        Ok((0, r)) => Ok((!is_store).then(|| Value::from_bits(ty, r))),
                        Ok((code, _)) => Err(trap_message(code)),
                        Err(e) => Err(format!("harness: {e}")),
                    };
                    if got != want || mem != inst.memory() {
                        failures.push(format!("{} addr {addr:#x} off {off:#x} value {v:#x}: stencil {got:?}, reference {want:?}, memories equal: {}", s.name, mem == inst.memory()));
                    }
                }
            }
        }
    }
    assert!(cases > 1000, "only {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
}

/// One case per line: stencil, operands, expected (status, result slot), by hand.
#[test]
fn control_constant_and_move_stencils() {
    let untouched = 0xdead_beef_dead_beef;
    let cases: &[(&str, &[u64], (u64, u64))] = &[
        ("brif_i32_s", &[1], (TAKEN, untouched)),
        ("brif_i32_s", &[0], (0, untouched)),
        ("brif_i32_s", &[0x8000_0000], (TAKEN, untouched)),
        // Only the low 32 bits of an i32 condition count.
        ("brif_i32_s", &[0x1_0000_0000], (0, untouched)),
        ("brif_i64_s", &[0x1_0000_0000], (TAKEN, untouched)),
        ("brif_i64_s", &[0], (0, untouched)),
        ("jump", &[], (0, untouched)),
        ("ret", &[], (0, untouched)),
        ("trap", &[], (4, untouched)),
        (
            "copy_s",
            &[0x0123_4567_89ab_cdef],
            (0, 0x0123_4567_89ab_cdef),
        ),
        // An i32 constant is kept zero-extended; an i64 immediate is sign-extended.
        ("iconst_i32", &[0xffff_ffff], (0, 0x0000_0000_ffff_ffff)),
        ("iconst_i32", &[7], (0, 7)),
        ("iconst_i64", &[0xffff_ffff], (0, 0xffff_ffff_ffff_ffff)),
        ("iconst_i64", &[0x7fff_ffff], (0, 0x7fff_ffff)),
        (
            "iconst_i64_wide",
            &[0x89ab_cdef, 0x0123_4567],
            (0, 0x0123_4567_89ab_cdef),
        ),
        (
            "iconst_i64_wide",
            &[0xffff_ffff, 0x7fff_ffff],
            (0, 0x7fff_ffff_ffff_ffff),
        ),
    ];
    let mut failures = Vec::new();
    for &(name, ops, want) in cases {
        let s = Stencil::by_name(name).unwrap_or_else(|| panic!("no stencil `{name}`"));
        match run(s, ops) {
            Ok(got) if got == want => {}
            other => failures.push(format!("{name} {ops:x?}: got {other:x?}, want {want:x?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn patching_out_of_range_is_an_error_that_names_stencil_and_hole() {
    let s = Stencil::by_name("iadd_i64_si").expect("iadd_i64_si");
    let mut code = s.code.to_vec();
    let imm = s
        .holes
        .iter()
        .find(|h| h.value == HoleValue::Operand(1))
        .expect("an immediate hole");
    let slot = s
        .holes
        .iter()
        .find(|h| h.value == HoleValue::Result)
        .expect("a result hole");
    let cont = s
        .holes
        .iter()
        .find(|h| h.value == HoleValue::Continue)
        .expect("a continuation");
    // An immediate takes any i32 or u32 value, nothing wider.
    assert!(patch(s, imm, &mut code, 0, -1).is_ok());
    assert!(patch(s, imm, &mut code, 0, u32::MAX as i64).is_ok());
    let before = code.clone();
    let e = patch(s, imm, &mut code, 0, 1 << 32).expect_err("2^32 is not an immediate");
    assert_eq!(code, before, "a failed patch changes nothing");
    assert_eq!(e.to_string(), format!("stencil `iadd_i64_si`, hole Operand(1) at offset {} (Abs32): value 4294967296 does not fit (-2147483648 to 4294967295)", imm.offset));
    // A slot displacement is signed 32 bits.
    assert!(patch(s, slot, &mut code, 0, i32::MAX as i64).is_ok());
    assert!(patch(s, slot, &mut code, 0, 1 << 31).is_err());
    // A jump reaches +-2 GiB from the end of its field.
    let end = cont.offset as i64 + 4;
    assert!(patch(s, cont, &mut code, 0, end + i32::MAX as i64).is_ok());
    assert!(patch(s, cont, &mut code, 0, end + i32::MAX as i64 + 1).is_err());
    assert!(patch(
        s,
        cont,
        &mut code,
        1 << 40,
        (1 << 40) + end + i32::MIN as i64
    )
    .is_ok());
    // Bits outside the field are kept.
    let mut code = s.code.to_vec();
    patch(s, imm, &mut code, 0, 0x1234_5678).expect("fits");
    let o = imm.offset as usize;
    assert_eq!(&code[o..o + 4], &[0x78, 0x56, 0x34, 0x12]);
    assert_eq!(&code[..o], &s.code[..o]);
    assert_eq!(&code[o + 4..], &s.code[o + 4..]);
}

#[test]
fn library_listing_snapshot() {
    let listing = egjit::stencil::listing(true);
    // Every operation of the table has a stencil (calls and memory.grow come with the
    // runtime helpers).
    for info in egjit::ir::OPS {
        if info.opcode.needs_helper() {
            continue;
        }
        assert!(
            STENCILS.iter().any(|s| s.opcode == Some(info.opcode)),
            "no stencil for `{}`",
            info.name
        );
    }
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("stencil_library", listing);
    });
}
