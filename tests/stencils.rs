//! Every stencil runs in isolation: copied into executable memory, its holes patched, run
//! on a frame, and compared with the reference interpreter on edge values.

use egjit::runtime::CodeBuffer;
use egjit::stencil::abi::{Ctx, GrowHelper, ImportHelper, StencilFn};
use egjit::stencil::{patch, HoleValue, Kind, Stencil, STENCILS};
use egjit::{Config, Imports, Instance, Module, Type, Value};

/// Frame layout of the harness: operand `i` in slot `i`, the result in slot 4.
const RESULT_SLOT: usize = 4;
/// What the harness's taken-branch landing returns (the `trap` stencil's code).
const TAKEN: u64 = 4;

/// A test's code region: stencil copies and data slots, patched, then made executable.
struct Rig {
    buf: CodeBuffer,
    placed: Vec<(usize, &'static Stencil)>,
}

impl Rig {
    fn new() -> Rig {
        Rig {
            buf: CodeBuffer::new(1 << 16).expect("code memory"),
            placed: Vec::new(),
        }
    }

    /// Copies `s` in; returns its offset.
    fn place(&mut self, s: &'static Stencil) -> usize {
        let at = self.buf.push(s.code).expect("room for code");
        self.placed.push((at, s));
        at
    }

    /// Copies the stencil called `name` in.
    fn place_named(&mut self, name: &str) -> usize {
        self.place(Stencil::by_name(name).unwrap_or_else(|| panic!("no stencil `{name}`")))
    }

    /// An 8-byte aligned data slot holding `words`; returns its offset.
    fn data(&mut self, words: &[u64]) -> usize {
        self.buf.align(8).expect("room for data");
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.buf.push(&bytes).expect("room for data")
    }

    fn address(&self, offset: usize) -> u64 {
        self.buf.address(offset)
    }

    /// Rewrites word `i` of the data at `offset`.
    fn set_word(&mut self, offset: usize, i: usize, w: u64) {
        let at = offset + 8 * i;
        self.buf.written_mut()[at..at + 8].copy_from_slice(&w.to_le_bytes());
    }

