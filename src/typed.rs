//! Typed calls: Rust types for IR values, so a call can skip the checks and the
//! allocations of a call with [`Value`] slices.
//!
//! [`Param`] is an IR value as a Rust integer; [`Params`] a function's parameters (a tuple
//! of up to eight), [`Results`] its results (`()`, one value, or a tuple).

use crate::ir::Type;
#[cfg(doc)]
use crate::Value;

mod sealed {
    pub trait Sealed {}
}

/// A Rust integer that is an IR value: `i32` and `u32` are `i32`, `i64` and `u64` are
/// `i64` (IR integers have no sign; the operations choose it).
pub trait Param: sealed::Sealed + Copy {
    /// Its IR type.
    const TYPE: Type;
    /// Its bits in a frame slot.
    fn to_bits(self) -> u64;
    /// The value of a frame slot.
    fn from_bits(bits: u64) -> Self;
}

macro_rules! param {
    ($t:ty, $ty:expr, $via:ty) => {
        impl sealed::Sealed for $t {}
        impl Param for $t {
            const TYPE: Type = $ty;
            fn to_bits(self) -> u64 {
                self as $via as u64
            }
            fn from_bits(bits: u64) -> Self {
                bits as $via as $t
            }
        }
    };
}
param!(i32, Type::I32, u32);
param!(u32, Type::I32, u32);
param!(i64, Type::I64, u64);
param!(u64, Type::I64, u64);

/// A function's parameters: a tuple of [`Param`]s.
pub trait Params: Copy {
    /// Their IR types, in order.
    const TYPES: &'static [Type];
    /// Writes them into the first slots of `slots`, which has room for all.
    fn write(self, slots: &mut [u64]);
}

/// A function's results: `()`, one [`Param`], or a tuple of them.
pub trait Results: Sized {
    /// Their IR types, in order.
    const TYPES: &'static [Type];
    /// Reads them from the first slots of `slots`.
    fn read(slots: &[u64]) -> Self;
}

impl<T: Param> Results for T {
    const TYPES: &'static [Type] = &[T::TYPE];
    fn read(slots: &[u64]) -> Self {
        T::from_bits(slots[0])
    }
}

macro_rules! tuples {
    ($( ($($t:ident $i:tt),*) )*) => {$(
        impl<$($t: Param),*> Params for ($($t,)*) {
            const TYPES: &'static [Type] = &[$($t::TYPE),*];
            #[allow(unused_variables)]
            fn write(self, slots: &mut [u64]) {
                $(slots[$i] = self.$i.to_bits();)*
            }
        }
        impl<$($t: Param),*> Results for ($($t,)*) {
            const TYPES: &'static [Type] = &[$($t::TYPE),*];
            #[allow(unused_variables, clippy::unused_unit)]
            fn read(slots: &[u64]) -> Self {
                ($($t::from_bits(slots[$i]),)*)
            }
        }
    )*};
}
tuples! {
    ()
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
}
