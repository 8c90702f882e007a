//! A seeded generator of random, always-terminating IR programs, for differential tests.
//!
//! `program(seed)` returns the text of a module that parses and verifies, with an
//! exported `@main` taking a few `i32`/`i64` parameters and a `@probe()` that reads back
//! a checksum of linear memory, so that what `@main` stored is compared too. `args(seed,
//! module)` gives `@main`'s arguments, edge values mixed in.
//!
//! The operations come from the operation table (`egjit::ir::OPS`), so a new pure
//! operation, load or store is generated without touching this file. Programs may trap:
//! divisions by zero or of MIN by -1, out-of-bounds accesses, explicit `trap`, and
//! bounded recursion that in a few seeds is deep enough to exhaust the default call
//! depth of 10,000. Every loop is bounded by a counter compared with a small constant,
//! every call goes to a later helper (or to `@rec`, whose depth is its masked argument),
//! so every program ends.

use egjit::ir::oplist::{Imm, Suffix, READS_MEMORY, WRITES_MEMORY};
use egjit::ir::{Opcode, OPS};
use egjit::{Module, Type, Value};
use std::fmt::Write as _;

/// splitmix64: small, fast and good enough to pick program shapes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    fn ty(&mut self) -> Type {
        if self.chance(1, 2) {
            Type::I32
        } else {
            Type::I64
        }
    }
}

/// Interesting 32-bit values.
const EDGE32: &[i32] = &[
    0,
    1,
    -1,
    2,
    -2,
    3,
    7,
    31,
    32,
    33,
    255,
    256,
    0xffff,
    0x10000,
    i32::MIN,
    i32::MAX,
    i32::MIN + 1,
    i32::MAX - 1,
];

/// Interesting 64-bit values (wide ones and ones that fit 32 bits).
const EDGE64: &[i64] = &[
    0,
    1,
    -1,
    2,
    -2,
    3,
    7,
    63,
    64,
    65,
    255,
    0xffff_ffff,
    0x8000_0000,
    0x7fff_ffff,
    -0x8000_0000,
    0x1_0000_0000,
    0x0123_4567_89ab_cdef,
    -0x0123_4567_89ab_cdef,
    i64::MIN,
    i64::MAX,
    i64::MIN + 1,
    i64::MAX - 1,
];

/// Shift and rotate counts worth trying (taken modulo the width by the IR).
const COUNTS: &[i64] = &[0, 1, 7, 8, 31, 32, 33, 63, 64, 65, -1, 127, 128];

/// A value of `ty` from the edge lists or random bits.
fn edge_value(rng: &mut Rng, ty: Type) -> i64 {
    match (ty, rng.below(4)) {
        (Type::I32, 0) => rng.next_u64() as i32 as i64,
        (Type::I32, 1) => rng.range(0, 20) as i64 - 10,
        (Type::I32, _) => *rng.pick(EDGE32) as i64,
        (Type::I64, 0) => rng.next_u64() as i64,
        (Type::I64, 1) => rng.range(0, 20) as i64 - 10,
        (Type::I64, _) => *rng.pick(EDGE64),
    }
}

/// An integer literal of `ty` for `v`, written in one of the accepted spellings.
fn literal(rng: &mut Rng, ty: Type, v: i64) -> String {
    match (ty, rng.below(3)) {
        (Type::I32, 0) => format!("{:#x}", v as u32),
        (Type::I32, _) => format!("{}", v as i32),
        (Type::I64, 0) => format!("{:#x}", v as u64),
        (Type::I64, _) => format!("{v}"),
    }
}

/// A function another may call.
#[derive(Clone)]
struct Sig {
    name: String,
    params: Vec<Type>,
    results: Vec<Type>,
}

/// What a function being generated may do.
struct Env {
    /// Callees it may call (always later in the call DAG, so no unbounded recursion).
    callees: Vec<Sig>,
    /// `@rec` may be called (it is the only recursive function).
    rec: bool,
    /// Mask of `@rec`'s depth argument: small in most seeds, past the call depth limit
    /// in a few.
    rec_mask: u32,
    /// Pages of memory at the start (0 without a `memory`).
    pages: u32,
    /// A `memory` is declared.
    has_memory: bool,
    /// Deepest loop nesting allowed.
    max_loop_depth: u32,
}