    /// Patches every hole of the copy at `at` with `value(hole)`.
    fn patch(&mut self, at: usize, value: impl Fn(HoleValue) -> i64) -> Result<(), String> {
        let s = self
            .placed
            .iter()
            .find(|p| p.0 == at)
            .ok_or("nothing placed there")?
            .1;
        let base = self.buf.address(at);
        let code = &mut self.buf.written_mut()[at..];
        for hole in s.holes {
            patch(s, hole, code, base, value(hole.value)).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Makes the region executable and calls the code at `at` as the first stencil of a
    /// function; returns its status.
    fn run(self, at: usize, frame: &mut [u64], mem: *mut u8, ctx: &mut Ctx) -> Result<u64, String> {
        let exec = self.buf.finish().map_err(|e| e.to_string())?;
        // SAFETY: every copy in the region is a complete stencil with all holes patched
        // to code and data of the region and slots of `frame`, which the caller sized.
        Ok(unsafe {
            let f: StencilFn = std::mem::transmute::<u64, StencilFn>(exec.address(at));
            f(frame.as_mut_ptr().cast(), mem, ctx)
        })
    }
}

/// Places `stencil` followed by its continuation (`ret`) and taken target (`trap`), and
/// patches operands as the harness frame has them.
fn rig(stencil: &'static Stencil, ops: &[u64], offset: u32) -> Result<(Rig, usize), String> {
    let mut rig = Rig::new();
    let at = rig.place(stencil);
    let cont = rig.place_named("ret");
    let target = rig.place_named("trap");
    let (cont, target) = (rig.address(cont) as i64, rig.address(target) as i64);
    rig.patch(at, |h| match h {
        HoleValue::Operand(n) => match stencil.kinds[n as usize] {
            Kind::Slot => 8 * n as i64,
            Kind::Imm => ops[n as usize] as i64,
        },
        HoleValue::Result => 8 * RESULT_SLOT as i64,
        HoleValue::Offset => offset as i64,
        HoleValue::Continue => cont,
        HoleValue::Target => target,
        other => panic!("{}: the plain harness has no {other:?}", stencil.name),
    })?;
    Ok((rig, at))
}

/// The harness frame for `ops`: slot operands in their slots, a marker in the result.
fn frame_for(stencil: &Stencil, ops: &[u64]) -> [u64; 5] {
    let mut frame = [0u64; 5];
    for (i, (&v, &k)) in ops.iter().zip(stencil.kinds).enumerate() {
        if k == Kind::Slot {
            frame[i] = v;
        }
    }
    frame[RESULT_SLOT] = UNTOUCHED;
    frame
}

const UNTOUCHED: u64 = 0xdead_beef_dead_beef;

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
    let (rig, at) = rig(stencil, ops, offset)?;
    let mut frame = frame_for(stencil, ops);
    let mut ctx = Ctx {
        mem_size: mem.len() as u64,
        mem_base: mem.as_mut_ptr(),
        ..Ctx::default()
    };
    let status = rig.run(at, &mut frame, mem.as_mut_ptr(), &mut ctx)?;
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

/// The values of `base` an operand of kind `k` and type `t` can take (an `i64`
/// immediate only sign-extends from 32 bits).
fn fitting(base: &[i64], k: Kind, t: Type) -> Vec<i64> {
    base.iter()
        .copied()
        .filter(|&v| {
            k == Kind::Slot || t == Type::I32 || (i32::MIN as i64..=i32::MAX as i64).contains(&v)
        })
        .collect()
}

/// Every combination of one value from each pool.
fn product(pools: &[Vec<i64>]) -> Vec<Vec<i64>> {
    let mut combos: Vec<Vec<i64>> = vec![vec![]];
    for pool in pools {
        combos = combos
            .iter()
            .flat_map(|c| pool.iter().map(move |&v| [c.clone(), vec![v]].concat()))
            .collect();
    }
    combos
}

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
                fitting(base, k, t)
            })
            .collect();
        for combo in product(&pools) {
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
    let untouched = UNTOUCHED;
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
    // Every operation of the table has a stencil, every terminator too.
    for info in egjit::ir::OPS {
        assert!(
            STENCILS.iter().any(|s| s.opcode == Some(info.opcode)),
            "no stencil for `{}`",
            info.name
        );
    }
    for pattern in [
        "(jump)",
        "(brif ?a)",
        "(br_table ?a)",
        "(return)",
        "(trap)",
        "(call ?f)",
        "(call.import ?f)",
    ] {
        assert!(
            STENCILS.iter().any(|s| s.pattern == pattern),
            "no stencil for `{pattern}`"
        );
    }
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("stencil_library", listing);
    });
}

/// The frame of the call tests: the caller has 4 slots (32 bytes), its callee's frame
/// starts at slot 4.
const CALLER_FRAME: i64 = 32;

/// Places the probe a caller continues with after a call: `load_i32_s` of address 0
/// (slot 2 holds 0) into slot 3, so a test sees which memory base it continued with,
/// then `ret`. Returns the load's offset; `ret` is `rig.placed[2]`.
fn place_probe(rig: &mut Rig) -> usize {
    let load = rig.place_named("load_i32_s");
    let ret = rig.place_named("ret");
    let ret = rig.address(ret) as i64;
    rig.patch(load, |h| match h {
        HoleValue::Operand(0) => 2 * 8,
        HoleValue::Offset => 0,
        HoleValue::Result => 3 * 8,
        HoleValue::Continue => ret,
        other => panic!("load: unexpected {other:?}"),
    })
    .expect("patch load");
    load
}

