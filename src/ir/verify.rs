//! The verifier: the rules of IR.md that the grammar alone does not enforce.
//!
//! Types of every operand and result, arity of calls and branch arguments, defined values
//! and blocks, SSA dominance, a terminator in every block, entry parameters matching the
//! signature, data segments that fit a declared memory.
//!
//! Memory operations are legal without a `memory`: IR.md gives such a module a memory of
//! size 0 in which every access traps, and programs rely on that. Every error points
//! at the offending item; a module built in code (no positions) gets the function and
//! block named instead.

use std::collections::HashMap;

use smallvec::SmallVec;

use super::oplist::{Imm, OpInfo, Suffix};
use super::{
    type_list, Body, Function, Loc, Module, Opcode, Signature, Target, TermKind, Type, Value,
};
use crate::error::{Error, ErrorKind};
use crate::semantics::{MAX_PAGES, PAGE_SIZE};

/// Checks a module; returns the first error found, in text order.
///
/// # Errors
/// A located [`Error`] of kind [`ErrorKind::Verify`].
pub fn verify(m: &Module) -> Result<(), Error> {
    let err = |loc: Loc, msg: String| Error::new(ErrorKind::Verify, &m.source, loc, msg);
    if let Some(mem) = &m.memory {
        if mem.initial > MAX_PAGES {
            return Err(err(
                mem.loc,
                format!("memory size {} is more than {MAX_PAGES} pages", mem.initial),
            ));
        }
        if let Some(max) = mem.max {
            if max > MAX_PAGES {
                return Err(err(
                    mem.loc,
                    format!("memory maximum {max} is more than {MAX_PAGES} pages"),
                ));
            }
            if max < mem.initial {
                return Err(err(
                    mem.loc,
                    format!(
                        "memory maximum {max} is less than its initial size {}",
                        mem.initial
                    ),
                ));
            }
        }
    }
    for d in &m.data {
        let size = m
            .memory
            .as_ref()
            .map_or(0, |mem| mem.initial as u64 * PAGE_SIZE);
        if m.memory.is_none() {
            return Err(err(d.loc, "a `data` segment needs a `memory`".to_string()));
        }
        if d.offset + d.bytes.len() as u64 > size {
            return Err(err(
                d.loc,
                format!(
                    "data segment of {} bytes at offset {} does not fit in the initial memory of {size} bytes",
                    d.bytes.len(),
                    d.offset
                ),
            ));
        }
    }
    let mut names: HashMap<&str, Loc> = HashMap::new();
    for f in &m.funcs {
        if names.insert(&f.name, f.loc).is_some() {
            return Err(err(
                f.loc,
                format!("function `@{}` is defined twice", f.name),
            ));
        }
    }
    for f in &m.funcs {
        if let Some(body) = &f.body {
            FuncVerifier { m, f, body }.run()?;
        }
    }
    Ok(())
}

/// What an instruction takes and gives: a callee's signature, or an operation's at a
/// type.
enum Sig<'s> {
    Call(&'s Signature),
    Op(&'static OpInfo, Type),
}

impl Sig<'_> {
    fn params(&self) -> usize {
        match self {
            Sig::Call(s) => s.params.len(),
            Sig::Op(info, _) => info.params.len(),
        }
    }

    fn param(&self, k: usize) -> Type {
        match self {
            Sig::Call(s) => s.params[k],
            Sig::Op(info, t) => info.params[k].resolve(*t),
        }
    }

    fn results(&self) -> usize {
        match self {
            Sig::Call(s) => s.results.len(),
            Sig::Op(info, _) => info.results.len(),
        }
    }

    fn result(&self, k: usize) -> Type {
        match self {
            Sig::Call(s) => s.results[k],
            Sig::Op(info, t) => info.results[k].resolve(*t),
        }
    }
}

struct FuncVerifier<'a> {
    m: &'a Module,
    f: &'a Function,
    body: &'a Body,
}

/// Where a value is defined: block, and position (0 for a parameter, i + 1 for the i-th
/// instruction).
#[derive(Clone, Copy)]
struct Def {
    block: usize,
    pos: usize,
}