/// The generator of one function body.
struct FuncGen<'a> {
    rng: &'a mut Rng,
    env: &'a Env,
    out: String,
    next_value: u32,
    next_block: u32,
    /// Values that dominate the current point, with their types.
    pool: Vec<(u32, Type)>,
    /// Operations left to generate.
    budget: i64,
    loop_depth: u32,
    /// Nested diamonds, switches and loops (bounds the recursion of the generator).
    nest: u32,
}

impl<'a> FuncGen<'a> {
    fn new(rng: &'a mut Rng, env: &'a Env, params: &[Type], budget: i64) -> FuncGen<'a> {
        let mut g = FuncGen {
            rng,
            env,
            out: String::new(),
            next_value: 0,
            next_block: 0,
            pool: Vec::new(),
            budget,
            loop_depth: 0,
            nest: 0,
        };
        let ps: Vec<String> = params
            .iter()
            .map(|&t| {
                let v = g.fresh(t);
                format!("v{v}: {t}")
            })
            .collect();
        if ps.is_empty() {
            g.out.push_str("entry:\n");
        } else {
            let _ = writeln!(g.out, "entry({}):", ps.join(", "));
        }
        g
    }

    /// A new value of `ty`, added to the pool.
    fn fresh(&mut self, ty: Type) -> u32 {
        let v = self.next_value;
        self.next_value += 1;
        self.pool.push((v, ty));
        v
    }

    fn block_name(&mut self) -> String {
        let b = self.next_block;
        self.next_block += 1;
        format!("b{b}")
    }

    /// Emits `vN = rhs` with a result of `ty`.
    fn def(&mut self, ty: Type, rhs: &str) -> u32 {
        let v = self.fresh(ty);
        let _ = writeln!(self.out, "    v{v} = {rhs}");
        self.budget -= 1;
        v
    }

    /// Emits an instruction without results.
    fn effect(&mut self, text: &str) {
        let _ = writeln!(self.out, "    {text}");
        self.budget -= 1;
    }

    fn konst(&mut self, ty: Type, v: i64) -> u32 {
        let lit = literal(self.rng, ty, v);
        self.def(ty, &format!("iconst.{ty} {lit}"))
    }

    fn any_const(&mut self, ty: Type) -> u32 {
        let v = edge_value(self.rng, ty);
        self.konst(ty, v)
    }

    /// A value of `ty` that dominates here: usually a recent one, sometimes any, and a
    /// new constant when there is none.
    fn val(&mut self, ty: Type) -> u32 {
        let candidates: Vec<u32> = self
            .pool
            .iter()
            .filter(|&&(_, t)| t == ty)
            .map(|&(v, _)| v)
            .collect();
        if candidates.is_empty() || self.rng.chance(1, 10) {
            return self.any_const(ty);
        }
        if self.rng.chance(1, 2) {
            let recent = &candidates[candidates.len().saturating_sub(5)..];
            *self.rng.pick(recent)
        } else {
            *self.rng.pick(&candidates)
        }
    }

    /// One pure operation taken from the operation table.
    fn pure_op(&mut self) {
        let ops: Vec<_> = OPS
            .iter()
            .filter(|o| o.opcode.is_pure() && o.suffix != Suffix::None)
            .collect();
        let mut op = **self.rng.pick(&ops);
        // Ten comparisons would otherwise make most values booleans.
        while op.name.starts_with("icmp.") && self.rng.chance(3, 4) {
            op = **self.rng.pick(&ops);
        }
        let ty = match op.suffix {
            Suffix::I32 => Type::I32,
            Suffix::I64 => Type::I64,
            _ => self.rng.ty(),
        };
        if op.imm == Imm::Int {
            self.any_const(ty);
            return;
        }
        let is_shift = matches!(
            op.opcode,
            Opcode::Ishl | Opcode::Ushr | Opcode::Sshr | Opcode::Rotl | Opcode::Rotr
        );
        let mut args = Vec::new();
        for (i, p) in op.params.iter().enumerate() {
            let pt = p.resolve(ty);
            let v = if is_shift && i == 1 && self.rng.chance(1, 3) {
                let c = *self.rng.pick(COUNTS);
                self.konst(pt, c)
            } else if op.opcode == Opcode::Select && i == 0 && self.rng.chance(1, 2) {
                let a = self.val(ty);
                let b = self.val(ty);
                let cc = *self.rng.pick(&["eq", "ne", "slt", "ult", "sge", "ugt"]);
                self.def(Type::I32, &format!("icmp.{cc}.{ty} v{a}, v{b}"))
            } else {
                self.val(pt)
            };
            args.push(format!("v{v}"));
        }
        let rt = op.results[0].resolve(ty);
        let text = format!("{}.{} {}", op.name, ty, args.join(", "));
        self.def(rt, &text);
    }

    /// A division or remainder; its divisor is zero or -1 now and then.
    fn division(&mut self) {
        let op = *self.rng.pick(&["sdiv", "udiv", "srem", "urem"]);
        let ty = self.rng.ty();
        let a = if self.rng.chance(1, 8) {
            let min = if ty == Type::I32 {
                i32::MIN as i64
            } else {
                i64::MIN
            };
            self.konst(ty, min)
        } else {
            self.val(ty)
        };
        let b = match self.rng.below(10) {
            0..=2 => self.val(ty),
            3..=6 => {
                let x = self.val(ty);
                let one = self.konst(ty, 1);
                self.def(ty, &format!("bor.{ty} v{x}, v{one}"))
            }
            7 => self.konst(ty, -1),
            8 => {
                let c = *self.rng.pick(&[1, 2, 3, 7, 10, -2, -7, 0]);
                self.konst(ty, c)
            }
            _ => self.any_const(ty),
        };
        self.def(ty, &format!("{op}.{ty} v{a}, v{b}"));
    }

    /// An address for an access: mostly in bounds, now and then near or past the end.
    fn address(&mut self) -> u32 {
        let end = self.env.pages as i64 * 65536;
        match self.rng.below(100) {
            0..=59 => {
                let a = self.rng.range(0, 264) as i64;
                self.konst(Type::I32, a)
            }
            60..=94 => {
                let x = self.val(Type::I32);
                let m = self.konst(Type::I32, 0xff);
                self.def(Type::I32, &format!("band.i32 v{x}, v{m}"))
            }
            95..=97 => {
                let k = self.rng.range(1, 12) as i64;
                self.konst(Type::I32, end - k)
            }
            98 => self.val(Type::I32),
            _ => {
                let a = *self
                    .rng
                    .pick(&[-1i64, -8, 0x7fff_ffff, 0x10000, 0x20000, end, end - 1]);
                self.konst(Type::I32, a)
            }
        }
    }

    /// An offset literal (`, off`), usually none.
    fn offset(&mut self) -> String {
        match self.rng.below(80) {
            0..=59 => String::new(),
            60..=77 => format!(", {}", self.rng.range(0, 8)),
            78 => format!(", {}", *self.rng.pick(&[65528u64, 65536, 0x1_0000 * 2])),
            _ => format!(", {}", *self.rng.pick(&[0xffff_ffffu64, 0x8000_0000])),
        }
    }

    /// A load or a store of any width, from the operation table.
    fn memory_access(&mut self) {
        let ops: Vec<_> = OPS
            .iter()
            .filter(|o| o.flags & (READS_MEMORY | WRITES_MEMORY) != 0 && o.imm == Imm::Offset)
            .collect();
        let op = **self.rng.pick(&ops);
        let ty = match op.suffix {
            Suffix::I32 => Type::I32,
            Suffix::I64 => Type::I64,
            _ => self.rng.ty(),
        };
        let addr = self.address();
        let mut args = vec![format!("v{addr}")];
        for p in &op.params[1..] {
            let v = self.val(p.resolve(ty));
            args.push(format!("v{v}"));
        }
        let off = self.offset();
        let text = format!("{}.{} {}{}", op.name, ty, args.join(", "), off);
        match op.results.first() {
            Some(r) => {
                let rt = r.resolve(ty);
                self.def(rt, &text);
            }
            None => self.effect(&text),
        }
    }

    fn memory_size_or_grow(&mut self) {
        if self.rng.chance(1, 2) {
            self.def(Type::I32, "memory.size");
            return;
        }
        let n = match self.rng.below(6) {
            0..=2 => {
                let k = self.rng.range(0, 2) as i64;
                self.konst(Type::I32, k)
            }
            3 => {
                let x = self.val(Type::I32);
                let m = self.konst(Type::I32, 3);
                self.def(Type::I32, &format!("band.i32 v{x}, v{m}"))
            }
            4 => self.val(Type::I32),
            _ => {
                let k = *self
                    .rng
                    .pick(&[-1i64, 0x10000, 0x8000_0000u32 as i32 as i64, 65535]);
                self.konst(Type::I32, k)
            }
        };
        self.def(Type::I32, &format!("memory.grow v{n}"));
    }

    fn call(&mut self) {
        let mut choices: Vec<Sig> = self.env.callees.clone();
        if self.env.rec {
            choices.push(Sig {
                name: "rec".into(),
                params: vec![Type::I32, Type::I64],
                results: vec![Type::I64],
            });
        }
        if choices.is_empty() {
            self.pure_op();
            return;
        }
        let sig = self.rng.pick(&choices).clone();
        // Now and then a load just before the call whose value meets the call's first
        // result just after it: a load that cannot be fused into its user at its own
        // place, since the other operand is written only by the call.
        let first = sig.results.first().copied();
        let loaded = match first {
            Some(t) if self.rng.chance(1, 4) => {
                let addr = self.address();
                Some((self.def(t, &format!("load.{t} v{addr}")), t))
            }
            _ => None,
        };
        let mut args = Vec::new();
        for (i, &p) in sig.params.iter().enumerate() {
            let v = if sig.name == "rec" && i == 0 {
                let x = self.val(Type::I32);
                let m = self.konst(Type::I32, self.env.rec_mask as i64);
                self.def(Type::I32, &format!("band.i32 v{x}, v{m}"))
            } else {
                self.val(p)
            };
            args.push(format!("v{v}"));
        }
        let call = format!("call @{}({})", sig.name, args.join(", "));
        if sig.results.is_empty() {
            self.effect(&call);
        } else {
            let rs: Vec<String> = sig
                .results
                .iter()
                .map(|&t| format!("v{}", self.fresh(t)))
                .collect();
            let _ = writeln!(self.out, "    {} = {call}", rs.join(", "));
            self.budget -= 1;
            if let Some((l, t)) = loaded {
                let r = &rs[0];
                let op = *self
                    .rng
                    .pick(&["iadd", "isub", "imul", "band", "bor", "bxor"]);
                let text = if self.rng.chance(1, 2) {
                    format!("{op}.{t} v{l}, {r}")
                } else {
                    format!("{op}.{t} {r}, v{l}")
                };
                self.def(t, &text);
            }
        }
    }

    /// A condition: an `i32` or `i64` value, a comparison, or `eqz`.
    fn condition(&mut self) -> u32 {
        match self.rng.below(4) {
            0 => {
                let t = self.rng.ty();
                self.val(t)
            }
            1 => {
                let t = self.rng.ty();
                let x = self.val(t);
                self.def(Type::I32, &format!("eqz.{t} v{x}"))
            }
            _ => {
                let t = self.rng.ty();
                let a = self.val(t);
                let b = self.val(t);
                let cc = *self.rng.pick(&[
                    "eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge",
                ]);
                self.def(Type::I32, &format!("icmp.{cc}.{t} v{a}, v{b}"))
            }
        }
    }

    /// A guard that traps with `unreachable` when an (unlikely-ish) condition holds.
    fn trap_guard(&mut self) {
        let t = self.rng.ty();
        let x = self.val(t);
        let c = if self.rng.chance(4, 5) {
            let k = edge_value(self.rng, t);
            let k = self.konst(t, k);
            self.def(Type::I32, &format!("icmp.eq.{t} v{x}, v{k}"))
        } else {
            self.def(Type::I32, &format!("eqz.{t} v{x}"))
        };
        let trap = self.block_name();
        let cont = self.block_name();
        if self.rng.chance(1, 2) {
            let _ = writeln!(self.out, "    brif v{c}, {trap}, {cont}");
        } else {
            let n = self.def(Type::I32, &format!("eqz.i32 v{c}"));
            let _ = writeln!(self.out, "    brif v{n}, {cont}, {trap}");
        }
        let _ = writeln!(self.out, "{trap}:\n    trap\n{cont}:");
    }

    /// Types for a merge block's parameters.
    fn merge_types(&mut self) -> Vec<Type> {
        let n = self.rng.range(0, 3);
        (0..n).map(|_| self.rng.ty()).collect()
    }

    /// Arguments of `types` from the pool.
    fn args_for(&mut self, types: &[Type]) -> String {
        let vs: Vec<String> = types.iter().map(|&t| format!("v{}", self.val(t))).collect();
        vs.join(", ")
    }

    /// Opens block `name` with fresh parameters of `types`; returns them.
    fn open_block(&mut self, name: &str, types: &[Type]) -> Vec<u32> {
        let vs: Vec<u32> = types.iter().map(|&t| self.fresh(t)).collect();
        if types.is_empty() {
            let _ = writeln!(self.out, "{name}:");
        } else {
            let ps: Vec<String> = vs
                .iter()
                .zip(types)
                .map(|(v, t)| format!("v{v}: {t}"))
                .collect();
            let _ = writeln!(self.out, "{name}({}):", ps.join(", "));
        }
        vs
    }

    /// `brif` into two arms that meet again in a block with parameters.
    fn diamond(&mut self) {
        let c = self.condition();
        let types = self.merge_types();
        let merge = self.block_name();
        let then = self.block_name();
        let saved = self.pool.len();
        if self.rng.chance(1, 4) {
            // One arm goes straight to the merge block with arguments.
            let a = self.args_for(&types);
            let target = if types.is_empty() {
                merge.clone()
            } else {
                format!("{merge}({a})")
            };
            if self.rng.chance(1, 2) {
                let _ = writeln!(self.out, "    brif v{c}, {then}, {target}");
            } else {
                let _ = writeln!(self.out, "    brif v{c}, {target}, {then}");
            }
            self.arm(&then, &merge, &types);
        } else {
            let els = self.block_name();
            let _ = writeln!(self.out, "    brif v{c}, {then}, {els}");
            self.arm(&then, &merge, &types);
            self.pool.truncate(saved);
            self.arm(&els, &merge, &types);
        }
        self.pool.truncate(saved);
        self.open_block(&merge, &types);
    }

    /// One arm: block `name`, some code, a jump to `merge` with arguments of `types`.
    fn arm(&mut self, name: &str, merge: &str, types: &[Type]) {
        self.open_block(name, &[]);
        self.nest += 1;
        let n = self.rng.range(0, 4);
        self.segments(n);
        self.nest -= 1;
        if self.rng.chance(1, 30) {
            self.out.push_str("    trap\n");
            return;
        }
        let a = self.args_for(types);
        if types.is_empty() {
            let _ = writeln!(self.out, "    jump {merge}");
        } else {
            let _ = writeln!(self.out, "    jump {merge}({a})");
        }
    }

    /// A `br_table` over a few arms (duplicates allowed), with an index in or out of
    /// range.
    fn switch(&mut self) {
        let idx = match self.rng.below(4) {
            0 => self.val(Type::I32),
            1 => {
                let k = self.rng.range(0, 5) as i64;
                self.konst(Type::I32, k)
            }
            _ => {
                let x = self.val(Type::I32);
                let m = self.konst(Type::I32, 3);
                self.def(Type::I32, &format!("band.i32 v{x}, v{m}"))
            }
        };
        let types = self.merge_types();
        let merge = self.block_name();
        let narms = self.rng.range(1, 3) as usize;
        let arms: Vec<String> = (0..narms).map(|_| self.block_name()).collect();
        let dflt = self.block_name();
        let n = self.rng.range(0, 4);
        let table: Vec<String> = (0..n)
            .map(|_| {
                if self.rng.chance(1, 6) {
                    dflt.clone()
                } else {
                    self.rng.pick(&arms).clone()
                }
            })
            .collect();
        let _ = writeln!(
            self.out,
            "    br_table v{idx}, [{}], {dflt}",
            table.join(", ")
        );
        let saved = self.pool.len();
        for a in arms.iter().chain(std::iter::once(&dflt)) {
            self.pool.truncate(saved);
            self.arm(a, &merge, &types);
        }
        self.pool.truncate(saved);
        self.open_block(&merge, &types);
    }

    /// A loop with a counter bounded by a small constant and carried values that are
    /// rotated, swapped or replaced on the back edge.
    fn do_loop(&mut self) {
        let do_while = self.rng.chance(1, 2);
        // A do-while loop tests the stepped counter, so it runs at least once.
        let trips = self.rng.range(u64::from(do_while), 6) as i64;
        let ct = if self.rng.chance(3, 4) {
            Type::I32
        } else {
            Type::I64
        };
        let down = self.rng.chance(1, 3);
        let ncarry = self.rng.range(1, 3) as usize;
        let same = self.rng.chance(2, 3);
        let t0 = self.rng.ty();
        let carry_types: Vec<Type> = (0..ncarry)
            .map(|_| if same { t0 } else { self.rng.ty() })
            .collect();
        let cpos = self.rng.below(ncarry as u64 + 1) as usize;
        let mut types = carry_types.clone();
        types.insert(cpos, ct);

        let init = if down { trips } else { 0 };
        let init = self.konst(ct, init);
        let mut args: Vec<String> = carry_types
            .iter()
            .map(|&t| format!("v{}", self.val(t)))
            .collect();
        args.insert(cpos, format!("v{init}"));
        let header = self.block_name();
        let exit = self.block_name();
        let _ = writeln!(self.out, "    jump {header}({})", args.join(", "));

        let saved = self.pool.len();
        let params = self.open_block(&header, &types);
        let counter = params[cpos];
        let mut carried = params.clone();
        carried.remove(cpos);
        self.loop_depth += 1;
        self.nest += 1;
        // A while loop tests at the top; a do-while loop at the bottom with a brif whose
        // targets take arguments.
        let exit_types = if do_while {
            self.merge_types()
        } else {
            Vec::new()
        };
        let header_keep;
        if !do_while {
            let c = self.loop_test(ct, counter, down, trips);
            let body = self.block_name();
            let _ = writeln!(self.out, "    brif v{c}, {body}, {exit}");
            header_keep = self.pool.len();
            self.open_block(&body, &[]);
        } else {
            header_keep = self.pool.len();
        }
        let n = self.rng.range(1, 4);
        self.segments(n);
        let step = self.step(ct, counter, down);
        let back = self.back_edge(&carry_types, &carried, cpos, step);
        if do_while {
            let c = self.loop_test(ct, step, down, trips);
            let ea = self.args_for(&exit_types);
            let exit_target = if exit_types.is_empty() {
                exit.clone()
            } else {
                format!("{exit}({ea})")
            };
            let _ = writeln!(self.out, "    brif v{c}, {header}({back}), {exit_target}");
        } else {
            let _ = writeln!(self.out, "    jump {header}({back})");
        }
        self.loop_depth -= 1;
        self.nest -= 1;
        if do_while {
            self.pool.truncate(saved);
        } else {
            self.pool.truncate(header_keep);
        }
        self.open_block(&exit, &exit_types);
    }

    /// True while the loop goes on: `counter < trips` counting up, `counter > 0` down.
    fn loop_test(&mut self, ct: Type, counter: u32, down: bool, trips: i64) -> u32 {
        if down {
            let z = self.konst(ct, 0);
            let cc = if self.rng.chance(1, 2) { "sgt" } else { "ne" };
            self.def(Type::I32, &format!("icmp.{cc}.{ct} v{counter}, v{z}"))
        } else {
            let k = self.konst(ct, trips);
            let cc = *self.rng.pick(&["slt", "ult", "ne"]);
            self.def(Type::I32, &format!("icmp.{cc}.{ct} v{counter}, v{k}"))
        }
    }

    fn step(&mut self, ct: Type, counter: u32, down: bool) -> u32 {
        match (down, self.rng.chance(1, 2)) {
            (false, _) => {
                let one = self.konst(ct, 1);
                self.def(ct, &format!("iadd.{ct} v{counter}, v{one}"))
            }
            (true, true) => {
                let one = self.konst(ct, 1);
                self.def(ct, &format!("isub.{ct} v{counter}, v{one}"))
            }
            (true, false) => {
                let m = self.konst(ct, -1);
                self.def(ct, &format!("iadd.{ct} v{m}, v{counter}"))
            }
        }
    }

    /// The back edge's arguments: the stepped counter at its place, and for the carried
    /// values a rotation or swap of the parameters, some replaced by new values.
    fn back_edge(&mut self, types: &[Type], carried: &[u32], cpos: usize, step: u32) -> String {
        let n = carried.len();
        let shift = self.rng.below(n as u64) as usize;
        let mut args: Vec<String> = Vec::new();
        for i in 0..n {
            let j = (i + shift) % n;
            let v = if types[j] == types[i] && self.rng.chance(2, 3) {
                carried[j]
            } else {
                self.val(types[i])
            };
            args.push(format!("v{v}"));
        }
        if n >= 2 && self.rng.chance(1, 4) {
            // A plain swap of the first two when their types agree.
            if types[0] == types[1] {
                args.swap(0, 1);
            }
        }
        args.insert(cpos, format!("v{step}"));
        args.join(", ")
    }

    /// One piece of code: straight-line operations, a division, memory, a call, or
    /// (when not nested too deep) control flow.
    fn segment(&mut self) {
        let deep = self.nest >= 3;
        match self.rng.below(100) {
            0..=39 => {
                let n = self.rng.range(1, 6);
                for _ in 0..n {
                    self.pure_op();
                }
            }
            40..=47 => self.division(),
            48..=59 => {
                if (self.env.has_memory && self.env.pages > 0) || self.rng.chance(1, 6) {
                    self.memory_access();
                } else {
                    self.pure_op();
                }
            }
            60..=62 => self.memory_size_or_grow(),
            63..=70 => {
                if self.loop_depth <= 1 {
                    self.call();
                } else {
                    self.pure_op();
                }
            }
            71..=73 => self.trap_guard(),
            74..=82 if !deep => self.diamond(),
            83..=88 if !deep => self.switch(),
            89..=96 if !deep && self.loop_depth < self.env.max_loop_depth => self.do_loop(),
            _ => self.pure_op(),
        }
    }

    fn segments(&mut self, n: u64) {
        for _ in 0..n {
            if self.budget <= 0 {
                break;
            }
            self.segment();
        }
    }

    /// Generates segments until the budget is spent, then returns values of `results`,
    /// each folded with a few others of its type so that most of the work is seen.
    fn finish(mut self, results: &[Type]) -> String {
        while self.budget > 0 {
            self.segment();
        }
        if self.rng.chance(1, 60) {
            self.out.push_str("    trap\n");
            return self.out;
        }
        let mut rs = Vec::new();
        for &t in results {
            let mut v = self.val(t);
            for _ in 0..self.rng.range(0, 4) {
                let w = self.val(t);
                let op = *self.rng.pick(&["bxor", "iadd", "isub", "rotl"]);
                v = self.def(t, &format!("{op}.{t} v{v}, v{w}"));
            }
            rs.push(format!("v{v}"));
        }
        if rs.is_empty() {
            self.out.push_str("    return\n");
        } else {
            let _ = writeln!(self.out, "    return {}", rs.join(", "));
        }
        self.out
    }
}

