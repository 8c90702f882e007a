//! Emission: a module's cover turned into one code image. Each function's blocks are
//! placed in the order of [`layout`] (which the cover's blocks follow), each stencil
//! instance copied and its holes patched; a stencil's trailing `jmp` to what follows is
//! dropped, a `brif` is inverted when its taken successor comes next, block arguments are
//! parallel moves, and edges with moves go through short trampolines after the
//! function's blocks.
//!
//! The image is position-independent: code refers to code and to the data after it only
//! by 32-bit displacements, patched here. The data (callee descriptors, helper slots,
//! jump tables) holds 64-bit addresses, written once the image's address is known
//! ([`Image::absolute`]).

pub mod layout;
mod moves;

use smallvec::SmallVec;

use crate::ir::oplist::Imm;
use crate::ir::{self, Body, FuncId, Inst, Module, Opcode, TermKind, Terminator, Type, Value};
use crate::select::cover::{Cover, Covers, Detail, Edge, FuncCover, Instance, Operand, SlotRef};
use crate::select::extract::iconst_imms;
use crate::select::single::{inst_instance, term_instance, term_stencil};
use crate::select::tiles::tiles;
use crate::small::small;
use crate::stencil::recipe::{recipe, Recipe, OFFSET, PADDED, RESULT};
use crate::stencil::{field, misfit, patch, HoleValue, Stencil};
use crate::{Error, ErrorKind};
use layout::layout;
use moves::{sequence, Move, Moves, Src};

/// A 64-bit value to write into the data once the image's address is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Absolute {
    /// The address of this offset of the image.
    Code(usize),
    /// The runtime's import helper.
    ImportHelper,
    /// The runtime's `memory.grow` helper.
    GrowHelper,
    /// A plain number (a callee's frame size).
    Bits(u64),
}

/// A function of the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuncCode {
    /// Offset of its first stencil.
    pub entry: usize,
    /// Bytes of frame it needs: its slots, including the argument and result slots.
    pub frame_size: u64,
}

/// One stencil placed in the image, for listings.
#[derive(Clone, Debug)]
pub struct Placed {
    pub func: FuncId,
    /// Its offset in the image.
    pub offset: u32,
    /// Its length there (a dropped trailing `jmp` not counted).
    pub len: u32,
    pub stencil: &'static Stencil,
    /// What it stands for: the IR operations it covers, or a move (`move`) or a jump
    /// (`jump`) of the emitter's own.
    pub covers: Covers,
}

/// A module's code, not yet in executable memory.
#[derive(Clone, Debug, Default)]
pub struct Image {
    pub bytes: Vec<u8>,
    /// Per function of the module; `None` for imports.
    pub funcs: Vec<Option<FuncCode>>,
    /// 8-byte data words to fill: (offset, value).
    pub absolute: Vec<(usize, Absolute)>,
    /// Every stencil placed, in order.
    pub placed: Vec<Placed>,
}

/// Where a code hole leads.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// A label of the function being emitted.
    Label(usize),
    /// A data word of the image, by index.
    Data(usize),
}

/// What a hole gets.
enum Fill {
    /// A number: frame offset, immediate, count, index.
    Num(i64),
    /// The address right after the stencil as placed.
    Next,
    /// Resolved once the function's labels and the data are placed.
    At(Target),
}

/// A patch left for later.
struct Fixup {
    stencil: &'static Stencil,
    hole: usize,
    at: usize,
    target: Target,
}

/// Module-wide data words and which functions they serve.
struct Data {
    /// Per data word: what it holds.
    words: Vec<DataWord>,
    /// Index of each function's callee descriptor (two words).
    callee: Vec<usize>,
    import_helper: usize,
    grow_helper: usize,
}

enum DataWord {
    Abs(Absolute),
    /// The address of the function's label `.1` in function `.0` (a jump table entry).
    Label(FuncId, usize),
    /// The address of data word `n` (a table slot pointing at its table).
    Word(usize),
    /// Filled with the callee's entry once all functions are placed.
    Entry(FuncId),
}

/// What a function is emitted from.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// Its cover, chosen by selection.
    Cover(&'a FuncCover),
    /// Its IR, one stencil per operation, without a cover built first.
    SingleOp,
}

/// A branch edge: from a cover, or straight from the IR (every argument in its value's
/// slot).
#[derive(Clone, Copy)]
enum EdgeRef<'e> {
    Cover(&'e Edge),
    Ir(&'e ir::Target),
}

impl EdgeRef<'_> {
    /// The index of the block it leads to.
    fn block(self) -> usize {
        match self {
            EdgeRef::Cover(e) => e.block.index(),
            EdgeRef::Ir(t) => t.block.index(),
        }
    }
}

/// Why a function could not be emitted.
enum Fail {
    /// Located in the IR: an operation without a stencil.
    Ir(Error),
    /// The emitter's own trouble (a value that does not fit its hole).
    Emit(String),
}

impl From<String> for Fail {
    fn from(m: String) -> Fail {
        Fail::Emit(m)
    }
}