/// A caller running `call` then a continuation that loads the i32 at address 0 of
/// memory into slot 3 (so the test sees which memory base the caller continued with),
/// then `ret`; the callee is `callee` (patched by `patch_callee`) and the descriptor has
/// `callee_frame` bytes. Returns the rig, the caller's offset, the callee's offset and
/// the descriptor's offset.
fn call_rig(
    callee: &str,
    callee_frame: u64,
    patch_callee: impl Fn(HoleValue, &Rig) -> i64,
) -> (Rig, usize, usize, usize) {
    let mut rig = Rig::new();
    let call = rig.place_named("call");
    let load = place_probe(&mut rig);
    let callee_at = rig.place_named(callee);
    let desc = rig.data(&[0, callee_frame]);
    let entry = rig.address(callee_at);
    rig.set_word(desc, 0, entry);
    let (desc_addr, load_addr) = (rig.address(desc) as i64, rig.address(load) as i64);
    rig.patch(call, |h| match h {
        HoleValue::FrameSize => CALLER_FRAME,
        HoleValue::Callee => desc_addr,
        HoleValue::Continue => load_addr,
        other => panic!("call: unexpected {other:?}"),
    })
    .expect("patch call");
    let values: Vec<(HoleValue, i64)> = rig.placed[3]
        .1
        .holes
        .iter()
        .map(|h| (h.value, patch_callee(h.value, &rig)))
        .collect();
    rig.patch(callee_at, |h| {
        values.iter().find(|v| v.0 == h).map(|v| v.1).expect("hole")
    })
    .expect("patch callee");
    (rig, call, callee_at, desc)
}

/// Two memories: the one the caller was entered with and the one `ctx` names, told apart
/// by their first word.
fn two_memories() -> (Vec<u8>, Vec<u8>) {
    let mut old = vec![0u8; 8];
    old[..4].copy_from_slice(&0x1111_1111u32.to_le_bytes());
    let mut new = vec![0u8; 8];
    new[..4].copy_from_slice(&0x2222_2222u32.to_le_bytes());
    (old, new)
}

#[test]
fn call_enters_the_callee_on_the_next_frame_and_continues_with_memory_from_the_context() {
    // The callee adds its slots 0 and 1 into its slot 0 and returns.
    let (rig, call, _, _) = call_rig("iadd_i64_ss", 16, |h, rig| match h {
        HoleValue::Operand(0) => 0,
        HoleValue::Operand(1) => 8,
        HoleValue::Result => 0,
        HoleValue::Continue => rig.address(rig.placed[2].0) as i64, // the caller's `ret`
        other => panic!("iadd: unexpected {other:?}"),
    });
    let (mut old, mut new) = two_memories();
    // Caller slots 0..4; callee slots 4 and 5 hold the arguments; one spare slot.
    let mut frame = [7, 7, 0, UNTOUCHED, 40, 2, UNTOUCHED];
    let mut ctx = Ctx {
        mem_size: 8,
        depth: 1,
        max_depth: 2,
        frame_end: frame.as_ptr() as u64 + 48,
        mem_base: new.as_mut_ptr(),
        ..Ctx::default()
    };
    let status = rig
        .run(call, &mut frame, old.as_mut_ptr(), &mut ctx)
        .expect("run");
    assert_eq!(status, 0);
    assert_eq!(frame, [7, 7, 0, 0x2222_2222, 42, 2, UNTOUCHED]);
    assert_eq!(ctx.depth, 1, "the depth is back after the call");
}

#[test]
fn call_checks_depth_and_frame_stack_before_entering() {
    let run = |depth: u64, max_depth: u64, end_slots: u64| {
        let (rig, call, _, _) = call_rig("iconst_i32", 16, |h, rig| match h {
            HoleValue::Operand(0) => 99,
            HoleValue::Result => 0,
            HoleValue::Continue => rig.address(rig.placed[2].0) as i64,
            other => panic!("iconst: unexpected {other:?}"),
        });
        let (mut old, _) = two_memories();
        let mut frame = [0u64, 0, 0, UNTOUCHED, UNTOUCHED, UNTOUCHED];
        let mut ctx = Ctx {
            mem_size: 8,
            depth,
            max_depth,
            frame_end: frame.as_ptr() as u64 + 8 * end_slots,
            mem_base: old.as_mut_ptr(),
            ..Ctx::default()
        };
        let status = rig
            .run(call, &mut frame, old.as_mut_ptr(), &mut ctx)
            .expect("run");
        (status, frame[4], ctx.depth)
    };
    // The callee's 16 bytes end at slot 6.
    assert_eq!(run(1, 2, 6), (0, 99, 1));
    assert_eq!(run(1, 2, 5), (5, UNTOUCHED, 1), "frame stack too short");
    assert_eq!(run(2, 2, 6), (5, UNTOUCHED, 2), "depth at the limit");
    assert_eq!(run(0, 0, 6), (5, UNTOUCHED, 0));
    assert_eq!(run(9, 10, 6), (0, 99, 9));
}

