//! Build-time generation of the stencil sources from the operation table.
//!
//! Every stencil's Rust body is a call of the operation's function in `semantics.rs`
//! between operand reads and a result write, so the JIT and the interpreter compute with
//! the same code. Included by `build.rs` only.

use std::fmt::Write;

use crate::oplist::{
    Imm, OpInfo, Operand, Suffix, MAY_TRAP, NEEDS_HELPER, OPS, READS_MEMORY, WRITES_MEMORY,
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

/// A pattern of a superstencil: operand `n`, an operation of the table at a type with its
/// operands, or (at the root) a `brif` on a condition.
#[derive(Debug)]
enum Pat {
    Var(usize),
    Op(&'static OpInfo, Option<Ty>, Vec<Pat>),
    Brif(Box<Pat>),
}

fn is_load(info: &OpInfo) -> bool {
    info.imm == Imm::Offset && info.flags & READS_MEMORY != 0
}

fn is_store(info: &OpInfo) -> bool {
    info.imm == Imm::Offset && info.flags & WRITES_MEMORY != 0
}

/// Bytes a memory operation at `t` touches.
fn access_bytes(info: &OpInfo, t: Ty) -> u32 {
    match info.access_bytes {
        0 => t.bytes(),
        n => n as u32,
    }
}

/// One line of the superstencil list, parsed and checked: its pattern, operand kinds and
/// types (by operand, in order of first appearance) and the stencil's name.
struct Line {
    pat: Pat,
    kinds: Vec<Kind>,
    types: Vec<Ty>,
    name: String,
}

/// Parses one list line: `[NAME =] PATTERN KINDS`.
fn parse_line(line: &str) -> Result<Line, String> {
    let (name, rest) = match line.split_once('=') {
        Some((n, r)) => {
            let n = n.trim();
            if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "`{n}` is not a stencil name (letters, digits, `_`)"
                ));
            }
            (Some(n.to_string()), r.trim())
        }
        None => (None, line),
    };
    let close = rest
        .rfind(')')
        .ok_or("a line is a pattern `(…)` followed by its operand kinds")?;
    let (text, letters) = rest.split_at(close + 1);
    let letters = letters.trim();
    let kinds = letters
        .chars()
        .map(|c| match c {
            's' => Ok(Kind::Slot),
            'i' => Ok(Kind::Imm),
            _ => Err(format!(
                "operand kind `{c}` is neither `s` (slot) nor `i` (immediate)"
            )),
        })
        .collect::<Result<Vec<Kind>, String>>()?;
    let tokens: Vec<String> = text
        .replace('(', " ( ")
        .replace(')', " ) ")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut vars: Vec<String> = Vec::new();
    let mut types: Vec<Option<Ty>> = Vec::new();
    let mut pos = 0;
    let pat = parse_pat(&tokens, &mut pos, None, true, &mut vars, &mut types)?;
    if pos != tokens.len() {
        return Err("text after the pattern's closing parenthesis".into());
    }
    if kinds.len() != vars.len() {
        return Err(format!(
            "the pattern has {} operand(s) but {} kind letter(s) are given (`{letters}`)",
            vars.len(),
            kinds.len()
        ));
    }
    if vars.len() > OPERAND_HOLES.len() {
        return Err(format!(
            "{} operands; a stencil takes at most 4",
            vars.len()
        ));
    }
    let args = match &pat {
        Pat::Var(_) => return Err("the pattern is a lone operand".into()),
        Pat::Op(_, _, args) => &args[..],
        Pat::Brif(cond) => std::slice::from_ref(&**cond),
    };
    if args.iter().all(|a| matches!(a, Pat::Var(_))) {
        return Err("a superstencil covers two operations or more; this is one".into());
    }
    let mut memory = 0;
    count_memory(&pat, &mut memory);
    if memory > 1 {
        return Err("more than one memory access (a stencil has one offset)".into());
    }
    if matches!(&pat, Pat::Op(root, ..) if is_store(root)) && memory_below(args) {
        return Err("a store's operands may not load".into());
    }
    let types: Vec<Ty> = types.into_iter().map(|t| t.unwrap_or(Ty::I32)).collect();
    let ty = pattern_type(&pat);
    let default_name = {
        let mut ops = Vec::new();
        op_names(&pat, &mut ops);
        let mut n = ops.join("_");
        if let Some(t) = ty {
            n.push('_');
            n.push_str(t.name());
        }
        n.push('_');
        n.extend(kinds.iter().map(|k| k.letter()));
        n
    };
    Ok(Line {
        name: name.unwrap_or(default_name),
        pat,
        kinds,
        types,
    })
}