/// Emits `cover`, the cover of `module`, as one image.
///
/// # Errors
/// A value that does not fit its hole (a frame too large for 32-bit offsets), located at
/// the function.
pub fn emit(module: &Module, cover: &Cover) -> Result<Image, Error> {
    emit_funcs(
        module,
        cover.funcs.iter().map(|fc| (fc.func, Source::Cover(fc))),
    )
}

/// Emits a verified `module` with one stencil per operation, every operand in its
/// value's slot: classic copy-and-patch, straight from the IR. The stencils are those of
/// [`crate::select::single::single_op_cover`].
///
/// # Errors
/// An operation without a stencil, located at it; a value that does not fit its hole.
pub fn emit_single_op(module: &Module) -> Result<Image, Error> {
    emit_funcs(
        module,
        module
            .funcs
            .iter()
            .enumerate()
            .filter(|(_, f)| f.body.is_some())
            .map(|(i, _)| (FuncId(i as u32), Source::SingleOp)),
    )
}

fn emit_funcs<'a>(
    module: &'a Module,
    sources: impl Iterator<Item = (FuncId, Source<'a>)>,
) -> Result<Image, Error> {
    let mut data = Data {
        words: Vec::new(),
        callee: Vec::new(),
        import_helper: 0,
        grow_helper: 0,
    };
    for (i, _) in module.funcs.iter().enumerate() {
        data.callee.push(data.words.len());
        data.words.push(DataWord::Entry(FuncId(i as u32)));
        data.words.push(DataWord::Abs(Absolute::Bits(0)));
    }
    data.import_helper = data.words.len();
    data.words.push(DataWord::Abs(Absolute::ImportHelper));
    data.grow_helper = data.words.len();
    data.words.push(DataWord::Abs(Absolute::GrowHelper));

    // Room for about one stencil per operation, so that the buffers rarely grow.
    let ops: usize = (module.funcs.iter())
        .filter_map(|f| f.body.as_ref())
        .flat_map(|b| &b.blocks)
        .map(|b| b.insts.len() + 1)
        .sum();
    let mut image = Image {
        bytes: Vec::with_capacity(ops * 32),
        funcs: vec![None; module.funcs.len()],
        absolute: Vec::new(),
        placed: Vec::with_capacity(ops + ops / 4),
    };
    let mut fixups: Vec<(FuncId, Fixup)> = Vec::new();
    let mut labels: Vec<Vec<Option<usize>>> = vec![Vec::new(); module.funcs.len()];
    for (func, source) in sources {
        let f = &module.funcs[func.0 as usize];
        let Some(body) = &f.body else { continue };
        let (temps, used) = match source {
            Source::Cover(fc) => (
                fc.blocks.iter().map(|b| b.temps).max().unwrap_or(0),
                Some(values_used(body, fc)),
            ),
            Source::SingleOp => (0, None),
        };
        let mut fe = FuncEmitter::new(module, body, func, (temps, used), &mut data, &mut image);
        let entry = fe.image.bytes.len();
        let done = match source {
            Source::Cover(fc) => fe.cover(fc),
            Source::SingleOp => fe.single_op(),
        };
        done.map_err(|fail| match fail {
            Fail::Ir(e) => e,
            Fail::Emit(m) => Error::new(
                ErrorKind::Unsupported,
                &module.source,
                f.loc,
                format!("cannot emit `@{}`: {m}", f.name),
            ),
        })?;
        let frame_size = fe.frame_size();
        let (fx, lb) = (
            std::mem::take(&mut fe.fixups),
            std::mem::take(&mut fe.labels),
        );
        fixups.extend(fx.into_iter().map(|x| (func, x)));
        labels[func.0 as usize] = lb;
        image.funcs[func.0 as usize] = Some(FuncCode { entry, frame_size });
        if let DataWord::Abs(Absolute::Bits(b)) = &mut data.words[data.callee[func.0 as usize] + 1]
        {
            *b = frame_size;
        }
    }
    // The data, 16-byte aligned after the code.
    while !image.bytes.len().is_multiple_of(16) {
        image.bytes.push(0xcc);
    }
    let data_at = image.bytes.len();
    image.bytes.resize(data_at + 8 * data.words.len(), 0);
    let label = |func: FuncId, l: usize| -> Result<usize, String> {
        labels[func.0 as usize]
            .get(l)
            .copied()
            .flatten()
            .ok_or_else(|| format!("label {l} of function {} never placed", func.0))
    };
    for (i, w) in data.words.iter().enumerate() {
        let abs = match *w {
            DataWord::Abs(a) => a,
            DataWord::Label(func, l) => {
                Absolute::Code(label(func, l).map_err(|m| internal(module, m))?)
            }
            DataWord::Word(n) => Absolute::Code(data_at + 8 * n),
            DataWord::Entry(func) => match image.funcs[func.0 as usize] {
                Some(fcode) => Absolute::Code(fcode.entry),
                None => Absolute::Bits(0),
            },
        };
        image.absolute.push((data_at + 8 * i, abs));
    }
    for (func, x) in fixups {
        let to = match x.target {
            Target::Label(l) => label(func, l).map_err(|m| internal(module, m))?,
            Target::Data(n) => data_at + 8 * n,
        };
        let hole = &x.stencil.holes[x.hole];
        let len = x.stencil.code.len().min(image.bytes.len() - x.at);
        patch(
            x.stencil,
            hole,
            &mut image.bytes[x.at..x.at + len],
            x.at as u64,
            to as i64,
        )
        .map_err(|e| internal(module, e.to_string()))?;
    }
    Ok(image)
}

