//! Patch recipes: for a stencil whose holes (before its trailing `jmp`) all take an
//! operand, the result or an offset, what placing it takes, worked out once: its code
//! padded to a fixed length, so that it is copied without a call, and per hole where the
//! field is, which number it takes, its addend and the range the field admits.
//!
//! Placing by a recipe writes the same bytes as copying the code and calling [`patch`]
//! for each hole (`every_recipe_places_as_patch_does`).
//!
//! [`patch`]: super::patch

use std::sync::OnceLock;

use super::{HoleValue, Kind, Reloc, Stencil, STENCILS};

/// Bytes of code a recipe keeps; longer stencils have none.
pub(crate) const PADDED: usize = 64;

/// Where a patched number comes from: operands 0 to 3, the result, the offset.
pub(crate) const RESULT: u8 = 4;
pub(crate) const OFFSET: u8 = 5;

/// The range of a field: what the number plus addend must lie in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Range {
    /// A sign-extended field (a displacement): `i32`.
    I32,
    /// A zero-extended field: `u32`.
    U32,
    /// An immediate, of which the stencil reads the low 32 bits: `i32` or `u32`.
    Imm,
}

impl Range {
    /// The least number of the range and how far above it the greatest lies.
    fn bounds(self) -> (i64, u64) {
        match self {
            Range::I32 => (i32::MIN as i64, u32::MAX as u64),
            Range::U32 => (0, u32::MAX as u64),
            Range::Imm => (i32::MIN as i64, u32::MAX as u64 + (1 << 31)),
        }
    }
}

/// One hole of a recipe.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fill {
    /// Byte offset of the field.
    pub offset: u8,
    /// Which number: an operand's index, [`RESULT`] or [`OFFSET`].
    pub src: u8,
    /// Added to the number.
    pub addend: i32,
    /// The least number (before the addend) the field admits.
    low: i64,
    /// How far above `low` the greatest admitted number lies.
    span: u64,
}

impl Fill {
    /// The field's bits for number `v`, and whether `v` plus the addend lies in the
    /// field's range (the bits mean nothing when it does not). Branch-free, so that a
    /// recipe's holes are filled in a straight line and judged once.
    #[inline(always)]
    pub fn field(&self, v: i64) -> (u32, bool) {
        let (above, wrapped) = v.overflowing_sub(self.low);
        (
            (v as u32).wrapping_add(self.addend as u32),
            !wrapped && above as u64 <= self.span,
        )
    }
}

/// The most holes a recipe fills.
const FILLS: usize = 6;

/// How to place a stencil with its trailing `jmp` (if any) dropped.
#[derive(Debug)]
pub(crate) struct Recipe {
    /// The code, then zeros up to [`PADDED`] bytes.
    pub code: [u8; PADDED],
    /// Its length without the trailing `jmp`.
    pub len: u8,
    /// The numbers the holes take, a bit per source.
    pub needs: u8,
    /// How many of `fills` there are.
    count: u8,
    fills: [Fill; FILLS],
}

impl Recipe {
    /// The holes to fill, by offset.
    #[inline(always)]
    pub fn fills(&self) -> &[Fill] {
        &self.fills[..self.count as usize]
    }

    /// True when the holes take nothing but the first `operands` operands, the result if
    /// there is one, and the offset: the numbers an operation of that shape gives.
    pub fn takes(&self, operands: usize, result: bool) -> bool {
        let have = ((1u32 << operands.min(4)) - 1) as u8 | u8::from(result) << RESULT | 1 << OFFSET;
        self.needs & !have == 0
    }
}

