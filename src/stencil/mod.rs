//! The stencil library as the runtime sees it: the generated table, holes modelled as
//! relocation records, and the checked patch functions.
//!
//! A [`Stencil`] is like a section of an object file: machine code with [`Hole`]s, each
//! like a relocation record (where, what kind of field, which value it takes, addend).
//! Copying a stencil and patching its holes is the whole of code generation.

#[path = "../../stencils/abi.rs"]
pub mod abi;
#[path = "../../stencils/holes.rs"]
mod holes;
mod listing;
mod patch;
pub(crate) mod recipe;
mod table;

pub use holes::{HoleValue, Reloc};
pub use listing::listing;
pub(crate) use patch::{field, misfit};
pub use patch::{patch, PatchError};
pub use table::STENCILS;

use crate::ir::{Opcode, Type};

/// How an operand reaches a stencil.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An 8-byte frame slot at an offset patched into the code.
    Slot,
    /// A 32-bit immediate patched into the code (sign-extended for `i64`).
    Imm,
}

impl Kind {
    /// Its letter in listings and in `stencils/superstencils.list`: `s` or `i`.
    pub fn letter(self) -> char {
        match self {
            Kind::Slot => 's',
            Kind::Imm => 'i',
        }
    }
}

/// A place in a stencil's code to patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hole {
    /// Byte offset of the field in the stencil's code.
    pub offset: u32,
    /// The kind of field.
    pub reloc: Reloc,
    /// Which value it takes.
    pub value: HoleValue,
    /// Added to the value (for `PcRel32`, -4: the field's end is the reference point).
    pub addend: i64,
}

/// One stencil: machine code compiled by rustc from `stencils/`, with its holes.
#[derive(Debug)]
pub struct Stencil {
    /// Its symbol, e.g. `iadd_i64_si`.
    pub name: &'static str,
    /// The operation it implements, if it implements one.
    pub opcode: Option<Opcode>,
    /// The type suffix it is for.
    pub ty: Option<Type>,
    /// Operand kinds, in operand order.
    pub kinds: &'static [Kind],
    /// The IR pattern it covers, in the rules' s-expression syntax.
    pub pattern: &'static str,
    /// The machine code.
    pub code: &'static [u8],
    /// The holes, by offset.
    pub holes: &'static [Hole],
    /// Cost from its machine code: one per instruction, one more per memory operand, one
    /// more per branch out of the stencil (a droppable trailing `jmp` not counted), 20
    /// more per division. Saturating.
    pub cost: u32,
    /// Length of the trailing `jmp` to the continuation, dropped when the continuation
    /// is laid out next; 0 if there is none.
    pub tail_jmp: u32,
    /// When the code ends `jcc Target; jmp Continue`: the offset of the `jcc`'s condition
    /// byte (`0F 8x`), so the emitter can invert it with [`Stencil::invert_branch`] and
    /// fall through to the target instead; 0 otherwise.
    pub tail_jcc: u32,
    /// The most bytes below its entry stack pointer the stencil itself uses (pushes and a
    /// call's return address); the callee's own use comes on top.
    pub stack: u32,
}

impl Stencil {
    /// The stencil called `name`.
    pub fn by_name(name: &str) -> Option<&'static Stencil> {
        STENCILS.iter().find(|s| s.name == name)
    }

    /// Inverts the condition of the trailing conditional jump in `code`, a copy of this
    /// stencil: afterwards the outcomes trade holes (the case that went to `Target` goes
    /// to `Continue` and the other way round). For `brif c, then, else` with `then` laid
    /// out next, the emitter inverts, patches `then` into `Continue` and `else` into
    /// `Target`, and drops the trailing `jmp`.
    /// Returns false, changing nothing, when the stencil has no such jump (`tail_jcc` 0).
    pub fn invert_branch(&self, code: &mut [u8]) -> bool {
        let at = self.tail_jcc as usize;
        match code.get_mut(at) {
            Some(cc) if at > 0 && *cc & 0xf0 == 0x80 => {
                *cc ^= 1;
                true
            }
            _ => false,
        }
    }
}