#[test]
fn a_trap_in_the_callee_ends_the_caller_with_its_code() {
    let (rig, call, _, _) = call_rig("trap", 8, |h, _| panic!("trap: unexpected {h:?}"));
    let (mut old, _) = two_memories();
    let mut frame = [0u64, 0, 0, UNTOUCHED, 0];
    let mut ctx = Ctx {
        depth: 3,
        max_depth: 10,
        frame_end: frame.as_ptr() as u64 + 40,
        mem_base: old.as_mut_ptr(),
        ..Ctx::default()
    };
    let status = rig
        .run(call, &mut frame, old.as_mut_ptr(), &mut ctx)
        .expect("run");
    assert_eq!(status, 4, "unreachable, from the callee");
    assert_eq!(frame[3], UNTOUCHED, "the caller's continuation did not run");
    assert_eq!(ctx.depth, 3);
}

#[test]
fn recursion_through_the_call_stencil_stops_at_the_depth_limit_or_the_frame_stack_end() {
    // The callee is the call stencil itself: every level enters the next frame until a
    // check fails; the trap comes back through every level.
    let run = |max_depth: u64, frames: usize| {
        let mut rig = Rig::new();
        let call = rig.place_named("call");
        let ret = rig.place_named("ret");
        let desc = rig.data(&[0, 32]);
        let entry = rig.address(call);
        rig.set_word(desc, 0, entry);
        let (desc, ret) = (rig.address(desc) as i64, rig.address(ret) as i64);
        rig.patch(call, |h| match h {
            HoleValue::FrameSize => 32,
            HoleValue::Callee => desc,
            HoleValue::Continue => ret,
            other => panic!("call: unexpected {other:?}"),
        })
        .expect("patch");
        let mut frame = vec![0u64; 4 * frames];
        let mut ctx = Ctx {
            depth: 1,
            max_depth,
            frame_end: frame.as_ptr() as u64 + 8 * frame.len() as u64,
            ..Ctx::default()
        };
        let status = rig
            .run(call, &mut frame, std::ptr::null_mut(), &mut ctx)
            .expect("run");
        (status, ctx.depth)
    };
    assert_eq!(run(1000, 2000), (5, 1));
    assert_eq!(run(1_000_000, 100), (5, 1));
    assert_eq!(run(1, 100), (5, 1));
}

/// The import helper of the tests: `args[0] = args[0] * 10 + args[1] + index`; import 13
/// fails with the host-error code. Counts its calls in the word `ctx.host` points to.
unsafe extern "C" fn test_import(ctx: *mut Ctx, args: *mut u64, index: u64) -> u64 {
    // SAFETY: the tests point `host` at a u64 and `args` at two slots.
    unsafe {
        *(*ctx).host.cast::<u64>() += 1;
        if index == 13 {
            return 6;
        }
        *args = *args * 10 + *args.add(1) + index;
    }
    0
}

/// A caller running `call_import` of import `index` then `load_i32_s` of address 0 (as in
/// [`call_rig`]) then `ret`.
fn import_rig(index: i64, helper: u64) -> (Rig, usize) {
    let mut rig = Rig::new();
    let call = rig.place_named("call_import");
    let load = place_probe(&mut rig);
    let slot = rig.data(&[helper]);
    let (slot, load) = (rig.address(slot) as i64, rig.address(load) as i64);
    rig.patch(call, |h| match h {
        HoleValue::FrameSize => CALLER_FRAME,
        HoleValue::Index => index,
        HoleValue::ImportHelper => slot,
        HoleValue::Continue => load,
        other => panic!("call_import: unexpected {other:?}"),
    })
    .expect("patch");
    (rig, call)
}

