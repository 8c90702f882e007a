//! Patch functions: one per relocation kind, each checking that the value fits the
//! field and writing only the field's four bytes.

use std::fmt;

use super::{Hole, HoleValue, Kind, Reloc, Stencil};

/// A value that does not fit its hole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchError {
    /// The stencil.
    pub stencil: &'static str,
    /// The hole.
    pub hole: Hole,
    /// The value that did not fit (for `PcRel32`, the displacement).
    pub value: i128,
    /// The range the field takes.
    pub range: (i128, i128),
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stencil `{}`, hole {:?} at offset {} ({:?}): value {} does not fit ({} to {})",
            self.stencil,
            self.hole.value,
            self.hole.offset,
            self.hole.reloc,
            self.value,
            self.range.0,
            self.range.1
        )
    }
}

impl std::error::Error for PatchError {}

const I32: (i64, i64) = (i32::MIN as i64, i32::MAX as i64);
const U32: (i64, i64) = (0, u32::MAX as i64);
/// An immediate: the stencil reads only the field's 32 bits (`as u32`), so an `i32` or a
/// `u32` value fits.
const IMM: (i64, i64) = (i32::MIN as i64, u32::MAX as i64);

/// True when the hole carries a 32-bit immediate (an immediate operand or an offset).
fn is_immediate(stencil: &Stencil, hole: &Hole) -> bool {
    match hole.value {
        HoleValue::Operand(n) => stencil.kinds.get(n as usize) == Some(&Kind::Imm),
        HoleValue::Offset | HoleValue::Index | HoleValue::Count => true,
        _ => false,
    }
}

/// The value of `hole`'s field for `value` (`None` when the arithmetic overflows, which
/// no range admits) and the range it must lie in.
#[inline(always)]
fn field_and_range(
    stencil: &Stencil,
    hole: &Hole,
    at: u64,
    value: i64,
) -> (Option<i64>, (i64, i64)) {
    match hole.reloc {
        Reloc::PcRel32 => (
            value
                .checked_add(hole.addend)
                .and_then(|v| v.checked_sub(at as i64 + hole.offset as i64)),
            I32,
        ),
        _ if is_immediate(stencil, hole) => (value.checked_add(hole.addend), IMM),
        Reloc::Abs32 => (value.checked_add(hole.addend), U32),
        Reloc::Abs32S => (value.checked_add(hole.addend), I32),
    }
}

/// Patches `hole` of `stencil` in `code`, a copy of the stencil placed at address `at`.
///
/// `value` is what the hole's symbol stands for: a frame offset, an immediate (an `i32`
/// or `u32` value), or, for `PcRel32`, the target address (the field gets
/// `value + addend - (at + offset)`).
///
/// # Errors
/// [`PatchError`], naming stencil and hole, when the field cannot hold the value; `code`
/// is left unchanged.
pub fn patch(
    stencil: &'static Stencil,
    hole: &Hole,
    code: &mut [u8],
    at: u64,
    value: i64,
) -> Result<(), PatchError> {
    let start = hole.offset as usize;
    match (
        field(stencil, hole, at, value),
        code.get_mut(start..start + 4),
    ) {
        (Some(bits), Some(bytes)) => {
            bytes.copy_from_slice(&bits.to_le_bytes());
            Ok(())
        }
        _ => Err(misfit(stencil, hole, at, value)),
    }
}

/// The four bytes [`patch`] writes into `hole` for `value`; `None` when the value does
/// not fit. The emitter's hot path calls it directly and builds the error with
/// [`misfit`] only on failure: a `Result` carrying a [`PatchError`] costs it more.
#[inline(always)]
pub(crate) fn field(stencil: &Stencil, hole: &Hole, at: u64, value: i64) -> Option<u32> {
    let (field, (lo, hi)) = field_and_range(stencil, hole, at, value);
    field.filter(|v| (lo..=hi).contains(v)).map(|v| v as u32)
}

/// The error of a value that does not fit: the field's value recomputed without
/// overflow.
#[cold]
#[inline(never)]
pub(crate) fn misfit(stencil: &'static Stencil, hole: &Hole, at: u64, value: i64) -> PatchError {
    let mut field = value as i128 + hole.addend as i128;
    if hole.reloc == Reloc::PcRel32 {
        field -= at as i128 + hole.offset as i128;
    }
    let (_, (lo, hi)) = field_and_range(stencil, hole, at, value);
    PatchError {
        stencil: stencil.name,
        hole: *hole,
        value: field,
        range: (lo as i128, hi as i128),
    }
}