impl FuncVerifier<'_> {
    fn err(&self, loc: Loc, block: Option<usize>, msg: String) -> Error {
        let msg = if loc.is_known() {
            msg
        } else {
            match block {
                Some(b) => format!(
                    "in `@{}`, block `{}`: {msg}",
                    self.f.name, self.body.blocks[b].name
                ),
                None => format!("in `@{}`: {msg}", self.f.name),
            }
        };
        Error::new(ErrorKind::Verify, &self.m.source, loc, msg)
    }

    fn name(&self, v: Value) -> String {
        self.body.value_name(v)
    }

    fn run(&self) -> Result<(), Error> {
        let body = self.body;
        let f = self.f;
        if body.blocks.is_empty() {
            return Err(self.err(f.loc, None, "a function needs at least one block".into()));
        }
        // Every value defined exactly once.
        let mut defs: Vec<Option<Def>> = vec![None; body.values.len()];
        let mut define = |v: Value, def: Def, loc: Loc| -> Result<(), Error> {
            match defs.get_mut(v.index()) {
                None => Err(self.err(
                    loc,
                    Some(def.block),
                    format!("value {} does not belong to this function", v.0),
                )),
                Some(Some(_)) => Err(self.err(
                    loc,
                    Some(def.block),
                    format!("value `{}` is defined twice", self.name(v)),
                )),
                Some(slot) => {
                    *slot = Some(def);
                    Ok(())
                }
            }
        };
        for (b, block) in body.blocks.iter().enumerate() {
            for &p in &block.params {
                define(p, Def { block: b, pos: 0 }, block.loc)?;
            }
            for (i, inst) in block.insts.iter().enumerate() {
                for &r in &inst.results {
                    define(
                        r,
                        Def {
                            block: b,
                            pos: i + 1,
                        },
                        inst.loc,
                    )?;
                }
            }
        }
        if let Some(i) = defs.iter().position(Option::is_none) {
            return Err(self.err(
                f.loc,
                None,
                format!("value `{}` is never defined", self.name(Value(i as u32))),
            ));
        }
        // The entry block's parameters are the function's.
        let entry = &body.blocks[0];
        let entry_types: Vec<Type> = entry.params.iter().map(|&p| body.ty(p)).collect();
        if entry_types != f.sig.params {
            return Err(self.err(
                entry.loc,
                Some(0),
                format!(
                    "the entry block's parameters ({}) do not match the signature of `@{}` ({})",
                    type_list(&entry_types),
                    f.name,
                    type_list(&f.sig.params)
                ),
            ));
        }
        let idom = dominators(body);
        let reachable = |b: usize| b == 0 || idom[b].is_some();
        let dominates = |a: usize, mut b: usize| loop {
            if a == b {
                return true;
            }
            match idom[b] {
                Some(p) if p != b => b = p,
                _ => return false,
            }
        };
        // A use of `v` at position `pos` of block `b`.
        let check_use = |v: Value, b: usize, pos: usize, loc: Loc| -> Result<Type, Error> {
            let Some(def) = defs.get(v.index()).copied().flatten() else {
                return Err(self.err(loc, Some(b), format!("undefined value `{}`", self.name(v))));
            };
            let ok = if def.block == b {
                def.pos < pos
            } else {
                !reachable(b) || (reachable(def.block) && dominates(def.block, b))
            };
            if !ok {
                return Err(self.err(
                    loc,
                    Some(b),
                    format!(
                        "value `{}` is used where its definition (in block `{}`) does not dominate the use",
                        self.name(v),
                        body.blocks[def.block].name
                    ),
                ));
            }
            Ok(body.ty(v))
        };
        for (b, block) in body.blocks.iter().enumerate() {
            for (i, inst) in block.insts.iter().enumerate() {
                let pos = i + 1;
                let info = inst.op.info();
                // Nothing is allocated on the way through a valid instruction: types are
                // compared in place, messages built only for an error.
                for &a in &inst.args {
                    check_use(a, b, pos, inst.loc)?;
                }
                let callee = inst.func.and_then(|c| self.m.funcs.get(c.index()));
                let sig = if inst.op == Opcode::Call {
                    let Some(callee) = callee else {
                        return Err(self.err(
                            inst.loc,
                            Some(b),
                            "`call` without a valid callee".into(),
                        ));
                    };
                    Sig::Call(&callee.sig)
                } else {
                    match (info.suffix, inst.ty) {
                        (Suffix::None, None) => Sig::Op(info, Type::I32),
                        (s, Some(t)) if s != Suffix::None && s.allows(t) => Sig::Op(info, t),
                        _ => {
                            return Err(self.err(
                                inst.loc,
                                Some(b),
                                format!(
                                    "`{}` has a type suffix that `{}` does not take",
                                    inst.mnemonic(),
                                    info.name
                                ),
                            ))
                        }
                    }
                };
                let what = || match callee {
                    Some(callee) if inst.op == Opcode::Call => format!("`call @{}`", callee.name),
                    _ => format!("`{}`", inst.mnemonic()),
                };
                if inst.args.len() != sig.params() {
                    return Err(self.err(
                        inst.loc,
                        Some(b),
                        format!(
                            "{} takes {} operand(s), found {}",
                            what(),
                            sig.params(),
                            inst.args.len()
                        ),
                    ));
                }
                for (k, &a) in inst.args.iter().enumerate() {
                    let (want, have) = (sig.param(k), body.ty(a));
                    if want != have {
                        return Err(self.err(
                            inst.loc,
                            Some(b),
                            format!(
                                "{} operand {} (`{}`) has type {have}, expected {want}",
                                what(),
                                k + 1,
                                self.name(a)
                            ),
                        ));
                    }
                }
                let results_ok = inst.results.len() == sig.results()
                    && (inst.results.iter().enumerate()).all(|(k, &r)| body.ty(r) == sig.result(k));
                if !results_ok {
                    let want: Vec<Type> = (0..sig.results()).map(|k| sig.result(k)).collect();
                    let have: Vec<Type> = inst.results.iter().map(|&r| body.ty(r)).collect();
                    return Err(self.err(
                        inst.loc,
                        Some(b),
                        format!(
                            "{} returns ({}), but its results are ({})",
                            what(),
                            type_list(&want),
                            type_list(&have)
                        ),
                    ));
                }
                let imm_ok = match info.imm {
                    Imm::None => inst.imm == 0,
                    Imm::Int => inst
                        .ty
                        .is_none_or(|t| t == Type::I64 || inst.imm <= u32::MAX as u64),
                    Imm::Offset => inst.imm <= u32::MAX as u64,
                };
                if !imm_ok {
                    return Err(self.err(
                        inst.loc,
                        Some(b),
                        format!(
                            "`{}` has an immediate out of range: {}",
                            inst.mnemonic(),
                            inst.imm
                        ),
                    ));
                }
            }
            let Some(term) = &block.term else {
                return Err(self.err(
                    block.loc,
                    Some(b),
                    format!("block `{}` has no terminator", block.name),
                ));
            };
            let pos = block.insts.len() + 1;
            let use_ty = |v: Value| check_use(v, b, pos, term.loc);
            let target_ok = |t: &Target| -> Result<(), Error> {
                let Some(tb) = body.blocks.get(t.block.index()) else {
                    return Err(self.err(
                        term.loc,
                        Some(b),
                        format!("branch to a block that does not exist ({})", t.block.0),
                    ));
                };
                let mut have: SmallVec<[Type; 4]> = SmallVec::new();
                for &a in &t.args {
                    have.push(use_ty(a)?);
                }
                if !tb
                    .params
                    .iter()
                    .map(|&p| body.ty(p))
                    .eq(have.iter().copied())
                {
                    let want: Vec<Type> = tb.params.iter().map(|&p| body.ty(p)).collect();
                    return Err(self.err(
                        term.loc,
                        Some(b),
                        format!(
                            "branch to `{}` passes ({}), but the block takes ({})",
                            tb.name,
                            type_list(&have),
                            type_list(&want)
                        ),
                    ));
                }
                Ok(())
            };
            match &term.kind {
                TermKind::Jump(t) => target_ok(t)?,
                TermKind::Brif { cond, then, els } => {
                    use_ty(*cond)?;
                    target_ok(then)?;
                    target_ok(els)?;
                }
                TermKind::BrTable {
                    index,
                    targets,
                    default,
                } => {
                    let t = use_ty(*index)?;
                    if t != Type::I32 {
                        return Err(self.err(
                            term.loc,
                            Some(b),
                            format!(
                                "`br_table` index `{}` has type {t}, expected i32",
                                self.name(*index)
                            ),
                        ));
                    }
                    for &tb in targets.iter().chain(std::iter::once(default)) {
                        target_ok(&Target {
                            block: tb,
                            args: Vec::new(),
                        })?;
                    }
                }
                TermKind::Return(vals) => {
                    let mut have: SmallVec<[Type; 4]> = SmallVec::new();
                    for &v in vals {
                        have.push(use_ty(v)?);
                    }
                    if have[..] != f.sig.results[..] {
                        return Err(self.err(
                            term.loc,
                            Some(b),
                            format!(
                                "`return` passes ({}), but `@{}` returns ({})",
                                type_list(&have),
                                f.name,
                                type_list(&f.sig.results)
                            ),
                        ));
                    }
                }
                TermKind::Trap => {}
            }
        }
        Ok(())
    }
}