#[test]
fn call_import_passes_the_area_after_the_frame_and_the_index_to_the_helper() {
    let cases: &[(i64, [u64; 2], u64, [u64; 2])] = &[
        // index, arguments, status, area afterwards
        (0, [4, 2], 0, [42, 2]),
        (5, [1, 1], 0, [16, 1]),
        (0xffff_ffff, [0, 0], 0, [0xffff_ffff, 0]),
        (13, [4, 2], 6, [4, 2]),
    ];
    for &(index, args, status, after) in cases {
        let (rig, call) = import_rig(index, test_import as ImportHelper as usize as u64);
        let (mut old, mut new) = two_memories();
        let mut calls = 0u64;
        let mut frame = [0, 0, 0, UNTOUCHED, args[0], args[1]];
        let mut ctx = Ctx {
            mem_size: 8,
            mem_base: new.as_mut_ptr(),
            host: (&raw mut calls).cast(),
            ..Ctx::default()
        };
        let got = rig
            .run(call, &mut frame, old.as_mut_ptr(), &mut ctx)
            .expect("run");
        assert_eq!(got, status, "import {index}");
        assert_eq!(calls, 1);
        assert_eq!([frame[4], frame[5]], after, "import {index}");
        // After a host error nothing else ran; otherwise memory came from the context.
        let want3 = if status == 0 { 0x2222_2222 } else { UNTOUCHED };
        assert_eq!(frame[3], want3, "import {index}");
    }
}

/// The grow helper of the tests: memory is the vector `ctx.host` points to, grown by
/// whole pages up to 3; returns the old size in pages or -1.
unsafe extern "C" fn test_grow(ctx: *mut Ctx, delta: u64) -> u64 {
    // SAFETY: the tests point `host` at a `Vec<u8>` that is the memory.
    unsafe {
        let mem = &mut *(*ctx).host.cast::<Vec<u8>>();
        let old = (mem.len() / PAGE) as u64;
        if old + delta > 3 {
            return u64::MAX;
        }
        // A new allocation, so the base moves.
        let mut grown = vec![0u8; (old + delta) as usize * PAGE];
        grown[..mem.len()].copy_from_slice(mem);
        *mem = grown;
        (*ctx).mem_size = mem.len() as u64;
        (*ctx).mem_base = mem.as_mut_ptr();
        old
    }
}

#[test]
fn memory_grow_calls_the_helper_and_continues_with_the_grown_memory() {
    // delta, (result slot, memory.size afterwards, memory base moved)
    let cases: &[(u64, (u64, u64, bool))] = &[
        (0, (1, 1, true)),
        (1, (1, 2, true)),
        (2, (1, 3, true)),
        (3, (0xffff_ffff, 1, false)),
        // Only the low 32 bits of the i32 operand count.
        (0x1_0000_0001, (1, 2, true)),
        (0xffff_ffff, (0xffff_ffff, 1, false)),
    ];
    for &(delta, want) in cases {
        let mut rig = Rig::new();
        let grow = rig.place_named("memory_grow_s");
        let size = rig.place_named("memory_size");
        let ret = rig.place_named("ret");
        let slot = rig.data(&[test_grow as GrowHelper as usize as u64]);
        let (slot, size_addr, ret) = (
            rig.address(slot) as i64,
            rig.address(size) as i64,
            rig.address(ret) as i64,
        );
        rig.patch(grow, |h| match h {
            HoleValue::Operand(0) => 0,
            HoleValue::Result => 8,
            HoleValue::GrowHelper => slot,
            HoleValue::Continue => size_addr,
            other => panic!("memory_grow_s: unexpected {other:?}"),
        })
        .expect("patch");
        rig.patch(size, |h| match h {
            HoleValue::Result => 16,
            HoleValue::Continue => ret,
            other => panic!("memory_size: unexpected {other:?}"),
        })
        .expect("patch");
        let mut memory = vec![0u8; PAGE];
        let before = memory.as_ptr();
        let mut frame = [delta, UNTOUCHED, UNTOUCHED];
        let mut ctx = Ctx {
            mem_size: PAGE as u64,
            mem_base: memory.as_mut_ptr(),
            host: (&raw mut memory).cast(),
            ..Ctx::default()
        };
        let mem = ctx.mem_base;
        let status = rig.run(grow, &mut frame, mem, &mut ctx).expect("run");
        assert_eq!(status, 0);
        assert_eq!(
            (frame[1], frame[2], memory.as_ptr() != before),
            want,
            "delta {delta:#x}"
        );
    }
}