/// The slot of a value that has none.
const NO_SLOT: u32 = u32::MAX;

/// The numbers of a stencil's holes by source: operands 0 to 3, [`RESULT`], [`OFFSET`]
/// and two unused, so that an index taken modulo the length needs no bounds check.
const NUMBERS: usize = 8;

/// The values a function's cover reads or writes in their slots, by value.
fn values_used(body: &Body, fc: &FuncCover) -> Vec<bool> {
    let mut used = vec![false; body.values.len()];
    let mut mark = |v: Value| {
        if let Some(u) = used.get_mut(v.index()) {
            *u = true;
        }
    };
    for inst in fc.blocks.iter().flat_map(|b| &b.insts) {
        for o in inst.reads() {
            if let Operand::Slot(SlotRef::Value(v)) = *o {
                mark(v);
            }
        }
        if let Some(SlotRef::Value(v)) = inst.result {
            mark(v);
        }
        if let Detail::Call { results, .. } = &inst.detail {
            results.iter().flatten().for_each(|&r| mark(r));
        }
        for e in inst.edges() {
            e.moves.iter().for_each(|&(p, _)| mark(p));
        }
    }
    used
}

fn internal(module: &Module, message: String) -> Error {
    Error {
        kind: ErrorKind::Unsupported,
        file: module.source.clone(),
        loc: None,
        message,
    }
}

struct FuncEmitter<'a> {
    module: &'a Module,
    body: &'a Body,
    func: FuncId,
    data: &'a mut Data,
    image: &'a mut Image,
    /// The frame slot of each value.
    slot_of: Vec<u32>,
    /// The first slot of the block temporaries.
    temp_base: u32,
    /// A slot for breaking cycles of moves.
    scratch: u32,
    /// Slots in all.
    slots: u32,
    /// Label offsets: blocks first (label = block index), then trampolines.
    labels: Vec<Option<usize>>,
    fixups: Vec<Fixup>,
    /// Edges with moves, emitted after the blocks: (label, edge).
    trampolines: Vec<(usize, EdgeRef<'a>)>,
}