fn types_text(ts: &[Type]) -> String {
    ts.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn header(name: &str, params: &[Type], results: &[Type]) -> String {
    if results.is_empty() {
        format!("func @{name}({}) {{\n", types_text(params))
    } else {
        format!(
            "func @{name}({}) -> {} {{\n",
            types_text(params),
            types_text(results)
        )
    }
}

/// `@rec(n, x)`: recursion of depth `n` (signed; 0 or less returns at once), each level
/// doing a few generated operations on `x`.
fn rec_function(rng: &mut Rng, env: &Env) -> String {
    let mut text = header("rec", &[Type::I32, Type::I64], &[Type::I64]);
    let env = Env {
        callees: Vec::new(),
        rec: false,
        rec_mask: 0,
        pages: env.pages,
        has_memory: env.has_memory,
        max_loop_depth: 0,
    };
    let mut g = FuncGen::new(rng, &env, &[Type::I32, Type::I64], 0);
    let zero = g.konst(Type::I32, 0);
    let c = g.def(Type::I32, &format!("icmp.sle.i32 v0, v{zero}"));
    let _ = writeln!(g.out, "    brif v{c}, base, step");
    g.out.push_str("base:\n    return v1\nstep:\n");
    let one = g.konst(Type::I32, 1);
    let n1 = g.def(Type::I32, &format!("isub.i32 v0, v{one}"));
    for _ in 0..g.rng.range(1, 5) {
        if g.rng.chance(1, 5) {
            g.division();
        } else {
            g.pure_op();
        }
    }
    let x = g.val(Type::I64);
    let r = g.fresh(Type::I64);
    let _ = writeln!(g.out, "    v{r} = call @rec(v{n1}, v{x})");
    for _ in 0..g.rng.range(0, 3) {
        g.pure_op();
    }
    let y = g.val(Type::I64);
    let op = *g.rng.pick(&["iadd", "bxor", "imul"]);
    let z = g.def(Type::I64, &format!("{op}.i64 v{r}, v{y}"));
    let _ = writeln!(g.out, "    return v{z}");
    text.push_str(&g.out);
    text.push_str("}\n");
    text
}

/// `@probe()`: memory size and a checksum of the bytes the programs write most
/// (`0..288` and the last 16 bytes of the first page), 0 without memory.
const PROBE: &str = "\
func @probe() -> i32, i64 {
entry:
    v0 = memory.size
    v1 = iconst.i64 0
    v2 = iconst.i32 0
    brif v0, scan(v2, v1), done(v1)
scan(v3: i32, v4: i64):
    v5 = load.i64 v3
    v6 = iconst.i64 31
    v7 = imul.i64 v4, v6
    v8 = iadd.i64 v7, v5
    v9 = iconst.i32 8
    v10 = iadd.i32 v3, v9
    v11 = iconst.i32 288
    v12 = icmp.ult.i32 v10, v11
    brif v12, scan(v10, v8), tail
tail:
    v13 = iconst.i32 65520
    v14 = load.i64 v13
    v15 = load.i64 v13, 8
    v16 = bxor.i64 v8, v14
    v17 = rotl.i64 v16, v6
    v18 = iadd.i64 v17, v15
    jump done(v18)
done(v19: i64):
    return v0, v19
}
";