#[test]
fn br_table_jumps_to_the_target_of_the_index_or_the_default() {
    // Three targets and the default; target k stores k + 100 into slot 3.
    let cases: &[(u64, u64)] = &[
        (0, 100),
        (1, 101),
        (2, 102),
        (3, 103),
        (4, 103),
        (0x7fff_ffff, 103),
        (0x8000_0000, 103),
        (0xffff_ffff, 103),
        // Only the low 32 bits of the index count.
        (0x1_0000_0001, 101),
    ];
    for &(index, want) in cases {
        let mut rig = Rig::new();
        let br = rig.place_named("br_table_i32_s");
        let ret = rig.place_named("ret");
        let targets: Vec<usize> = (0..4).map(|_| rig.place_named("iconst_i32")).collect();
        let table = rig.data(&[0; 4]);
        for (k, &t) in targets.iter().enumerate() {
            let a = rig.address(t);
            rig.set_word(table, k, a);
        }
        let slot = rig.data(&[0]);
        let table_addr = rig.address(table);
        rig.set_word(slot, 0, table_addr);
        let (slot, ret) = (rig.address(slot) as i64, rig.address(ret) as i64);
        rig.patch(br, |h| match h {
            HoleValue::Operand(0) => 0,
            HoleValue::Count => 3,
            HoleValue::Table => slot,
            other => panic!("br_table: unexpected {other:?}"),
        })
        .expect("patch");
        for (k, &t) in targets.iter().enumerate() {
            rig.patch(t, |h| match h {
                HoleValue::Operand(0) => 100 + k as i64,
                HoleValue::Result => 24,
                HoleValue::Continue => ret,
                other => panic!("iconst: unexpected {other:?}"),
            })
            .expect("patch");
        }
        let mut frame = [index, 0, 0, UNTOUCHED];
        let mut ctx = Ctx::default();
        let status = rig
            .run(br, &mut frame, std::ptr::null_mut(), &mut ctx)
            .expect("run");
        assert_eq!((status, frame[3]), (0, want), "index {index:#x}");
    }
}

#[test]
fn an_inverted_branch_swaps_the_outcomes_and_can_fall_through_to_the_target() {
    for name in ["brif_i32_s", "brif_i64_s"] {
        let s = Stencil::by_name(name).expect(name);
        assert!(s.tail_jcc > 0 && s.tail_jmp == 5, "{name} ends jcc; jmp");
        for (cond, plain, inverted) in [(0u64, 0, TAKEN), (1, TAKEN, 0), (0x8000_0000, TAKEN, 0)] {
            let (mut rig, at) = rig(s, &[cond], 0).expect("rig");
            assert_eq!(rig_run(rig, at, cond), plain, "{name} {cond}");
            (rig, _) = self::rig(s, &[cond], 0).expect("rig");
            let code = &mut rig.buf.written_mut()[at..at + s.code.len()];
            assert!(s.invert_branch(code));
            assert_eq!(rig_run(rig, at, cond), inverted, "{name} {cond} inverted");
        }
    }
    // The layout the inversion is for: the target laid out right after the branch, its
    // trailing jump dropped. Condition true falls through to the target.
    let s = Stencil::by_name("brif_i32_s").expect("brif");
    for (cond, want) in [(0u64, 4), (1, 0)] {
        let mut rig = Rig::new();
        let at = rig
            .buf
            .push(&s.code[..s.code.len() - s.tail_jmp as usize])
            .expect("room");
        rig.placed.push((at, s));
        let fall = rig.place_named("ret");
        let other = rig.place_named("trap");
        let other = rig.address(other) as i64;
        let base = rig.address(at);
        let code = &mut rig.buf.written_mut()[at..];
        assert!(s.invert_branch(code));
        for hole in s.holes.iter().filter(|h| h.value != HoleValue::Continue) {
            let v = match hole.value {
                HoleValue::Operand(0) => 0,
                HoleValue::Target => other,
                h => panic!("{h:?}"),
            };
            patch(s, hole, code, base, v).expect("patch");
        }
        let _ = fall;
        assert_eq!(rig_run(rig, at, cond), want, "cond {cond}");
    }
}