impl<'a> FuncEmitter<'a> {
    /// The emitter of `func`, whose blocks use `temps` temporaries and, when `used` is
    /// given, read or write only the values it marks.
    fn new(
        module: &'a Module,
        body: &'a Body,
        func: FuncId,
        (temps, used): (u32, Option<Vec<bool>>),
        data: &'a mut Data,
        image: &'a mut Image,
    ) -> FuncEmitter<'a> {
        // The entry block's parameters take slots 0, 1, … (the caller puts the
        // arguments there); every other value a slot of its own after them, but for a
        // value no instance reads or writes, which takes none: were one to, its offset
        // would not fit its hole, an error rather than a write elsewhere.
        let n = body.values.len() as u32;
        let entry_params = body.blocks.first().map_or(&[][..], |b| &b.params[..]);
        let (slot_of, temp_base) =
            if used.is_none() && (entry_params.iter().enumerate()).all(|(i, p)| p.index() == i) {
                // Every value takes a slot and the parameters come first: value i, slot i.
                ((0..n).collect(), n)
            } else {
                let mut slot_of = vec![NO_SLOT; n as usize];
                let mut next = 0u32;
                for &p in entry_params {
                    slot_of[p.index()] = next;
                    next += 1;
                }
                for (v, s) in slot_of.iter_mut().enumerate() {
                    if *s == NO_SLOT && used.as_ref().is_none_or(|u| u[v]) {
                        *s = next;
                        next += 1;
                    }
                }
                (slot_of, next)
            };
        // The scratch slot breaks cycles of parallel moves, those of a `return` among
        // them, whose destinations are the result slots 0, 1, …: it comes after them.
        let results = module.funcs[func.0 as usize].sig.results.len() as u32;
        let scratch = (temp_base + temps).max(results);
        let slots = scratch + 1;
        FuncEmitter {
            module,
            body,
            func,
            data,
            image,
            slot_of,
            temp_base,
            scratch,
            slots,
            labels: vec![None; body.blocks.len()],
            fixups: Vec::new(),
            trampolines: Vec::new(),
        }
    }

    fn frame_size(&self) -> u64 {
        8 * self.slots as u64
    }

    fn slot(&self, s: SlotRef) -> u32 {
        match s {
            SlotRef::Value(v) => self.slot_of[v.index()],
            SlotRef::Temp(t) => self.temp_base + t,
            SlotRef::Out(i) => self.slots + i,
            SlotRef::Ret(i) => i,
        }
    }

    /// Emits the function as `fc` covers it. A `jump` to a block that is a single
    /// conditional branch (a loop header that tests and branches) makes its moves and
    /// then branches itself, with a copy of that block's branch, rather than jumping to
    /// it: a taken jump fewer on every pass of the loop.
    fn cover(&mut self, fc: &'a FuncCover) -> Result<(), Fail> {
        let mut tests: Vec<Option<&'a Instance>> = vec![None; self.body.blocks.len()];
        for bc in &fc.blocks {
            if let [inst @ Instance {
                detail: Detail::Brif { .. },
                ..
            }] = &bc.insts[..]
            {
                tests[bc.block.index()] = Some(inst);
            }
        }
        for (i, bc) in fc.blocks.iter().enumerate() {
            self.labels[bc.block.index()] = Some(self.image.bytes.len());
            let next = fc.blocks.get(i + 1).map(|b| b.block.index());
            for inst in &bc.insts {
                if let Detail::Jump(edge) = &inst.detail {
                    let to = edge.block.index();
                    if let Some(test) = tests[to].filter(|_| next != Some(to)) {
                        self.edge_moves(EdgeRef::Cover(edge))?;
                        self.instance(test, next)?;
                        continue;
                    }
                }
                self.instance(inst, next)?;
            }
        }
        self.trampolines()
    }

    /// Emits the function with one stencil per operation, block by block in the order of
    /// [`layout`], each instance placed as it is made: nothing is kept of it but the code.
    fn single_op(&mut self) -> Result<(), Fail> {
        let (module, body) = (self.module, self.body);
        let order = layout(body);
        for (k, b) in order.iter().enumerate() {
            let block = &body.blocks[b.index()];
            self.labels[b.index()] = Some(self.image.bytes.len());
            let next = order.get(k + 1).map(|b| b.index());
            for inst in &block.insts {
                if inst.op == Opcode::Call {
                    let call = inst_instance(module, inst).map_err(Fail::Ir)?;
                    let Detail::Call {
                        func,
                        import,
                        args,
                        results,
                    } = &call.detail
                    else {
                        return Err(Fail::Emit("a call's instance is not a call".into()));
                    };
                    self.call(&call, *func, *import, args, results)?;
                } else {
                    self.single_inst(inst)?;
                }
            }
            if let Some(term) = &block.term {
                self.single_term(term, next)?;
            }
        }
        self.trampolines()
    }

    /// Places a terminator with its own stencil, its operands and branch arguments in
    /// their values' slots: what [`term_instance`] makes, without making it.
    fn single_term(&mut self, term: &'a Terminator, next: Option<usize>) -> Result<(), Fail> {
        let body = self.body;
        let Some((stencil, name, _)) = term_stencil(body, &term.kind) else {
            return Err(Fail::Ir(
                term_instance(self.module, body, term)
                    .err()
                    .unwrap_or_else(|| internal(self.module, "no terminator stencil".into())),
            ));
        };
        let covers = Covers::Name(name);
        match &term.kind {
            TermKind::Jump(t) => self.jump_edge(EdgeRef::Ir(t), next)?,
            TermKind::Brif { cond, then, els } => {
                let fills = [8 * self.slot_of[cond.index()] as i64];
                self.brif(
                    stencil,
                    &covers,
                    &fills,
                    EdgeRef::Ir(then),
                    EdgeRef::Ir(els),
                    next,
                )?;
            }
            TermKind::BrTable {
                index,
                targets,
                default,
            } => {
                let fills = [8 * self.slot_of[index.index()] as i64];
                self.br_table(stencil, covers, &fills, targets, *default)?;
            }
            TermKind::Return(vals) => {
                let srcs = vals.iter().map(|v| Src::Slot(self.slot_of[v.index()]));
                let moves = self.result_moves(srcs);
                self.ret(stencil, covers, moves)?;
            }
            TermKind::Trap => self.place(stencil, false, covers, |_| None)?,
        }
        Ok(())
    }

    /// Places an instruction other than a call with its own stencil, its operands in
    /// their slots: what [`inst_instance`] makes, without making it.
    fn single_inst(&mut self, inst: &Inst) -> Result<(), Fail> {
        // The numbers of the holes by source: the immediates of a constant, else the
        // operands' slot offsets; the result's; a memory access's offset.
        let mut vals = [0i64; NUMBERS];
        let ((stencil, recipe), operands) = if inst.op == Opcode::Iconst {
            let (stencil, recipe, imms, n) = iconst_imms(inst.ty.unwrap_or(Type::I32), inst.imm);
            vals[..2].copy_from_slice(&imms);
            ((stencil, recipe), n)
        } else {
            // What `inst_stencil` gives an operation other than a call or a constant.
            let Some(found) = tiles().all_slots.with_recipe(inst.op, inst.ty) else {
                // The located error of a missing stencil.
                return Err(Fail::Ir(
                    inst_instance(self.module, inst).err().unwrap_or_else(|| {
                        internal(self.module, format!("no stencil for `{}`", inst.mnemonic()))
                    }),
                ));
            };
            if inst.args.len() > 4 {
                return Err(Fail::Emit(format!(
                    "`{}` has too many operands",
                    inst.mnemonic()
                )));
            }
            for (v, a) in vals.iter_mut().zip(&inst.args) {
                *v = 8 * self.slot_of[a.index()] as i64;
            }
            (found, inst.args.len())
        };
        let result = inst
            .results
            .first()
            .map(|&r| 8 * self.slot_of[r.index()] as i64);
        vals[RESULT as usize] = result.unwrap_or(0);
        if inst.op.info().imm == Imm::Offset {
            vals[OFFSET as usize] = inst.imm as i64;
        }
        // The table's recipes take no more than the operation gives (`Recipe::takes`).
        let covers = Covers::Op(inst.op, inst.ty);
        self.place_numbers(stencil, recipe, covers, &vals, operands, result.is_some())?;
        Ok(())
    }

    /// Places an operation's stencil, its trailing `jmp` dropped, by its recipe
    /// ([`recipe`], looked up by the caller) where it has one: `operands` the numbers of
    /// its operands (frame offsets, immediates), `result` its result's frame offset, `off`
    /// a memory access's offset.
    #[inline(always)]
    fn operation(
        &mut self,
        stencil: &'static Stencil,
        recipe: Option<&'static Recipe>,
        covers: Covers,
        operands: &[i64],
        result: Option<i64>,
        off: i64,
    ) -> Result<(), String> {
        if operands.len() > 4 {
            return self.operation_by_holes(stencil, covers, operands, result, off);
        }
        let mut vals = [0i64; NUMBERS];
        vals[..operands.len()].copy_from_slice(operands);
        vals[RESULT as usize] = result.unwrap_or(0);
        vals[OFFSET as usize] = off;
        let recipe = recipe.filter(|r| r.takes(operands.len(), result.is_some()));
        self.place_numbers(
            stencil,
            recipe,
            covers,
            &vals,
            operands.len(),
            result.is_some(),
        )
    }

    /// Places `stencil` with `vals` the numbers of its holes by source (the first
    /// `operands` operands, the result when `result`, the offset): by `recipe` when it
    /// is given, which must take no more than that ([`Recipe::takes`]), and the numbers
    /// fit; else hole by hole, each error named.
    #[inline(always)]
    fn place_numbers(
        &mut self,
        stencil: &'static Stencil,
        recipe: Option<&'static Recipe>,
        covers: Covers,
        vals: &[i64; NUMBERS],
        operands: usize,
        result: bool,
    ) -> Result<(), String> {
        if let Some(r) = recipe {
            if self.by_recipe(r, stencil, covers, vals) {
                return Ok(());
            }
        }
        self.operation_by_holes(
            stencil,
            covers,
            &vals[..operands.min(4)],
            result.then_some(vals[RESULT as usize]),
            vals[OFFSET as usize],
        )
    }

    /// [`place_numbers`](Self::place_numbers) for a stencil without a recipe, or whose
    /// numbers do not all fit: hole by hole, each error named.
    #[inline(never)]
    fn operation_by_holes(
        &mut self,
        stencil: &'static Stencil,
        covers: Covers,
        operands: &[i64],
        result: Option<i64>,
        off: i64,
    ) -> Result<(), String> {
        let grow = self.data.grow_helper;
        self.place(stencil, stencil.tail_jmp > 0, covers, |h| match h {
            HoleValue::Operand(n) => operands.get(n as usize).map(|&v| Fill::Num(v)),
            HoleValue::Result => result.map(Fill::Num),
            HoleValue::Offset => Some(Fill::Num(off)),
            HoleValue::Continue => Some(Fill::Next),
            HoleValue::GrowHelper => Some(Fill::At(Target::Data(grow))),
            _ => None,
        })
    }

    /// Places `stencil` by its recipe `r`, `vals` the numbers of its holes by source:
    /// the code copied whole (a copy of fixed length is a few moves, not a call), every
    /// field written, then judged at once. False, placing nothing, when a number does not
    /// fit its field (`place` then says which).
    #[inline(always)]
    fn by_recipe(
        &mut self,
        r: &Recipe,
        stencil: &'static Stencil,
        covers: Covers,
        vals: &[i64; NUMBERS],
    ) -> bool {
        let image = &mut *self.image;
        let at = image.bytes.len();
        image.bytes.extend_from_slice(&r.code);
        let mut fits = true;
        if let Some(code) = image.bytes.get_mut(at..at + PADDED) {
            for f in r.fills() {
                let (bits, ok) = f.field(vals[f.src as usize % NUMBERS]);
                fits &= ok;
                let o = f.offset as usize;
                if let Some(field) = code.get_mut(o..o + 4) {
                    field.copy_from_slice(&bits.to_le_bytes());
                }
            }
        }
        if !fits {
            image.bytes.truncate(at);
            return false;
        }
        // The padding is cut off.
        image.bytes.truncate(at + r.len as usize);
        image.placed.push(Placed {
            func: self.func,
            offset: at as u32,
            len: r.len as u32,
            stencil,
            covers,
        });
        true
    }

    /// The trampolines of the edges with moves, after the blocks.
    fn trampolines(&mut self) -> Result<(), Fail> {
        let trampolines = std::mem::take(&mut self.trampolines);
        for (label, edge) in trampolines {
            self.labels[label] = Some(self.image.bytes.len());
            self.edge_moves(edge)?;
            self.jump(edge.block())?;
        }
        Ok(())
    }

    /// A `jump` to block `to`.
    fn jump(&mut self, to: usize) -> Result<(), String> {
        let jump = tiles().special.jump;
        self.place(jump, false, Covers::Name("jump"), |h| match h {
            HoleValue::Continue => Some(Fill::At(Target::Label(to))),
            _ => None,
        })
    }

    /// Places one instance; `next` is the block laid out after this one.
    fn instance(&mut self, inst: &'a Instance, next: Option<usize>) -> Result<(), String> {
        match &inst.detail {
            Detail::None | Detail::Offset(_) => {
                let off = match inst.detail {
                    Detail::Offset(o) => o as i64,
                    _ => 0,
                };
                let fills = self.operand_fills(inst);
                let result = inst.result.map(|r| 8 * self.slot(r) as i64);
                let s = inst.stencil;
                self.operation(s, recipe(s), inst.covers, &fills, result, off)?;
            }
            Detail::Call {
                func,
                import,
                args,
                results,
            } => self.call(inst, *func, *import, args, results)?,
            Detail::Jump(edge) => self.jump_edge(EdgeRef::Cover(edge), next)?,
            Detail::Brif { then, els } => {
                let fills = self.operand_fills(inst);
                let (then, els) = (EdgeRef::Cover(then), EdgeRef::Cover(els));
                self.brif(inst.stencil, &inst.covers, &fills, then, els, next)?;
            }
            Detail::BrTable { targets, default } => {
                let fills = self.operand_fills(inst);
                self.br_table(inst.stencil, inst.covers, &fills, targets, *default)?;
            }
            Detail::Return(vals) => {
                let moves = self.result_moves(vals.iter().map(|&v| self.src(v)));
                self.ret(inst.stencil, inst.covers, moves)?;
            }
        }
        Ok(())
    }

    /// A `jump` along `edge`: its moves, then the jump unless its block comes next.
    fn jump_edge(&mut self, edge: EdgeRef<'a>, next: Option<usize>) -> Result<(), String> {
        self.edge_moves(edge)?;
        let to = edge.block();
        if next != Some(to) {
            self.jump(to)?;
        }
        Ok(())
    }

    /// A conditional branch by `s`, `fills` its operands: the trailing `jmp` dropped
    /// when the false edge leads to the next block, the branch inverted when the true
    /// edge does. The edge that falls through makes its moves right after the branch;
    /// an edge taken by a jump with moves goes through a trampoline.
    fn brif(
        &mut self,
        s: &'static Stencil,
        covers: &Covers,
        fills: &[i64],
        then: EdgeRef<'a>,
        els: EdgeRef<'a>,
        next: Option<usize>,
    ) -> Result<(), String> {
        let leads_next = |e: EdgeRef| Some(e.block()) == next;
        if s.tail_jmp > 0 && leads_next(els) {
            let then_to = self.edge_target(then);
            self.place(s, true, *covers, |h| match h {
                HoleValue::Operand(n) => fills.get(n as usize).map(|&v| Fill::Num(v)),
                HoleValue::Target => Some(Fill::At(then_to)),
                _ => None,
            })?;
            self.edge_moves(els)
        } else if s.tail_jmp > 0 && s.tail_jcc > 0 && leads_next(then) {
            let els_to = self.edge_target(els);
            let at = self.image.bytes.len();
            self.place(s, true, *covers, |h| match h {
                HoleValue::Operand(n) => fills.get(n as usize).map(|&v| Fill::Num(v)),
                HoleValue::Target => Some(Fill::At(els_to)),
                _ => None,
            })?;
            if !s.invert_branch(&mut self.image.bytes[at..]) {
                return Err(format!("`{}` has no branch to invert", s.name));
            }
            self.edge_moves(then)
        } else {
            let then_to = self.edge_target(then);
            let els_to = self.edge_target(els);
            self.place(s, false, *covers, |h| match h {
                HoleValue::Operand(n) => fills.get(n as usize).map(|&v| Fill::Num(v)),
                HoleValue::Target => Some(Fill::At(then_to)),
                HoleValue::Continue => Some(Fill::At(els_to)),
                _ => None,
            })
        }
    }

    /// A `br_table` by `s`: its table of the targets' addresses, then the default's.
    fn br_table(
        &mut self,
        s: &'static Stencil,
        covers: Covers,
        fills: &[i64],
        targets: &[ir::BlockId],
        default: ir::BlockId,
    ) -> Result<(), String> {
        // The table's slot holds the table's address.
        let slot = self.data.words.len();
        self.data.words.push(DataWord::Word(slot + 1));
        for b in targets.iter().chain(std::iter::once(&default)) {
            self.data.words.push(DataWord::Label(self.func, b.index()));
        }
        let count = targets.len() as i64;
        self.place(s, false, covers, |h| match h {
            HoleValue::Operand(n) => fills.get(n as usize).map(|&v| Fill::Num(v)),
            HoleValue::Count => Some(Fill::Num(count)),
            HoleValue::Table => Some(Fill::At(Target::Data(slot))),
            _ => None,
        })
    }

    /// The moves of a `return`: the values into the result slots 0, 1, …
    fn result_moves(&self, srcs: impl Iterator<Item = Src>) -> Moves {
        let types = &self.module.funcs[self.func.0 as usize].sig.results;
        small((srcs.zip(types).enumerate()).map(|(i, (src, &ty))| Move {
            dst: i as u32,
            src,
            ty,
        }))
    }

    /// A `return` by `s` after `moves`.
    fn ret(&mut self, s: &'static Stencil, covers: Covers, moves: Moves) -> Result<(), String> {
        self.moves(moves)?;
        self.place(s, false, covers, |_| None)
    }

    /// Where a branch edge leads: its block, or a trampoline that makes its moves first.
    fn edge_target(&mut self, edge: EdgeRef<'a>) -> Target {
        let real = match edge {
            EdgeRef::Cover(e) => {
                (e.moves.iter()).any(|&(p, o)| o != Operand::Slot(SlotRef::Value(p)))
            }
            EdgeRef::Ir(t) => {
                let params = &self.body.blocks[t.block.index()].params;
                params.iter().zip(&t.args).any(|(p, a)| p != a)
            }
        };
        if !real {
            return Target::Label(edge.block());
        }
        let label = self.labels.len();
        self.labels.push(None);
        self.trampolines.push((label, edge));
        Target::Label(label)
    }

    /// The moves of an edge: its block's parameters from its arguments.
    fn edge_moves(&mut self, edge: EdgeRef<'a>) -> Result<(), String> {
        let body = self.body;
        match edge {
            EdgeRef::Cover(e) => self.moves_by(e.moves.len(), |fe, i| {
                let (p, o) = e.moves[i];
                Move {
                    dst: fe.slot_of[p.index()],
                    src: fe.src(o),
                    ty: body.ty(p),
                }
            }),
            EdgeRef::Ir(t) => {
                let params = &body.blocks[t.block.index()].params;
                self.moves_by(params.len().min(t.args.len()), |fe, i| Move {
                    dst: fe.slot_of[params[i].index()],
                    src: Src::Slot(fe.slot_of[t.args[i].index()]),
                    ty: body.ty(params[i]),
                })
            }
        }
    }

    /// Performs the `n` moves `at(self, i)` as if all at once. Most edges write no slot
    /// that another of their moves reads: then the moves go one by one as they come,
    /// without a list (what [`sequence`] would do with one).
    #[inline]
    fn moves_by(&mut self, n: usize, at: impl Fn(&Self, usize) -> Move) -> Result<(), String> {
        let free = (0..n).all(|i| {
            let d = Src::Slot(at(self, i).dst);
            (0..n).all(|j| j == i || at(self, j).src != d)
        });
        if !free {
            let moves: Moves = small((0..n).map(|i| at(self, i)));
            return self.moves(moves);
        }
        for i in 0..n {
            let m = at(self, i);
            if m.src != Src::Slot(m.dst) {
                self.one_move(m)?;
            }
        }
        Ok(())
    }

    fn src(&self, o: Operand) -> Src {
        match o {
            Operand::Slot(s) => Src::Slot(self.slot(s)),
            Operand::Imm(v) => Src::Imm(v),
        }
    }

    /// Performs `moves` as if all at once.
    fn moves(&mut self, mut moves: Moves) -> Result<(), String> {
        sequence(&mut moves, self.scratch, |m| self.one_move(m))
    }

    fn one_move(&mut self, m: Move) -> Result<(), String> {
        let mut vals = [0i64; NUMBERS];
        vals[RESULT as usize] = 8 * m.dst as i64;
        let (stencil, recipe, operands) = match m.src {
            Src::Slot(s) => {
                vals[0] = 8 * s as i64;
                let t = tiles();
                (t.special.copy, t.recipes.copy, 1)
            }
            Src::Imm(v) => {
                let (stencil, recipe, imms, n) = iconst_imms(m.ty, v as u64);
                vals[..2].copy_from_slice(&imms);
                (stencil, recipe, n)
            }
        };
        // The special recipes take no more than this (`SpecialRecipes`).
        let covers = Covers::Name("move");
        self.place_numbers(stencil, recipe, covers, &vals, operands, true)
    }

    fn call(
        &mut self,
        inst: &Instance,
        func: FuncId,
        import: bool,
        args: &[Operand],
        results: &[Option<Value>],
    ) -> Result<(), String> {
        let callee = &self.module.funcs[func.0 as usize];
        let base = self.slots;
        // Arguments into the callee's slots (or the import's area) after this frame.
        let moves: Moves = small((args.iter().zip(&callee.sig.params).enumerate()).map(
            |(i, (&o, &ty))| Move {
                dst: base + i as u32,
                src: self.src(o),
                ty,
            },
        ));
        self.moves(moves)?;
        let frame = self.frame_size() as i64;
        let desc = self.data.callee[func.0 as usize];
        let helper = self.data.import_helper;
        self.place(inst.stencil, true, inst.covers, |h| match h {
            HoleValue::FrameSize => Some(Fill::Num(frame)),
            HoleValue::Callee if !import => Some(Fill::At(Target::Data(desc))),
            HoleValue::ImportHelper if import => Some(Fill::At(Target::Data(helper))),
            HoleValue::Index => Some(Fill::Num(func.0 as i64)),
            HoleValue::Continue => Some(Fill::Next),
            _ => None,
        })?;
        // Results back from the same slots, but those read there.
        for (i, r) in results.iter().enumerate() {
            let Some(r) = *r else { continue };
            self.one_move(Move {
                dst: self.slot_of[r.index()],
                src: Src::Slot(base + i as u32),
                ty: self.body.ty(r),
            })?;
        }
        Ok(())
    }

    /// The numbers of an instance's operands: frame offsets of slots, immediates.
    fn operand_fills(&self, inst: &Instance) -> SmallVec<[i64; 4]> {
        small(inst.operands.iter().map(|&o| match o {
            Operand::Slot(s) => 8 * self.slot(s) as i64,
            Operand::Imm(v) => v,
        }))
    }

    /// Copies `stencil` (without its trailing `jmp` when `drop_tail`) and fills its
    /// holes: `fill` gives each hole's value; a hole it has none for (but one in the
    /// dropped `jmp`) is an error.
    fn place(
        &mut self,
        stencil: &'static Stencil,
        drop_tail: bool,
        covers: Covers,
        fill: impl Fn(HoleValue) -> Option<Fill>,
    ) -> Result<(), String> {
        let len = if drop_tail {
            stencil.code.len() - stencil.tail_jmp as usize
        } else {
            stencil.code.len()
        };
        let image = &mut *self.image;
        let at = image.bytes.len();
        image.bytes.extend_from_slice(&stencil.code[..len]);
        image.placed.push(Placed {
            func: self.func,
            offset: at as u32,
            len: len as u32,
            stencil,
            covers,
        });
        let code = &mut image.bytes[at..];
        // Holes come by offset: those past `len` are in the dropped `jmp`.
        for (k, hole) in stencil.holes.iter().enumerate() {
            if hole.offset as usize + 4 > len {
                break;
            }
            let Some(value) = fill(hole.value) else {
                return Err(unfilled(stencil, hole));
            };
            let v = match value {
                Fill::Num(v) => v,
                Fill::Next => (at + len) as i64,
                Fill::At(target) => {
                    self.fixups.push(Fixup {
                        stencil,
                        hole: k,
                        at,
                        target,
                    });
                    continue;
                }
            };
            // What `patch` does, without its `Result` on the hot path. The hole lies
            // within `code`: its end is at most `len`.
            let start = hole.offset as usize;
            match field(stencil, hole, at as u64, v) {
                Some(bits) => code[start..start + 4].copy_from_slice(&bits.to_le_bytes()),
                None => return Err(misfit(stencil, hole, at as u64, v).to_string()),
            }
        }
        Ok(())
    }
}