fn parse_pat(
    tokens: &[String],
    pos: &mut usize,
    want: Option<Ty>,
    root: bool,
    vars: &mut Vec<String>,
    types: &mut Vec<Option<Ty>>,
) -> Result<Pat, String> {
    let tok = tokens.get(*pos).ok_or("the pattern ends early")?;
    *pos += 1;
    if let Some(v) = tok.strip_prefix('?') {
        let n = match vars.iter().position(|x| x == v) {
            Some(n) => n,
            None => {
                vars.push(v.to_string());
                types.push(None);
                vars.len() - 1
            }
        };
        match (types[n], want) {
            (Some(had), Some(w)) if had != w => {
                return Err(format!(
                    "operand `?{v}` is used as {} and as {}",
                    had.name(),
                    w.name()
                ))
            }
            (None, w) => types[n] = w,
            _ => {}
        }
        return Ok(Pat::Var(n));
    }
    if tok != "(" {
        return Err(format!("`{tok}` where an operand `?x` or `(` was expected"));
    }
    let head = tokens.get(*pos).ok_or("the pattern ends early")?.clone();
    *pos += 1;
    if head == "brif" {
        if !root {
            return Err("`brif` is a terminator: only the root".into());
        }
        let cond = parse_pat(tokens, pos, None, false, vars, types)?;
        if tokens.get(*pos).map(String::as_str) != Some(")") {
            return Err("`brif` takes one operand, its condition".into());
        }
        *pos += 1;
        return Ok(Pat::Brif(Box::new(cond)));
    }
    let (info, ty): (&'static OpInfo, Option<Ty>) = {
        let (name, ty) = match head.rsplit_once('.') {
            Some((n, "i32")) => (n, Some(Ty::I32)),
            Some((n, "i64")) => (n, Some(Ty::I64)),
            _ => (head.as_str(), None),
        };
        let info = OPS
            .iter()
            .find(|i| i.name == name)
            .ok_or_else(|| format!("`{name}` is no operation"))?;
        if info.flags & (NEEDS_HELPER | crate::oplist::IS_CALL) != 0 || info.imm == Imm::Int {
            return Err(format!(
                "`{name}` has no place in a superstencil (constants, calls and helpers do not fuse)"
            ));
        }
        if info.flags & MAY_TRAP != 0 && info.imm != Imm::Offset {
            return Err(format!(
                "`{name}` may trap, and only a memory access traps inside a superstencil"
            ));
        }
        let allowed = matches!(
            (info.suffix, ty),
            (Suffix::Any, Some(_))
                | (Suffix::None, None)
                | (Suffix::I32, Some(Ty::I32))
                | (Suffix::I64, Some(Ty::I64))
        );
        if !allowed {
            return Err(format!("`{head}`: `{name}` does not take that type suffix"));
        }
        if is_store(info) && !root {
            return Err("a store has no value: only the root".into());
        }
        (info, ty)
    };
    let t = ty.unwrap_or(Ty::I32);
    let mut args = Vec::new();
    while tokens.get(*pos).map(String::as_str) != Some(")") {
        let Some(&param) = info.params.get(args.len()) else {
            return Err(format!(
                "`{head}` takes {} operand(s), given more",
                info.params.len()
            ));
        };
        let expect = Ty::of(param, t);
        let before = *pos;
        let arg = parse_pat(tokens, pos, Some(expect), false, vars, types)?;
        if let Pat::Op(inner, ity, _) = &arg {
            let got = Ty::of(inner.results[0], ity.unwrap_or(Ty::I32));
            if got != expect {
                return Err(format!(
                    "`{head}` operand {} wants {} but `{}` gives {}",
                    args.len() + 1,
                    expect.name(),
                    tokens[before + 1],
                    got.name()
                ));
            }
        }
        args.push(arg);
    }
    *pos += 1;
    if args.len() != info.params.len() {
        return Err(format!(
            "`{head}` takes {} operand(s), given {}",
            info.params.len(),
            args.len()
        ));
    }
    Ok(Pat::Op(info, ty, args))
}

fn count_memory(p: &Pat, n: &mut usize) {
    match p {
        Pat::Var(_) => {}
        Pat::Op(info, _, args) => {
            if info.imm == Imm::Offset {
                *n += 1;
            }
            args.iter().for_each(|a| count_memory(a, n));
        }
        Pat::Brif(c) => count_memory(c, n),
    }
}

fn memory_below(args: &[Pat]) -> bool {
    let mut n = 0;
    args.iter().for_each(|a| count_memory(a, &mut n));
    n > 0
}

/// The stencil's type: that of the first operation with a type suffix, in pre-order.
fn pattern_type(p: &Pat) -> Option<Ty> {
    match p {
        Pat::Var(_) => None,
        Pat::Op(_, Some(t), _) => Some(*t),
        Pat::Op(_, None, args) => args.iter().find_map(pattern_type),
        Pat::Brif(c) => pattern_type(c),
    }
}

