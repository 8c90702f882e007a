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
use std::sync::OnceLock;

use smallvec::SmallVec;

use super::oplist::{Imm, OpInfo};
use super::{
    type_list, BlockId, Body, Function, Inst, Loc, Module, Opcode, Signature, TermKind, Type, Value,
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

/// No block: a value not defined yet, a block not reached from the entry.
const NONE: u32 = u32::MAX;

/// Where each value is defined: (block, position), the position 0 for a parameter and
/// i + 1 for the i-th instruction.
type Defs = Vec<(u32, u32)>;

/// Records that `v` is defined at `pos` of block `b`; false when it is not a value of the
/// function or is defined already.
#[inline]
fn define(defs: &mut Defs, v: Value, b: usize, pos: usize) -> bool {
    match defs.get_mut(v.index()) {
        Some(d) if d.0 == NONE => {
            *d = (b as u32, pos as u32);
            true
        }
        _ => false,
    }
}

/// True when the immediate of `inst` (an operation described by `info`) is in range: none
/// is 0, a constant fits its type's bits, an offset fits 32 bits.
#[inline]
fn imm_ok(inst: &Inst, info: &OpInfo) -> bool {
    inst.imm <= imm_max(info, inst.ty)
}

/// The largest immediate in range for an operation described by `info` with suffix
/// `ty`.
fn imm_max(info: &OpInfo, ty: Option<Type>) -> u64 {
    match info.imm {
        Imm::None => 0,
        Imm::Int if ty == Some(Type::I32) => u32::MAX as u64,
        Imm::Int => u64::MAX,
        Imm::Offset => u32::MAX as u64,
    }
}

/// What an operation at a type takes and gives, worked out once from the operation table
/// for the one-pass check: the rules of [`FuncVerifier::sig`], [`imm_ok`] and
/// [`FuncVerifier::shape_ok`] for everything but a call.
#[derive(Clone, Copy, Debug)]
struct Shape {
    /// Operand types; the first `params` count.
    types: [Type; 3],
    params: u8,
    /// The result's type; every operation but a call has at most one result.
    result: Option<Type>,
    /// The largest immediate in range.
    imm_max: u64,
}

impl Shape {
    /// The shape of `op` with suffix `ty`; `None` for a call or a suffix `op` does not
    /// take.
    #[inline]
    fn of(op: Opcode, ty: Option<Type>) -> Option<Shape> {
        static SHAPES: OnceLock<Vec<Option<Shape>>> = OnceLock::new();
        let shapes = SHAPES.get_or_init(|| {
            let mut all = vec![None; Opcode::TYPED_COUNT];
            for &op in Opcode::ALL {
                for ty in [None, Some(Type::I32), Some(Type::I64)] {
                    all[op.typed_index(ty)] = Shape::make(op, ty);
                }
            }
            all
        });
        shapes.get(op.typed_index(ty)).copied().flatten()
    }

    fn make(op: Opcode, ty: Option<Type>) -> Option<Shape> {
        if op == Opcode::Call {
            return None;
        }
        let info = op.info();
        let t = op.suffix_type(ty)?;
        let mut types = [Type::I32; 3];
        for (slot, p) in types.iter_mut().zip(info.params) {
            *slot = p.resolve(t);
        }
        let result = match info.results {
            [] => None,
            [r] => Some(r.resolve(t)),
            _ => return None,
        };
        Some(Shape {
            types,
            params: u8::try_from(info.params.len()).ok().filter(|&n| n <= 3)?,
            result,
            imm_max: imm_max(info, ty),
        })
    }
}

/// True when `v` may be used at `pos` of block `b`: defined before it in the block, or in
/// a block that dominates it.
#[inline]
fn use_ok(defs: &Defs, dom: &DomTree, v: Value, b: usize, pos: usize) -> bool {
    match defs.get(v.index()) {
        Some(&(db, dp)) if db as usize == b => dp < pos as u32,
        Some(&(db, _)) => dom.dominates_use(db as usize, b),
        None => false,
    }
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

    /// Records that `v` is defined at `pos` of block `b`.
    #[inline]
    fn define(
        &self,
        defs: &mut Defs,
        v: Value,
        b: usize,
        pos: usize,
        loc: Loc,
    ) -> Result<(), Error> {
        if define(defs, v, b, pos) {
            Ok(())
        } else {
            Err(self.define_error(v, b, loc, defs.get(v.index()).is_some()))
        }
    }

    #[cold]
    fn define_error(&self, v: Value, b: usize, loc: Loc, twice: bool) -> Error {
        let msg = if twice {
            format!("value `{}` is defined twice", self.name(v))
        } else {
            format!("value {} does not belong to this function", v.0)
        };
        self.err(loc, Some(b), msg)
    }

    /// Checks a use of `v` at position `pos` of block `b`.
    #[inline]
    fn check_use(
        &self,
        defs: &Defs,
        dom: &DomTree,
        v: Value,
        b: usize,
        pos: usize,
        loc: Loc,
    ) -> Result<Type, Error> {
        if use_ok(defs, dom, v, b, pos) {
            Ok(self.body.ty(v))
        } else {
            Err(self.use_error(defs, v, b, loc))
        }
    }

    #[cold]
    fn use_error(&self, defs: &Defs, v: Value, b: usize, loc: Loc) -> Error {
        let Some(&(db, _)) = defs.get(v.index()) else {
            return self.err(loc, Some(b), format!("undefined value `{}`", self.name(v)));
        };
        self.err(
            loc,
            Some(b),
            format!(
                "value `{}` is used where its definition (in block `{}`) does not dominate the use",
                self.name(v),
                self.body.blocks[db as usize].name
            ),
        )
    }

    /// Checks the function: first in one pass that only says whether it is valid, and
    /// only if it is not, again in text order for the first error. The two apply the
    /// same rules (`the_one_pass_check_agrees_with_the_error_search`), so the second
    /// finds the error the first saw.
    fn run(&self) -> Result<(), Error> {
        if self.valid() {
            return Ok(());
        }
        self.first_error()
    }

    /// True when the function is valid: [`first_error`](Self::first_error) finds
    /// nothing. One pass over the instructions, defining values as they come; a use
    /// that the pass cannot settle (a value of another block, or one not defined yet) is
    /// checked after it, against the dominator tree.
    fn valid(&self) -> bool {
        let (body, f) = (self.body, self.f);
        let Some(entry) = body.blocks.first() else {
            return false;
        };
        let mut defs: Defs = vec![(NONE, 0); body.values.len()];
        let mut later: Vec<(Value, usize, usize)> = Vec::new();
        for (b, block) in body.blocks.iter().enumerate() {
            for &p in &block.params {
                if !define(&mut defs, p, b, 0) {
                    return false;
                }
            }
            for (i, inst) in block.insts.iter().enumerate() {
                if !self.inst_ok(&mut defs, &mut later, b, i + 1, inst) {
                    return false;
                }
            }
        }
        if defs.iter().any(|d| d.0 == NONE)
            || !(entry.params.iter().map(|&p| body.ty(p))).eq(f.sig.params.iter().copied())
        {
            return false;
        }
        let dom = DomTree::new(body);
        (later.iter()).all(|&(v, b, pos)| use_ok(&defs, &dom, v, b, pos))
            && (0..body.blocks.len()).all(|b| self.term(&defs, &dom, b).is_ok())
    }

    /// The one-pass check of the instruction at position `pos` of block `b`: the rules
    /// of [`inst`](Self::inst) and [`shape_ok`](Self::shape_ok), its results defined, and
    /// the uses it cannot settle (a value of another block or not defined yet) left in
    /// `later`. An operation is checked against its [`Shape`], each operand's definition
    /// and type in one walk; a call by its callee's signature.
    #[inline(always)]
    fn inst_ok(
        &self,
        defs: &mut Defs,
        later: &mut Vec<(Value, usize, usize)>,
        b: usize,
        pos: usize,
        inst: &Inst,
    ) -> bool {
        let values = &self.body.values[..];
        let (args, results) = (&inst.args[..], &inst.results[..]);
        // Defined earlier in this block (values are defined in order), or left for later.
        let mut settle = |a: Value| match defs.get(a.index()) {
            Some(&(db, _)) if db as usize == b => true,
            Some(_) => {
                later.push((a, b, pos));
                true
            }
            None => false,
        };
        if inst.op == Opcode::Call {
            return args.iter().all(|&a| settle(a))
                && (results.iter()).all(|&r| define(defs, r, b, pos))
                && self.sig(inst).is_some_and(|sig| self.shape_ok(inst, &sig));
        }
        let Some(shape) = Shape::of(inst.op, inst.ty) else {
            return false;
        };
        let ty = |v: Value| values.get(v.index()).map(|d| d.ty);
        args.len() == shape.params as usize
            && inst.imm <= shape.imm_max
            && (args.iter().zip(&shape.types)).all(|(&a, &t)| settle(a) && ty(a) == Some(t))
            && match (results, shape.result) {
                ([], None) => true,
                ([r], Some(t)) => define(defs, *r, b, pos) && ty(*r) == Some(t),
                _ => false,
            }
    }

    /// The first error of an invalid function, in text order: definitions first, then
    /// each instruction and terminator.
    fn first_error(&self) -> Result<(), Error> {
        let body = self.body;
        let f = self.f;
        if body.blocks.is_empty() {
            return Err(self.err(f.loc, None, "a function needs at least one block".into()));
        }
        // Every value defined exactly once.
        let mut defs: Defs = vec![(NONE, 0); body.values.len()];
        for (b, block) in body.blocks.iter().enumerate() {
            for &p in &block.params {
                self.define(&mut defs, p, b, 0, block.loc)?;
            }
            for (i, inst) in block.insts.iter().enumerate() {
                for &r in &inst.results {
                    self.define(&mut defs, r, b, i + 1, inst.loc)?;
                }
            }
        }
        if let Some(i) = defs.iter().position(|d| d.0 == NONE) {
            return Err(self.err(
                f.loc,
                None,
                format!("value `{}` is never defined", self.name(Value(i as u32))),
            ));
        }
        // The entry block's parameters are the function's.
        let entry = &body.blocks[0];
        if !entry
            .params
            .iter()
            .map(|&p| body.ty(p))
            .eq(f.sig.params.iter().copied())
        {
            let entry_types: Vec<Type> = entry.params.iter().map(|&p| body.ty(p)).collect();
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
        let dom = DomTree::new(body);
        for (b, block) in body.blocks.iter().enumerate() {
            for (i, inst) in block.insts.iter().enumerate() {
                self.inst(&defs, &dom, b, i + 1, inst)?;
            }
            self.term(&defs, &dom, b)?;
        }
        Ok(())
    }

    /// Checks the instruction at position `pos` of block `b`. Nothing is allocated on the
    /// way through a valid instruction: types are compared in place, messages built only
    /// for an error.
    fn inst(
        &self,
        defs: &Defs,
        dom: &DomTree,
        b: usize,
        pos: usize,
        inst: &Inst,
    ) -> Result<(), Error> {
        for &a in &inst.args {
            self.check_use(defs, dom, a, b, pos, inst.loc)?;
        }
        let Some(sig) = self.sig(inst) else {
            return Err(self.sig_error(b, inst));
        };
        if self.shape_ok(inst, &sig) {
            Ok(())
        } else {
            Err(self.inst_error(b, inst, &sig))
        }
    }

    /// What the instruction takes and gives: its callee's signature, or its operation's
    /// at its type; `None` for a call without a callee or a suffix the operation does not
    /// take.
    #[inline]
    fn sig(&self, inst: &Inst) -> Option<Sig<'_>> {
        let info = inst.op.info();
        if inst.op == Opcode::Call {
            let callee = inst.func.and_then(|c| self.m.funcs.get(c.index()))?;
            return Some(Sig::Call(&callee.sig));
        }
        inst.op.suffix_type(inst.ty).map(|t| Sig::Op(info, t))
    }

    #[cold]
    fn sig_error(&self, b: usize, inst: &Inst) -> Error {
        if inst.op == Opcode::Call {
            return self.err(inst.loc, Some(b), "`call` without a valid callee".into());
        }
        self.err(
            inst.loc,
            Some(b),
            format!(
                "`{}` has a type suffix that `{}` does not take",
                inst.mnemonic(),
                inst.op.info().name
            ),
        )
    }

    /// True when the operands and results have the number and types of `sig` and the
    /// immediate is in range. Every operand and result must be a value of the function.
    #[inline]
    fn shape_ok(&self, inst: &Inst, sig: &Sig) -> bool {
        let values = &self.body.values[..];
        let ty = |v: Value| values.get(v.index()).map(|d| d.ty);
        let (args, results) = (&inst.args[..], &inst.results[..]);
        let types_ok = match *sig {
            Sig::Op(info, t) => {
                args.len() == info.params.len()
                    && results.len() == info.results.len()
                    && (args.iter().zip(info.params)).all(|(&a, p)| ty(a) == Some(p.resolve(t)))
                    && (results.iter().zip(info.results)).all(|(&r, p)| ty(r) == Some(p.resolve(t)))
            }
            Sig::Call(s) => {
                args.len() == s.params.len()
                    && results.len() == s.results.len()
                    && (args.iter().zip(&s.params)).all(|(&a, &p)| ty(a) == Some(p))
                    && (results.iter().zip(&s.results)).all(|(&r, &p)| ty(r) == Some(p))
            }
        };
        types_ok && imm_ok(inst, inst.op.info())
    }

    /// The error of an instruction whose operands, results or immediate are wrong.
    #[cold]
    fn inst_error(&self, b: usize, inst: &Inst, sig: &Sig) -> Error {
        let body = self.body;
        let what = match (inst.op, inst.func.and_then(|c| self.m.funcs.get(c.index()))) {
            (Opcode::Call, Some(callee)) => format!("`call @{}`", callee.name),
            _ => format!("`{}`", inst.mnemonic()),
        };
        let err = |msg: String| self.err(inst.loc, Some(b), msg);
        if inst.args.len() != sig.params() {
            return err(format!(
                "{what} takes {} operand(s), found {}",
                sig.params(),
                inst.args.len()
            ));
        }
        for (k, &a) in inst.args.iter().enumerate() {
            let (want, have) = (sig.param(k), body.ty(a));
            if want != have {
                return err(format!(
                    "{what} operand {} (`{}`) has type {have}, expected {want}",
                    k + 1,
                    self.name(a)
                ));
            }
        }
        let want: Vec<Type> = (0..sig.results()).map(|k| sig.result(k)).collect();
        let have: Vec<Type> = inst.results.iter().map(|&r| body.ty(r)).collect();
        if want != have {
            return err(format!(
                "{what} returns ({}), but its results are ({})",
                type_list(&want),
                type_list(&have)
            ));
        }
        err(format!(
            "`{}` has an immediate out of range: {}",
            inst.mnemonic(),
            inst.imm
        ))
    }

    /// Checks the terminator of block `b`.
    fn term(&self, defs: &Defs, dom: &DomTree, b: usize) -> Result<(), Error> {
        let (body, f) = (self.body, self.f);
        let block = &body.blocks[b];
        let Some(term) = &block.term else {
            return Err(self.err(
                block.loc,
                Some(b),
                format!("block `{}` has no terminator", block.name),
            ));
        };
        let pos = block.insts.len() + 1;
        let use_ty = |v: Value| self.check_use(defs, dom, v, b, pos, term.loc);
        let target_ok = |t: BlockId, args: &[Value]| -> Result<(), Error> {
            let Some(tb) = body.blocks.get(t.index()) else {
                return Err(self.err(
                    term.loc,
                    Some(b),
                    format!("branch to a block that does not exist ({})", t.0),
                ));
            };
            let mut have: SmallVec<[Type; 4]> = SmallVec::new();
            for &a in args {
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
            TermKind::Jump(t) => target_ok(t.block, &t.args),
            TermKind::Brif { cond, then, els } => {
                use_ty(*cond)?;
                target_ok(then.block, &then.args)?;
                target_ok(els.block, &els.args)
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
                    target_ok(tb, &[])?;
                }
                Ok(())
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
                Ok(())
            }
            TermKind::Trap => Ok(()),
        }
    }
}

/// The successors of every block as one array: block `b`'s are
/// `succ[start[b]..start[b + 1]]`, targets outside the function left out.
fn successors(body: &Body) -> (Vec<u32>, Vec<u32>) {
    let n = body.blocks.len();
    let mut start = Vec::with_capacity(n + 1);
    let mut succ = Vec::with_capacity(2 * n);
    start.push(0);
    for block in &body.blocks {
        let mut add = |t: BlockId| {
            if t.index() < n {
                succ.push(t.0);
            }
        };
        match block.term.as_ref().map(|t| &t.kind) {
            Some(TermKind::Jump(t)) => add(t.block),
            Some(TermKind::Brif { then, els, .. }) => {
                add(then.block);
                add(els.block);
            }
            Some(TermKind::BrTable {
                targets, default, ..
            }) => {
                targets.iter().for_each(|&t| add(t));
                add(*default);
            }
            Some(TermKind::Return(_) | TermKind::Trap) | None => {}
        }
        start.push(succ.len() as u32);
    }
    (start, succ)
}

/// Immediate dominators (Cooper, Harvey and Kennedy, "A Simple, Fast Dominance
/// Algorithm"): `idom[0] = Some(0)`, `None` for blocks unreachable from the entry.
pub(crate) fn dominators(body: &Body) -> Vec<Option<usize>> {
    let n = body.blocks.len();
    let (start, succ) = successors(body);
    let succs = |b: usize| &succ[start[b] as usize..start[b + 1] as usize];
    // Reverse postorder by an iterative depth-first search.
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    let mut stack = vec![(0usize, 0usize)];
    seen[0] = true;
    while let Some((b, i)) = stack.last_mut() {
        if let Some(&s) = succs(*b).get(*i) {
            *i += 1;
            let s = s as usize;
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
    // Predecessors among the reached blocks, as one array like the successors.
    let mut pred_start = vec![0u32; n + 1];
    for &b in &order {
        for &s in succs(b) {
            pred_start[s as usize + 1] += 1;
        }
    }
    for b in 0..n {
        pred_start[b + 1] += pred_start[b];
    }
    let mut fill = pred_start.clone();
    let mut pred = vec![0u32; pred_start[n] as usize];
    for &b in &order {
        for &s in succs(b) {
            pred[fill[s as usize] as usize] = b as u32;
            fill[s as usize] += 1;
        }
    }
    let mut idom: Vec<Option<usize>> = vec![None; n];
    idom[0] = Some(0);
    let mut changed = true;
    while changed {
        changed = false;
        for &b in order.iter().skip(1) {
            let mut new: Option<usize> = None;
            for &p in &pred[pred_start[b] as usize..pred_start[b + 1] as usize] {
                let p = p as usize;
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

/// The dominator tree numbered by a depth-first walk, so that dominance is two
/// comparisons: `a` dominates `b` when `b`'s interval lies in `a`'s. Built at the first
/// question: a function whose values are all used in the blocks that define them never
/// needs it.
struct DomTree<'a> {
    body: &'a Body,
    /// Per block: (first, last) preorder number of its subtree; `first` is [`NONE`] for a
    /// block not reached from the entry.
    span: std::cell::OnceCell<Vec<(u32, u32)>>,
}

impl DomTree<'_> {
    fn new(body: &Body) -> DomTree<'_> {
        DomTree {
            body,
            span: std::cell::OnceCell::new(),
        }
    }

    fn spans(body: &Body) -> Vec<(u32, u32)> {
        let idom = dominators(body);
        let n = idom.len();
        // Children of each block in the tree, as one array.
        let mut start = vec![0u32; n + 1];
        for (b, d) in idom.iter().enumerate() {
            match *d {
                Some(p) if p != b => start[p + 1] += 1,
                _ => {}
            }
        }
        for b in 0..n {
            start[b + 1] += start[b];
        }
        let mut fill = start.clone();
        let mut child = vec![0u32; start[n] as usize];
        for (b, d) in idom.iter().enumerate() {
            match *d {
                Some(p) if p != b => {
                    child[fill[p] as usize] = b as u32;
                    fill[p] += 1;
                }
                _ => {}
            }
        }
        let mut span = vec![(NONE, 0); n];
        let mut next = 0u32;
        let mut stack = vec![(0usize, start[0])];
        span[0].0 = 0;
        while let Some((b, i)) = stack.last_mut() {
            let b = *b;
            if *i < start[b + 1] {
                let c = child[*i as usize] as usize;
                *i += 1;
                next += 1;
                span[c].0 = next;
                stack.push((c, start[c]));
            } else {
                span[b].1 = next;
                stack.pop();
            }
        }
        span
    }

    /// True when a value defined in block `def` may be used in block `b` (another
    /// block): `def` dominates `b`, or `b` is never reached, so nothing there runs.
    #[inline]
    fn dominates_use(&self, def: usize, b: usize) -> bool {
        let span = self.span.get_or_init(|| DomTree::spans(self.body));
        let (u, d) = (span[b], span[def]);
        u.0 == NONE || (d.0 != NONE && d.0 <= u.0 && u.0 <= d.1)
    }
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

#[cfg(test)]
mod one_pass {
    use super::FuncVerifier;
    use crate::ir::parse;

    /// Variants of a program, one line changed in each: deleted, swapped with the next,
    /// repeated, a type or a value number changed.
    fn variants(src: &str) -> Vec<String> {
        let lines: Vec<&str> = src.lines().collect();
        let mut out = Vec::new();
        let join = |ls: &[String]| ls.join("\n");
        for i in 0..lines.len() {
            let owned = || lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();
            let mut del = owned();
            del.remove(i);
            out.push(join(&del));
            if i + 1 < lines.len() {
                let mut swap = owned();
                swap.swap(i, i + 1);
                out.push(join(&swap));
            }
            let mut dup = owned();
            dup.insert(i, lines[i].to_string());
            out.push(join(&dup));
            for (from, to) in [("i32", "i64"), ("i64", "i32"), ("v1", "v2"), ("v0", "v3")] {
                if lines[i].contains(from) {
                    let mut changed = owned();
                    changed[i] = lines[i].replacen(from, to, 1);
                    out.push(join(&changed));
                }
            }
        }
        out
    }

    /// The one-pass check and the error search agree on every function of the corpus and
    /// of its variants (tens of thousands of functions, some thousands invalid).
    #[test]
    fn the_one_pass_check_agrees_with_the_error_search() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/programs");
        let (mut valid, mut invalid) = (0, 0);
        for entry in std::fs::read_dir(dir).expect("corpus") {
            let path = entry.expect("entry").path();
            let src = std::fs::read_to_string(&path).expect("read");
            for (k, text) in std::iter::once(src.clone())
                .chain(variants(&src))
                .enumerate()
            {
                let Ok(m) = parse(&text, "variant") else {
                    continue;
                };
                for f in &m.funcs {
                    let Some(body) = &f.body else { continue };
                    let v = FuncVerifier { m: &m, f, body };
                    let ok = v.valid();
                    assert_eq!(
                        ok,
                        v.first_error().is_ok(),
                        "{} variant {k}, `@{}`:\n{text}",
                        path.display(),
                        f.name
                    );
                    assert!(k > 0 || ok, "{} is valid", path.display());
                    if ok {
                        valid += 1;
                    } else {
                        invalid += 1;
                    }
                }
            }
        }
        assert!(
            valid > 1000 && invalid > 1000,
            "{valid} valid, {invalid} invalid"
        );
    }
}