#[cold]
fn unfilled(stencil: &Stencil, hole: &crate::stencil::Hole) -> String {
    format!("nothing for hole {:?} of `{}`", hole.value, stencil.name)
}

#[cfg(test)]
mod tests {
    use crate::ir::Module;
    use crate::select::Selector;
    use crate::Config;

    /// Frame sizes of `@fib` of the corpus, worked out by hand from its cover and its IR.
    #[test]
    fn a_frame_holds_only_the_slots_its_code_uses() {
        let src = std::fs::read_to_string("tests/programs/fib.egir").expect("fib");
        let m = Module::from_text(&src, "fib.egir").expect("parse");
        let cover = Selector::new(&Config::default())
            .and_then(|s| s.cover(&m))
            .expect("cover");
        let image = super::emit(&m, &cover).expect("emit");
        // The cover reads or writes v0 (the parameter) and v5 (the first call's result,
        // read after the second call). The calls' arguments are written into the
        // callee's slot, the second result read there, the sum written into the result
        // slot: no temporary. Then the scratch slot of parallel moves: three slots.
        assert_eq!(image.funcs[0].map(|f| f.frame_size), Some(24));
        // One stencil per operation: all nine values and the scratch slot.
        let image = super::emit_single_op(&m).expect("emit");
        assert_eq!(image.funcs[0].map(|f| f.frame_size), Some(80));
    }
}