/// Immediate dominators (Cooper, Harvey and Kennedy, "A Simple, Fast Dominance
/// Algorithm"): `idom[0] = Some(0)`, `None` for blocks unreachable from the entry.
pub(crate) fn dominators(body: &Body) -> Vec<Option<usize>> {
    let n = body.blocks.len();
    let succs: Vec<Vec<usize>> = body
        .blocks
        .iter()
        .map(|b| {
            b.term
                .as_ref()
                .map(|t| {
                    t.successors()
                        .into_iter()
                        .map(|s| s.index())
                        .filter(|&s| s < n)
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    // Reverse postorder by an iterative depth-first search.
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    let mut stack = vec![(0usize, 0usize)];
    seen[0] = true;
    while let Some((b, i)) = stack.last_mut() {
        if let Some(&s) = succs[*b].get(*i) {
            *i += 1;
            if !seen[s] {
                seen[s] = true;
                stack.push((s, 0));
            }
        } else {
            order.push(*b);
            stack.pop();
        }
    }
    order.reverse();
    let mut rpo_index = vec![usize::MAX; n];
    for (i, &b) in order.iter().enumerate() {
        rpo_index[b] = i;
    }
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (b, ss) in succs.iter().enumerate() {
        if seen[b] {
            for &s in ss {
                preds[s].push(b);
            }
        }
    }
    let mut idom: Vec<Option<usize>> = vec![None; n];
    idom[0] = Some(0);
    let mut changed = true;
    while changed {
        changed = false;
        for &b in order.iter().skip(1) {
            let mut new: Option<usize> = None;
            for &p in &preds[b] {
                if idom[p].is_none() {
                    continue;
                }
                new = Some(match new {
                    None => p,
                    Some(mut x) => {
                        let mut y = p;
                        while x != y {
                            while rpo_index[x] > rpo_index[y] {
                                x = idom[x].unwrap_or(0);
                            }
                            while rpo_index[y] > rpo_index[x] {
                                y = idom[y].unwrap_or(0);
                            }
                        }
                        x
                    }
                });
            }
            if new.is_some() && idom[b] != new {
                idom[b] = new;
                changed = true;
            }
        }
    }
    idom
}

#[cfg(test)]
mod tests {
    use super::dominators;
    use crate::ir::parse;

    /// Immediate dominators by block name, for a function given as text.
    fn idoms(src: &str) -> Vec<(String, Option<String>)> {
        let m = parse(src, "t").unwrap_or_else(|e| panic!("{e}"));
        let body = m.funcs[0].body.as_ref().expect("a body");
        dominators(body)
            .into_iter()
            .enumerate()
            .map(|(b, d)| {
                (
                    body.blocks[b].name.clone(),
                    d.map(|d| body.blocks[d].name.clone()),
                )
            })
            .collect()
    }

    fn pairs(expected: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        expected
            .iter()
            .map(|(b, d)| (b.to_string(), d.map(str::to_string)))
            .collect()
    }

    #[test]
    fn diamond_loop_and_unreachable_block() {
        // entry -> a | b; a, b -> join; join -> head; head -> body | exit; body -> head.
        let src = "func @f(i32) {
            entry(v0: i32): brif v0, a, b
            a: jump join
            b: jump join
            join: jump head
            head: brif v0, body, exit
            body: jump head
            exit: return
            dead: jump head
        }";
        let expected = [
            ("entry", Some("entry")),
            ("a", Some("entry")),
            ("b", Some("entry")),
            ("join", Some("entry")),
            ("head", Some("join")),
            ("body", Some("head")),
            ("exit", Some("head")),
            ("dead", None),
        ];
        assert_eq!(idoms(src), pairs(&expected));
    }

    #[test]
    fn irreducible_loop_entered_twice() {
        // entry -> x | y; x -> y; y -> x | out: neither x nor y dominates the other.
        let src = "func @f(i32) {
            entry(v0: i32): brif v0, x, y
            x: jump y
            y: brif v0, x, out
            out: return
        }";
        let expected = [
            ("entry", Some("entry")),
            ("x", Some("entry")),
            ("y", Some("entry")),
            ("out", Some("y")),
        ];
        assert_eq!(idoms(src), pairs(&expected));
    }
}