fn rig_run(rig: Rig, at: usize, cond: u64) -> u64 {
    let mut frame = [cond, 0, 0, UNTOUCHED];
    rig.run(at, &mut frame, std::ptr::null_mut(), &mut Ctx::default())
        .expect("run")
}

/// The IR of a superstencil's pattern: its operands are the function's parameters, the
/// root's value is returned (a `brif` root returns 1 when it would branch, else 0).
/// Returns the source and the parameter types.
fn pattern_program(pattern: &str, offset: u32) -> (String, Vec<Type>) {
    let tokens: Vec<String> = pattern
        .replace('(', " ( ")
        .replace(')', " ) ")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut params: Vec<(String, Type)> = Vec::new();
    let mut body = Vec::new();
    let mut pos = 0;
    let root = emit_pattern(&tokens, &mut pos, None, &mut params, &mut body, offset);
    let decl: Vec<String> = params.iter().map(|(n, t)| format!("{n}: {t}")).collect();
    let types: Vec<Type> = params.iter().map(|p| p.1).collect();
    let src = match root {
        // A store: the function returns nothing; its effect is the memory.
        (v, None) if v.is_empty() => format!(
            "{}func @f({}) {{\nentry({}):\n{}\n    return\n}}\n",
            data_segments(),
            egjit::ir::type_list(&types),
            decl.join(", "),
            body.join("\n")
        ),
        (v, None) => format!(
            "{}func @f({}) -> i32 {{\nentry({}):\n{}\n    brif {v}, t, e\nt:\n    v900 = iconst.i32 1\n    return v900\ne:\n    v901 = iconst.i32 0\n    return v901\n}}\n",
            data_segments(),
            egjit::ir::type_list(&types),
            decl.join(", "),
            body.join("\n")
        ),
        (v, Some(ty)) => format!(
            "{}func @f({}) -> {ty} {{\nentry({}):\n{}\n    return {v}\n}}\n",
            data_segments(),
            egjit::ir::type_list(&types),
            decl.join(", "),
            body.join("\n")
        ),
    };
    (src, types)
}

/// Emits the instructions of a pattern subtree; returns its value and type (`None` for
/// a `brif`, whose value is its condition).
fn emit_pattern(
    tokens: &[String],
    pos: &mut usize,
    want: Option<Type>,
    params: &mut Vec<(String, Type)>,
    body: &mut Vec<String>,
    offset: u32,
) -> (String, Option<Type>) {
    let tok = tokens[*pos].clone();
    *pos += 1;
    if let Some(var) = tok.strip_prefix('?') {
        let idx = (var.as_bytes()[0] - b'a') as usize;
        let ty = want.expect("a typed operand");
        if params.len() <= idx {
            params.push((format!("v{idx}"), ty));
        }
        return (format!("v{idx}"), Some(ty));
    }
    assert_eq!(tok, "(");
    let head = tokens[*pos].clone();
    *pos += 1;
    let (name, ty) = match head.rsplit_once('.') {
        Some((n, t)) if Type::from_name(t).is_some() => (n.to_string(), Type::from_name(t)),
        _ => (head.clone(), None),
    };
    let mut args = Vec::new();
    let param_types: Vec<Type> = if name == "brif" {
        vec![Type::I32]
    } else {
        let op = egjit::ir::Opcode::from_name(&name).expect("an operation");
        op.info()
            .params
            .iter()
            .map(|p| p.resolve(ty.unwrap_or(Type::I32)))
            .collect()
    };
    while tokens[*pos] != ")" {
        let t = param_types.get(args.len()).copied();
        args.push(emit_pattern(tokens, pos, t, params, body, offset).0);
    }
    *pos += 1;
    if name == "brif" {
        return (args[0].clone(), None);
    }
    let op = egjit::ir::Opcode::from_name(&name).expect("an operation");
    let imm = if op.info().imm == egjit::ir::oplist::Imm::Offset {
        format!(", {offset}")
    } else {
        String::new()
    };
    let Some(result) = op.info().results.first() else {
        // A store, the root: no value.
        body.push(format!("    {head} {}{imm}", args.join(", ")));
        return (String::new(), None);
    };
    let result = result.resolve(ty.unwrap_or(Type::I32));
    let v = format!("v{}", 100 + body.len());
    body.push(format!("    {v} = {head} {}{imm}", args.join(", ")));
    (v, Some(result))
}

