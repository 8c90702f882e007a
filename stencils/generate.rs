//! Build-time generation of the stencil sources from the operation table.
//!
//! Every stencil's Rust body is a call of the operation's function in `semantics.rs`
//! between operand reads and a result write, so the JIT and the interpreter compute with
//! the same code. Included by `build.rs` only.

use std::fmt::Write;

use crate::oplist::{
    Imm, Operand, Suffix, MAY_TRAP, NEEDS_HELPER, OPS, READS_MEMORY, WRITES_MEMORY,
};

/// A type at build time (the crate's `Type` is not available to `build.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    I32,
    I64,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::I32 => "i32",
            Ty::I64 => "i64",
        }
    }
    fn word(self) -> &'static str {
        match self {
            Ty::I32 => "u32",
            Ty::I64 => "u64",
        }
    }
    fn bytes(self) -> u32 {
        match self {
            Ty::I32 => 4,
            Ty::I64 => 8,
        }
    }
    fn of(op: Operand, t: Ty) -> Ty {
        match op {
            Operand::T => t,
            Operand::I32 => Ty::I32,
            Operand::I64 => Ty::I64,
        }
    }
}

/// How an operand reaches a stencil.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An 8-byte frame slot, at an offset patched into the code.
    Slot,
    /// A 32-bit immediate patched into the code (sign-extended for `i64`).
    Imm,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::Slot => 's',
            Kind::Imm => 'i',
        }
    }
}

/// One stencil to generate.
pub struct Variant {
    /// The symbol and table name, e.g. `iadd_i64_si`.
    pub name: String,
    /// The `Opcode` variant it implements (by its Rust name), or `None` for a terminator
    /// or a move.
    pub opcode: Option<String>,
    /// The suffix type.
    pub ty: Option<Ty>,
    /// Operand kinds, in operand order.
    pub kinds: Vec<Kind>,
    /// The IR pattern it covers, in the rules' s-expression syntax.
    pub pattern: String,
    /// The Rust body.
    pub body: String,
}

const OPERAND_HOLES: [&str; 4] = [
    "_JIT_OPERAND0",
    "_JIT_OPERAND1",
    "_JIT_OPERAND2",
    "_JIT_OPERAND3",
];

/// The kind combinations worth a stencil: all slots, and (for two or more operands) one
/// immediate in any operand but a `select` condition. Two immediates would be folded.
fn kind_combos(n: usize, first_may_be_imm: bool) -> Vec<Vec<Kind>> {
    let mut out = vec![vec![Kind::Slot; n]];
    if n >= 2 {
        for i in 0..n {
            if i == 0 && !first_may_be_imm {
                continue;
            }
            let mut k = vec![Kind::Slot; n];
            k[i] = Kind::Imm;
            out.push(k);
        }
    }
    out
}

fn read(kind: Kind, ty: Ty, i: usize) -> String {
    let h = OPERAND_HOLES[i];
    match (kind, ty) {
        (Kind::Slot, Ty::I32) => format!("get32(frame, &raw const {h})"),
        (Kind::Slot, Ty::I64) => format!("get64(frame, &raw const {h})"),
        (Kind::Imm, Ty::I32) => format!("imm32(&raw const {h})"),
        (Kind::Imm, Ty::I64) => format!("imm64(&raw const {h})"),
    }
}

fn types_for(suffix: Suffix) -> Vec<Option<Ty>> {
    match suffix {
        Suffix::Any => vec![Some(Ty::I32), Some(Ty::I64)],
        Suffix::I32 => vec![Some(Ty::I32)],
        Suffix::I64 => vec![Some(Ty::I64)],
        Suffix::None => vec![None],
    }
}

fn variant_name(base: &str, ty: Option<Ty>, kinds: &[Kind]) -> String {
    let mut s = base.replace('.', "_");
    if let Some(t) = ty {
        s.push('_');
        s.push_str(t.name());
    }
    if !kinds.is_empty() {
        s.push('_');
        s.extend(kinds.iter().map(|k| k.letter()));
    }
    s
}