fn op_names(p: &Pat, out: &mut Vec<String>) {
    match p {
        Pat::Var(_) => {}
        Pat::Op(info, _, args) => {
            out.push(info.name.replace('.', "_"));
            args.iter().for_each(|a| op_names(a, out));
        }
        Pat::Brif(c) => {
            out.push("brif".into());
            op_names(c, out);
        }
    }
}

/// The Rust expression of a pattern's value, composing the semantic functions; a load
/// in it checks its address and returns the trap when it is out of bounds.
fn compose(p: &Pat, line: &Line) -> String {
    match p {
        Pat::Var(n) => read(line.kinds[*n], line.types[*n], *n),
        Pat::Brif(c) => compose(c, line),
        Pat::Op(info, ty, args) => {
            let t = ty.unwrap_or(Ty::I32);
            let parts: Vec<String> = args.iter().map(|a| compose(a, line)).collect();
            if is_load(info) {
                let bytes = access_bytes(info, t);
                let signed = info.name.ends_with("_s");
                return format!(
                    "semantics::load_extend::<{w}>(read_n(mem.add((match semantics::effective_address({a}, imm32(&raw const _JIT_OFFSET), {bytes}, (*ctx).mem_size) {TRAP_ON_ERR}) as usize), {bytes}), {bytes}, {signed})",
                    w = t.word(),
                    a = parts[0]
                );
            }
            let generic = info
                .params
                .iter()
                .chain(info.results)
                .any(|&o| o == Operand::T);
            let f = info.name.replace('.', "_");
            if generic {
                format!("semantics::{f}::<{}>({})", t.word(), parts.join(", "))
            } else {
                format!("semantics::{f}({})", parts.join(", "))
            }
        }
    }
}

/// The stencil of one checked line.
fn line_variant(line: Line) -> Variant {
    let cont = "_JIT_CONTINUE(frame, mem, ctx)";
    let body = match &line.pat {
        Pat::Brif(c) => {
            let c = compose(c, &line);
            format!("if {c} != 0 {{ _JIT_TARGET(frame, mem, ctx) }} else {{ {cont} }}")
        }
        Pat::Op(root, ty, args) if is_store(root) => {
            let bytes = access_bytes(root, ty.unwrap_or(Ty::I32));
            // The value first: it was computed before the store, which then checks its
            // address.
            format!(
                "let v = {} as u64;\n\
                 let ea = match semantics::effective_address({}, imm32(&raw const _JIT_OFFSET), {bytes}, (*ctx).mem_size) {TRAP_ON_ERR};\n\
                 write_n(mem.add(ea as usize), {bytes}, v);\n{cont}",
                compose(&args[1], &line),
                compose(&args[0], &line)
            )
        }
        p => format!(
            "put(frame, &raw const _JIT_RESULT, {} as u64);\n{cont}",
            compose(p, &line)
        ),
    };
    Variant {
        ty: pattern_type(&line.pat),
        pattern: pattern_text(&line.pat),
        name: line.name,
        opcode: None,
        kinds: line.kinds,
        body,
    }
}

fn pattern_text(p: &Pat) -> String {
    const VARS: [&str; 4] = ["?a", "?b", "?c", "?d"];
    match p {
        Pat::Var(n) => VARS[*n].to_string(),
        Pat::Brif(c) => format!("(brif {})", pattern_text(c)),
        Pat::Op(info, ty, args) => {
            let args: Vec<String> = args.iter().map(pattern_text).collect();
            let head = match ty {
                Some(t) => format!("{}.{}", info.name, t.name()),
                None => info.name.to_string(),
            };
            format!("({head} {})", args.join(" "))
        }
    }
}

/// The superstencils of `list`, the text of `stencils/superstencils.list`: one per line,
/// `[NAME =] PATTERN KINDS`, `#` starting a comment. Each stencil's body composes the
/// semantic functions along its pattern. The error names the line and what is wrong
/// with it: an unknown operation, a type suffix it does not take, an operand of the
/// wrong type, kinds that do not match the operands, a name used twice.
pub fn superstencil_variants(list: &str, taken: &[Variant]) -> Result<Vec<Variant>, String> {
    let mut out: Vec<Variant> = Vec::new();
    let mut names: std::collections::HashSet<String> =
        taken.iter().map(|v| v.name.clone()).collect();
    for (i, raw) in list.lines().enumerate() {
        let text = raw.split('#').next().unwrap_or("").trim();
        if text.is_empty() {
            continue;
        }
        let at = |m: String| {
            format!(
                "stencils/superstencils.list:{}: {m}\n    {}",
                i + 1,
                raw.trim()
            )
        };
        let line = parse_line(text).map_err(at)?;
        if !names.insert(line.name.clone()) {
            return Err(at(format!(
                "the name `{}` is taken; give this line its own (`NAME = PATTERN KINDS`)",
                line.name
            )));
        }
        out.push(line_variant(line));
    }
    Ok(out)
}