/// Every superstencil (a pattern of more than one operation) against the interpreter
/// running its pattern as IR, on edge values.
#[test]
fn every_superstencil_matches_its_pattern_run_by_the_reference() {
    let mut failures = Vec::new();
    let (mut cases, mut stencils) = (0, 0);
    for s in STENCILS
        .iter()
        .filter(|s| s.pattern.matches('(').count() > 1)
    {
        stencils += 1;
        let is_store = s.pattern.starts_with("(store");
        let is_load = s.pattern.contains("(load") || is_store;
        let offsets: &[u32] = if is_load { &[0, 8, 65530] } else { &[0] };
        for &off in offsets {
            let (src, types) = pattern_program(s.pattern, off);
            let m = Module::from_text(&src, s.name)
                .unwrap_or_else(|e| panic!("{}: {e}\n{src}", s.name));
            // Other patterns only read memory, so one instance serves every case; a
            // store's case takes a fresh one.
            let fresh = || {
                Instance::new(&m, Imports::new(), &Config::default())
                    .unwrap_or_else(|e| panic!("{e}"))
            };
            let mut inst = fresh();
            // Edge values per operand, fewer when there are many operands.
            let pools: Vec<Vec<i64>> = types
                .iter()
                .zip(s.kinds)
                .map(|(&t, &k)| {
                    let base: &[i64] = if is_load {
                        &[0, 1, 7, 65528, 65535, -1, -8, i32::MIN as i64]
                    } else if types.len() > 3 {
                        &[0, 1, -1, i32::MIN as i64, i32::MAX as i64]
                    } else if t == Type::I32 {
                        EDGES_32
                    } else {
                        EDGES_64
                    };
                    fitting(base, k, t)
                })
                .collect();
            for combo in product(&pools) {
                cases += 1;
                let args: Vec<Value> = types
                    .iter()
                    .zip(&combo)
                    .map(|(&t, &v)| value(t, v))
                    .collect();
                if is_store {
                    inst = fresh();
                }
                let want = match inst.call("f", &args) {
                    Ok(_) if is_store => Ok(0),
                    Ok(r) => Ok(r[0].to_bits()),
                    Err(egjit::CallError::Trap(t)) => Err(t.to_string()),
                    Err(e) => panic!("{e}"),
                };
                let bits: Vec<u64> = args.iter().map(|a| a.to_bits()).collect();
                let mut mem = memory_image();
                let got = match run_with(s, &bits, off, &mut mem) {
                    Ok((0, _)) if s.pattern.starts_with("(brif") || is_store => Ok(0),
                    Ok((TAKEN, _)) if s.pattern.starts_with("(brif") => Ok(1),
                    Ok((0, r)) => Ok(r),
                    Ok((code, _)) => Err(trap_message(code)),
                    Err(e) => Err(format!("harness: {e}")),
                };
                // A store's memory afterwards, byte for byte.
                if is_store && inst.memory() != &mem[..] {
                    failures.push(format!(
                        "{} {combo:?} off {off}: memory differs from the reference's",
                        s.name
                    ));
                }
                if got != want {
                    failures.push(format!(
                        "{} {combo:?} off {off}: stencil {got:?}, reference {want:?}",
                        s.name
                    ));
                }
            }
        }
    }
    assert!(
        stencils >= 200 && cases > 20_000,
        "only {stencils} superstencils, {cases} cases"
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
}