/// The text of the module for `seed`.
pub fn program(seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut text = format!("; generated program, seed {seed}\n");

    let has_memory = !rng.chance(1, 20);
    let pages = if has_memory {
        *rng.pick(&[0u32, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2])
    } else {
        0
    };
    if has_memory {
        let max = pages + rng.range(0, 3) as u32;
        let _ = writeln!(text, "memory {pages} max {max}");
        if pages > 0 && rng.chance(1, 3) {
            let off = rng.range(0, 256);
            let n = rng.range(1, 16);
            let bytes: String = (0..n)
                .map(|_| format!("\\{:02x}", rng.below(256)))
                .collect();
            let _ = writeln!(text, "data {off} \"{bytes}\"");
        }
    }
    let rec = rng.chance(1, 3);
    let rec_mask = if rng.chance(1, 12) { 0x3fff } else { 15 };

    // Helpers f0..fk-1: fi may call fj for j > i, so calls form a DAG.
    let nhelpers = rng.range(0, 3) as usize;
    let sigs: Vec<Sig> = (0..nhelpers)
        .map(|i| Sig {
            name: format!("f{i}"),
            params: (0..rng.range(0, 3)).map(|_| rng.ty()).collect(),
            results: (0..*rng.pick(&[0u64, 1, 1, 1, 2, 3]))
                .map(|_| rng.ty())
                .collect(),
        })
        .collect();
    // Helpers are written after main now and then: calls may come before the callee.
    let mut helpers = Vec::new();
    for (i, sig) in sigs.iter().enumerate() {
        let env = Env {
            callees: sigs[i + 1..].to_vec(),
            rec,
            rec_mask,
            pages,
            has_memory,
            max_loop_depth: 1,
        };
        let budget = rng.range(3, 30) as i64;
        let g = FuncGen::new(&mut rng, &env, &sig.params, budget);
        let body = g.finish(&sig.results);
        helpers.push(format!(
            "{}{body}}}\n",
            header(&sig.name, &sig.params, &sig.results)
        ));
    }

    let params: Vec<Type> = (0..rng.range(1, 4)).map(|_| rng.ty()).collect();
    let results: Vec<Type> = (0..rng.range(1, 3)).map(|_| rng.ty()).collect();
    let env = Env {
        callees: sigs.clone(),
        rec,
        rec_mask,
        pages,
        has_memory,
        max_loop_depth: 2,
    };
    let budget = rng.range(10, 120) as i64;
    let g = FuncGen::new(&mut rng, &env, &params, budget);
    let body = g.finish(&results);
    let main = format!("{}{body}}}\n", header("main", &params, &results));

    let helpers_first = rng.chance(1, 2);
    if helpers_first {
        text.extend(helpers.iter().cloned());
    }
    text.push_str(&main);
    if !helpers_first {
        text.extend(helpers.iter().cloned());
    }
    if rec {
        text.push_str(&rec_function(&mut rng, &env));
    }
    text.push_str(PROBE);
    text
}

/// Arguments for `@main` of `module` (the program of `seed`): edge values and random
/// ones.
pub fn args(seed: u64, module: &Module) -> Vec<Value> {
    let mut rng = Rng::new(seed ^ 0xa5a5_5a5a_dead_beef);
    let main = module
        .funcs
        .iter()
        .find(|f| f.name == "main")
        .expect("a generated module has @main");
    main.sig
        .params
        .iter()
        .map(|&t| Value::from_bits(t, edge_value(&mut rng, t) as u64))
        .collect()
}