fn pattern(mnemonic: &str, n: usize) -> String {
    let vars = ["?a", "?b", "?c"];
    if n == 0 {
        format!("({mnemonic})")
    } else {
        format!("({mnemonic} {})", vars[..n].join(" "))
    }
}

/// Continues after a call or a helper: memory may have moved.
const CONT_RELOAD: &str = "_JIT_CONTINUE(frame, (*ctx).mem_base, ctx)";

const TRAP_ON_ERR: &str = "{ Ok(v) => v, Err(code) => return code as u64 }";

/// Every single-operation stencil: each operation of the table with each suffix and kind
/// combination, plus constants, moves and terminators.
pub fn single_op_variants() -> Vec<Variant> {
    let mut out = Vec::new();
    for info in OPS {
        if info.flags & NEEDS_HELPER != 0 || info.imm == Imm::Int {
            // Constants are below; calls and memory.grow go through runtime helpers.
            continue;
        }
        for ty in types_for(info.suffix) {
            let t = ty.unwrap_or(Ty::I32);
            let mnemonic = match ty {
                Some(ty) => format!("{}.{}", info.name, ty.name()),
                None => info.name.to_string(),
            };
            let is_load = info.imm == Imm::Offset && info.flags & READS_MEMORY != 0;
            let is_store = info.imm == Imm::Offset && info.flags & WRITES_MEMORY != 0;
            let combos = if is_load {
                vec![vec![Kind::Slot]]
            } else if is_store {
                vec![vec![Kind::Slot, Kind::Slot], vec![Kind::Slot, Kind::Imm]]
            } else {
                kind_combos(info.params.len(), info.name != "select")
            };
            for kinds in combos {
                let args: Vec<String> = info
                    .params
                    .iter()
                    .zip(&kinds)
                    .enumerate()
                    .map(|(i, (&p, &k))| read(k, Ty::of(p, t), i))
                    .collect();
                let bytes = match info.access_bytes {
                    0 => t.bytes(),
                    n => n as u32,
                };
                let mut body = String::new();
                if is_load {
                    let signed = info.name.ends_with("_s");
                    let _ = write!(
                        body,
                        "let ea = match semantics::effective_address({}, imm32(&raw const _JIT_OFFSET), {bytes}, (*ctx).mem_size) {TRAP_ON_ERR};\n\
                         let raw = read_n(mem.add(ea as usize), {bytes});\n\
                         put(frame, &raw const _JIT_RESULT, semantics::load_extend::<{}>(raw, {bytes}, {signed}) as u64);\n",
                        args[0],
                        t.word()
                    );
                } else if is_store {
                    let _ = write!(
                        body,
                        "let v = {} as u64;\n\
                         let ea = match semantics::effective_address({}, imm32(&raw const _JIT_OFFSET), {bytes}, (*ctx).mem_size) {TRAP_ON_ERR};\n\
                         write_n(mem.add(ea as usize), {bytes}, v);\n",
                        args[1], args[0]
                    );
                } else if info.name == "memory.size" {
                    body.push_str(
                        "put(frame, &raw const _JIT_RESULT, (*ctx).mem_size / semantics::PAGE_SIZE);\n",
                    );
                } else {
                    let generic = info
                        .params
                        .iter()
                        .chain(info.results)
                        .any(|&o| o == Operand::T);
                    let f = info.name.replace('.', "_");
                    let call = if generic {
                        format!("semantics::{f}::<{}>({})", t.word(), args.join(", "))
                    } else {
                        format!("semantics::{f}({})", args.join(", "))
                    };
                    if info.flags & MAY_TRAP != 0 {
                        let _ = writeln!(body, "let r = match {call} {TRAP_ON_ERR};");
                    } else {
                        let _ = writeln!(body, "let r = {call};");
                    }
                    body.push_str("put(frame, &raw const _JIT_RESULT, r as u64);\n");
                }
                body.push_str("_JIT_CONTINUE(frame, mem, ctx)");
                out.push(Variant {
                    name: variant_name(info.name, ty, &kinds),
                    opcode: Some(format!("{:?}", info.opcode)),
                    ty,
                    pattern: pattern(&mnemonic, info.params.len()),
                    kinds,
                    body,
                });
            }
        }
    }
    let fixed = |name: &str,
                 opcode: Option<&str>,
                 ty: Option<Ty>,
                 kinds: Vec<Kind>,
                 pattern: &str,
                 body: &str| Variant {
        name: name.to_string(),
        opcode: opcode.map(str::to_string),
        ty,
        kinds,
        pattern: pattern.to_string(),
        body: body.to_string(),
    };
    let cont = "_JIT_CONTINUE(frame, mem, ctx)";
    out.extend([
        // An i32 constant is kept zero-extended; an i64 one that fits 32 bits sign-extended.
        fixed("iconst_i32", Some("Iconst"), Some(Ty::I32), vec![Kind::Imm], "(iconst.i32 ?a)",
            &format!("put(frame, &raw const _JIT_RESULT, imm32(&raw const _JIT_OPERAND0) as u64);\n{cont}")),
        fixed("iconst_i64", Some("Iconst"), Some(Ty::I64), vec![Kind::Imm], "(iconst.i64 ?a)",
            &format!("put(frame, &raw const _JIT_RESULT, imm64(&raw const _JIT_OPERAND0));\n{cont}")),
        // Any i64 constant, from its low and high 32 bits.
        fixed("iconst_i64_wide", Some("Iconst"), Some(Ty::I64), vec![Kind::Imm, Kind::Imm], "(iconst.i64 ?a)",
            &format!("let v = (imm32(&raw const _JIT_OPERAND1) as u64) << 32 | imm32(&raw const _JIT_OPERAND0) as u64;\nput(frame, &raw const _JIT_RESULT, v);\n{cont}")),
        // A move between slots (block arguments), whatever the type.
        fixed("copy_s", None, None, vec![Kind::Slot], "(copy ?a)",
            &format!("put(frame, &raw const _JIT_RESULT, get64(frame, &raw const _JIT_OPERAND0));\n{cont}")),
        fixed("jump", None, None, vec![], "(jump)", cont),
        fixed("brif_i32_s", None, Some(Ty::I32), vec![Kind::Slot], "(brif ?a)",
            &format!("if get32(frame, &raw const _JIT_OPERAND0) != 0 {{ _JIT_TARGET(frame, mem, ctx) }} else {{ {cont} }}")),
        fixed("brif_i64_s", None, Some(Ty::I64), vec![Kind::Slot], "(brif ?a)",
            &format!("if get64(frame, &raw const _JIT_OPERAND0) != 0 {{ _JIT_TARGET(frame, mem, ctx) }} else {{ {cont} }}")),
        // Target i if i < count, else the default (the table's last entry): one
        // bounds-clamped indirect jump.
        fixed("br_table_i32_s", None, Some(Ty::I32), vec![Kind::Slot], "(br_table ?a)",
            "let i = get32(frame, &raw const _JIT_OPERAND0);\n\
             let n = imm32(&raw const _JIT_COUNT);\n\
             let target = _JIT_TABLE.wrapping_add(if i < n { i } else { n } as usize).read();\n\
             target(frame, mem, ctx)"),
        // A JIT function: its frame follows the caller's; the depth and the frame stack
        // are checked before entering it; a trap in it ends the caller too.
        fixed("call", Some("Call"), None, vec![], "(call ?f)",
            &format!("let callee = frame.add(hole(&raw const _JIT_FRAME_SIZE));\n\
             let c = &*(&raw const _JIT_CALLEE);\n\
             if (*ctx).depth >= (*ctx).max_depth || (callee as u64).wrapping_add(c.frame_size) > (*ctx).frame_end {{\n\
                 return semantics::TrapCode::CallStackExhausted as u64;\n\
             }}\n\
             (*ctx).depth += 1;\n\
             let status = (c.entry)(callee, mem, ctx);\n\
             (*ctx).depth -= 1;\n\
             if status != 0 {{ return status; }}\n\
             {CONT_RELOAD}")),
        // An import, through the runtime's helper; arguments and results in the area
        // after the caller's frame.
        fixed("call_import", Some("Call"), None, vec![], "(call.import ?f)",
            &format!("let args = frame.add(hole(&raw const _JIT_FRAME_SIZE)).cast::<u64>();\n\
             let status = _JIT_IMPORT_HELPER(ctx, args, imm32(&raw const _JIT_INDEX) as u64);\n\
             if status != 0 {{ return status; }}\n\
             let _ = mem;\n\
             {CONT_RELOAD}")),
        // Through the runtime's helper, which may move memory. An i32 result is kept
        // zero-extended (-1 is 0xffff_ffff).
        fixed("memory_grow_s", Some("MemoryGrow"), None, vec![Kind::Slot], "(memory.grow ?a)",
            &format!("let old = _JIT_GROW_HELPER(ctx, get32(frame, &raw const _JIT_OPERAND0) as u64);\n\
             put(frame, &raw const _JIT_RESULT, old as u32 as u64);\n\
             let _ = mem;\n\
             {CONT_RELOAD}")),
        fixed("ret", None, None, vec![], "(return)", "let _ = (frame, mem, ctx);\n0"),
        fixed("trap", None, None, vec![], "(trap)",
            "let _ = (frame, mem, ctx);\nsemantics::TrapCode::Unreachable as u64"),
    ]);
    out
}