/// The recipe of a stencil of the library, when it has one.
#[inline]
pub(crate) fn recipe(stencil: &'static Stencil) -> Option<&'static Recipe> {
    static RECIPES: OnceLock<Box<[Option<Recipe>]>> = OnceLock::new();
    let recipes = RECIPES.get_or_init(|| STENCILS.iter().map(make).collect());
    let i = (stencil as *const Stencil as usize).wrapping_sub(STENCILS.as_ptr() as usize)
        / std::mem::size_of::<Stencil>();
    match (STENCILS.get(i), recipes.get(i)) {
        (Some(s), Some(r)) if std::ptr::eq(s, stencil) => r.as_ref(),
        _ => None,
    }
}

/// The recipe of `s`, if every hole before its trailing `jmp` takes an operand, the result
/// or an offset and the code is short enough.
fn make(s: &Stencil) -> Option<Recipe> {
    let len = s.code.len() - s.tail_jmp as usize;
    if s.code.len() > PADDED {
        return None;
    }
    let mut fills = [Fill {
        offset: 0,
        src: 0,
        addend: 0,
        low: 0,
        span: 0,
    }; FILLS];
    let mut count = 0;
    let mut needs = 0u8;
    for h in s.holes.iter().take_while(|h| h.offset as usize + 4 <= len) {
        let (src, immediate) = match h.value {
            HoleValue::Operand(n) if n < RESULT => (n, s.kinds.get(n as usize) == Some(&Kind::Imm)),
            HoleValue::Result => (RESULT, false),
            HoleValue::Offset => (OFFSET, true),
            _ => return None,
        };
        // The ranges of `patch::field_and_range`.
        let range = match h.reloc {
            Reloc::PcRel32 => return None,
            _ if immediate => Range::Imm,
            Reloc::Abs32 => Range::U32,
            Reloc::Abs32S => Range::I32,
        };
        // `v + addend` in `[lo, lo + span]` is `v` in `[lo - addend, lo - addend + span]`.
        let (lo, span) = range.bounds();
        let addend = i32::try_from(h.addend).ok()?;
        *fills.get_mut(count)? = Fill {
            offset: u8::try_from(h.offset).ok()?,
            src,
            addend,
            low: lo - addend as i64,
            span,
        };
        count += 1;
        needs |= 1 << src;
    }
    let mut code = [0u8; PADDED];
    code[..s.code.len()].copy_from_slice(s.code);
    Some(Recipe {
        code,
        len: len as u8,
        needs,
        count: count as u8,
        fills,
    })
}

#[cfg(test)]
mod tests {
    use super::{recipe, OFFSET, RESULT};
    use crate::stencil::{patch, HoleValue, STENCILS};

    /// For every stencil with a recipe and a few numbers per hole, the recipe writes what
    /// copying the code and patching each hole writes, and refuses what `patch` refuses.
    #[test]
    fn every_recipe_places_as_patch_does() {
        let samples: [i64; 15] = [
            i64::MIN,
            i64::MIN + 1,
            i64::MAX,
            -0x7fff_ffff_ffff_fff0,
            0,
            8,
            -1,
            -8,
            0x7fff_ffff,
            0x1_0000_0000,
            0x7fff_fff8,
            0x8000_0000,
            0xffff_ffff,
            -0x8000_0000,
            -0x8000_0001,
        ];
        let mut with = 0;
        for s in STENCILS {
            let Some(r) = recipe(s) else { continue };
            with += 1;
            let len = r.len as usize;
            assert_eq!(&r.code[..len], &s.code[..len], "{}", s.name);
            for k in 0..samples.len() {
                // Numbers by source, different per source.
                let vals: Vec<i64> = (0..6).map(|i| samples[(k + i) % samples.len()]).collect();
                // By patch.
                let mut want = s.code[..len].to_vec();
                let mut want_ok = true;
                for h in s.holes.iter().filter(|h| h.offset as usize + 4 <= len) {
                    let v = match h.value {
                        HoleValue::Operand(n) => vals[n as usize],
                        HoleValue::Result => vals[RESULT as usize],
                        HoleValue::Offset => vals[OFFSET as usize],
                        other => panic!("{}: a recipe with hole {other:?}", s.name),
                    };
                    want_ok &= patch(s, h, &mut want, 0, v).is_ok();
                }
                // By the recipe.
                let mut got = r.code[..len].to_vec();
                let mut got_ok = true;
                for f in r.fills() {
                    let (bits, fits) = f.field(vals[f.src as usize]);
                    let at = f.offset as usize;
                    got[at..at + 4].copy_from_slice(&bits.to_le_bytes());
                    got_ok &= fits;
                }
                assert_eq!(got_ok, want_ok, "{} with {vals:?}", s.name);
                if want_ok {
                    assert_eq!(got, want, "{} with {vals:?}", s.name);
                }
            }
        }
        // The operations' stencils have recipes: most of the library.
        assert!(with * 2 > STENCILS.len(), "{with} of {}", STENCILS.len());
    }
}