/// The stencil crate's source: the prelude, the semantics and every stencil.
pub fn crate_source(variants: &[Variant], dir: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "#![no_std]\n\
         #![allow(unused_unsafe, clippy::all)]\n\
         #[path = \"{dir}/abi.rs\"] pub mod abi;\n\
         #[path = \"{dir}/semantics.rs\"] pub mod semantics;\n\
         #[path = \"{dir}/prelude.rs\"] pub mod prelude;\n\
         use abi::Ctx;\n\
         use prelude::*;\n\n"
    );
    for v in variants {
        let _ = write!(
            s,
            "/// `{}`\n#[no_mangle]\npub unsafe extern \"C\" fn {}(frame: *mut u8, mem: *mut u8, ctx: *mut Ctx) -> u64 {{\n{}\n}}\n\n",
            v.pattern, v.name, v.body
        );
    }
    s
}

/// A pattern of a superstencil: operand `n` (read per its kind), or an operation of the
/// table at a type with its operands.
enum Pat {
    Var(usize),
    Op(&'static str, Ty, Vec<Pat>),
}

/// The Rust expression of a pure pattern, composing the semantic functions, and the type
/// of its value. `kinds` gives each operand's kind, `types` collects each operand's type.
fn compose(p: &Pat, want: Ty, kinds: &[Kind], types: &mut Vec<Option<Ty>>) -> (String, Ty) {
    match p {
        Pat::Var(n) => {
            types[*n] = Some(want);
            (read(kinds[*n], want, *n), want)
        }
        Pat::Op(name, ty, args) => {
            let info = OPS
                .iter()
                .find(|i| i.name == *name)
                .unwrap_or_else(|| panic!("superstencil pattern names unknown `{name}`"));
            let parts: Vec<String> = args
                .iter()
                .zip(info.params)
                .map(|(a, &param)| compose(a, Ty::of(param, *ty), kinds, types).0)
                .collect();
            let generic = info
                .params
                .iter()
                .chain(info.results)
                .any(|&o| o == Operand::T);
            let f = name.replace('.', "_");
            let call = if generic {
                format!("semantics::{f}::<{}>({})", ty.word(), parts.join(", "))
            } else {
                format!("semantics::{f}({})", parts.join(", "))
            };
            (call, Ty::of(info.results[0], *ty))
        }
    }
}

fn pattern_text(p: &Pat) -> String {
    const VARS: [&str; 4] = ["?a", "?b", "?c", "?d"];
    match p {
        Pat::Var(n) => VARS[*n].to_string(),
        Pat::Op(name, ty, args) => {
            let args: Vec<String> = args.iter().map(pattern_text).collect();
            format!("({name}.{} {})", ty.name(), args.join(" "))
        }
    }
}

const CONDS: [&str; 10] = [
    "eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge",
];
const TYPES: [Ty; 2] = [Ty::I32, Ty::I64];

/// The superstencils: fused multi-operation stencils, generated by composing the
/// semantic functions along a pattern.
///
/// - compare-and-branch `(brif (icmp.CC.T ?a ?b))`;
/// - add-compare-branch `(brif (icmp.CC.T (iadd.T ?a ?b) ?c))`, the loop counter test;
/// - compare-select `(select.T (icmp.CC.T ?a ?b) ?c ?d)`;
/// - load with an added offset `(load.T (iadd.i32 ?a ?b))`, `?b` an immediate: the
///   address is computed with the i32 add's wrapping, then bounds-checked as a load;
/// - an operation on a loaded value `(OP.T (load.T ?a) ?b)`, and for a commutative `OP`
///   also `(OP.T ?a (load.T ?b))`: the load stays where it was in the block and the
///   operation is computed with it (selection fuses only a load whose value has no other
///   use).
pub fn superstencil_variants() -> Vec<Variant> {
    let mut out = Vec::new();
    let icmp = |cc: &str, t: Ty, a: Pat, b: Pat| {
        let name: &'static str = Box::leak(format!("icmp.{cc}").into_boxed_str());
        Pat::Op(name, t, vec![a, b])
    };
    let kind_name = |kinds: &[Kind]| kinds.iter().map(|k| k.letter()).collect::<String>();
    let cont = "_JIT_CONTINUE(frame, mem, ctx)";
    for t in TYPES {
        for cc in CONDS {
            // Compare-and-branch, and add-compare-branch.
            let shapes: [(&str, Pat, Vec<Vec<Kind>>); 2] = [
                (
                    "",
                    icmp(cc, t, Pat::Var(0), Pat::Var(1)),
                    vec![vec![Kind::Slot, Kind::Slot], vec![Kind::Slot, Kind::Imm]],
                ),
                (
                    "_iadd",
                    icmp(
                        cc,
                        t,
                        Pat::Op("iadd", t, vec![Pat::Var(0), Pat::Var(1)]),
                        Pat::Var(2),
                    ),
                    vec![
                        vec![Kind::Slot, Kind::Imm, Kind::Slot],
                        vec![Kind::Slot, Kind::Imm, Kind::Imm],
                        vec![Kind::Slot, Kind::Slot, Kind::Slot],
                    ],
                ),
            ];
            for (infix, cond, combos) in &shapes {
                for kinds in combos {
                    let mut types = vec![None; kinds.len()];
                    let (c, _) = compose(cond, t, kinds, &mut types);
                    out.push(Variant {
                        name: format!("brif_icmp_{cc}{infix}_{}_{}", t.name(), kind_name(kinds)),
                        opcode: None,
                        ty: Some(t),
                        kinds: kinds.clone(),
                        pattern: format!("(brif {})", pattern_text(cond)),
                        body: format!(
                            "if {c} != 0 {{ _JIT_TARGET(frame, mem, ctx) }} else {{ {cont} }}"
                        ),
                    });
                }
            }
            // Compare-select.
            for kinds in [
                vec![Kind::Slot, Kind::Slot, Kind::Slot, Kind::Slot],
                vec![Kind::Slot, Kind::Imm, Kind::Slot, Kind::Slot],
            ] {
                let p = Pat::Op(
                    "select",
                    t,
                    vec![
                        icmp(cc, t, Pat::Var(0), Pat::Var(1)),
                        Pat::Var(2),
                        Pat::Var(3),
                    ],
                );
                let mut types = vec![None; kinds.len()];
                let (e, _) = compose(&p, t, &kinds, &mut types);
                out.push(Variant {
                    name: format!("select_icmp_{cc}_{}_{}", t.name(), kind_name(&kinds)),
                    opcode: None,
                    ty: Some(t),
                    kinds,
                    pattern: pattern_text(&p),
                    body: format!("put(frame, &raw const _JIT_RESULT, {e} as u64);\n{cont}"),
                });
            }
        }
    }
    // Loads at an address plus a constant.
    for info in OPS
        .iter()
        .filter(|i| i.imm == Imm::Offset && i.flags & READS_MEMORY != 0)
    {
        for ty in types_for(info.suffix).into_iter().flatten() {
            let kinds = vec![Kind::Slot, Kind::Imm];
            let addr = Pat::Op("iadd", Ty::I32, vec![Pat::Var(0), Pat::Var(1)]);
            let mut types = vec![None; 2];
            let (a, _) = compose(&addr, Ty::I32, &kinds, &mut types);
            let bytes = match info.access_bytes {
                0 => ty.bytes(),
                n => n as u32,
            };
            let signed = info.name.ends_with("_s");
            out.push(Variant {
                name: format!("{}_iadd_{}_si", info.name, ty.name()),
                opcode: None,
                ty: Some(ty),
                kinds,
                pattern: format!("({}.{} {})", info.name, ty.name(), pattern_text(&addr)),
                body: format!(
                    "let ea = match semantics::effective_address({a}, imm32(&raw const _JIT_OFFSET), {bytes}, (*ctx).mem_size) {TRAP_ON_ERR};\n\
                     let raw = read_n(mem.add(ea as usize), {bytes});\n\
                     put(frame, &raw const _JIT_RESULT, semantics::load_extend::<{}>(raw, {bytes}, {signed}) as u64);\n{cont}",
                    ty.word()
                ),
            });
        }
    }
    // Operations on a loaded value.
    for t in TYPES {
        for (op, commutes) in [
            ("iadd", true),
            ("isub", false),
            ("imul", true),
            ("band", true),
            ("bor", true),
            ("bxor", true),
        ] {
            let bytes = t.bytes();
            let w = t.word();
            // (address operand, other operand, kinds, pattern)
            let mut shapes = vec![
                (
                    0,
                    1,
                    vec![Kind::Slot, Kind::Slot],
                    format!("({op}.{0} (load.{0} ?a) ?b)", t.name()),
                ),
                (
                    0,
                    1,
                    vec![Kind::Slot, Kind::Imm],
                    format!("({op}.{0} (load.{0} ?a) ?b)", t.name()),
                ),
            ];
            if commutes {
                shapes.push((
                    1,
                    0,
                    vec![Kind::Slot, Kind::Slot],
                    format!("({op}.{0} ?a (load.{0} ?b))", t.name()),
                ));
            }
            for (addr, other, kinds, pattern) in shapes {
                let a = read(kinds[addr], Ty::I32, addr);
                let b = read(kinds[other], t, other);
                let (x, y) = if addr == 0 {
                    ("x", b.as_str())
                } else {
                    (b.as_str(), "x")
                };
                let order = if addr == 0 { "" } else { "_r" };
                out.push(Variant {
                    name: format!("{op}_load{order}_{}_{}", t.name(), kind_name(&kinds)),
                    opcode: None,
                    ty: Some(t),
                    kinds,
                    pattern,
                    body: format!(
                        "let ea = match semantics::effective_address({a}, imm32(&raw const _JIT_OFFSET), {bytes}, (*ctx).mem_size) {TRAP_ON_ERR};\n\
                         let x = semantics::load_extend::<{w}>(read_n(mem.add(ea as usize), {bytes}), {bytes}, false);\n\
                         put(frame, &raw const _JIT_RESULT, semantics::{op}::<{w}>({x}, {y}) as u64);\n{cont}"
                    ),
                });
            }
        }
    }
    out
}
