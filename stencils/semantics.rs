//! The meaning of every IR operation, written once.
//!
//! This file is `no_std` and self-contained: the interpreter includes it as a module, and
//! the stencils are generated from the same functions, so the engines cannot disagree
//! about an operation's meaning. Because of that the interpreter is no oracle for these
//! functions: hand-written tables in the tests are.
//!
//! Values are machine words: `u32` for `i32` and `u64` for `i64` (two's complement). The
//! functions are generic over `Word`; a function's name is the operation's mnemonic
//! with `.` replaced by `_` (`icmp.slt` is `icmp_slt`).

/// Why an operation trapped. The numbers are the ABI between JIT code and the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum TrapCode {
    /// Division or remainder by zero.
    DivideByZero = 1,
    /// `sdiv` of MIN by -1.
    IntegerOverflow = 2,
    /// A memory access outside linear memory.
    OutOfBounds = 3,
    /// The `trap` terminator.
    Unreachable = 4,
    /// Call depth past the configured limit.
    CallStackExhausted = 5,
    /// An import returned an error.
    HostError = 6,
}

impl TrapCode {
    /// The trap a stencil's nonzero return status stands for, if it is one.
    pub fn from_status(status: u64) -> Option<TrapCode> {
        Some(match status {
            1 => TrapCode::DivideByZero,
            2 => TrapCode::IntegerOverflow,
            3 => TrapCode::OutOfBounds,
            4 => TrapCode::Unreachable,
            5 => TrapCode::CallStackExhausted,
            6 => TrapCode::HostError,
            _ => return None,
        })
    }
}

/// An integer machine word: `u32` (the IR's `i32`) or `u64` (`i64`).
pub trait Word: Copy + Eq + Ord {
    /// Width in bits.
    const BITS: u32;
    /// The smallest signed value, as a word (`0x8000...`).
    const SIGNED_MIN: Self;
    /// Zero.
    const ZERO: Self;
    /// All ones (-1).
    const ONES: Self;
    /// The low `BITS` bits of `x`.
    fn from_u64(x: u64) -> Self;
    /// Zero-extended to 64 bits.
    fn to_u64(self) -> u64;
    /// Sign-extended to 64 bits.
    fn to_i64(self) -> i64;
    /// Wrapping addition.
    fn add(self, b: Self) -> Self;
    /// Wrapping subtraction.
    fn sub(self, b: Self) -> Self;
    /// Wrapping multiplication.
    fn mul(self, b: Self) -> Self;
    /// Unsigned division; `b` is not zero.
    fn udiv(self, b: Self) -> Self;
    /// Unsigned remainder; `b` is not zero.
    fn urem(self, b: Self) -> Self;
    /// Signed division, wrapping; `b` is not zero.
    fn sdiv(self, b: Self) -> Self;
    /// Signed remainder, wrapping; `b` is not zero.
    fn srem(self, b: Self) -> Self;
    /// Shift left by `n mod BITS`.
    fn shl(self, n: u32) -> Self;
    /// Logical shift right by `n mod BITS`.
    fn ushr(self, n: u32) -> Self;
    /// Arithmetic shift right by `n mod BITS`.
    fn sshr(self, n: u32) -> Self;
    /// Rotate left by `n mod BITS`.
    fn rotl(self, n: u32) -> Self;
    /// Rotate right by `n mod BITS`.
    fn rotr(self, n: u32) -> Self;
    /// Leading zeros.
    fn clz(self) -> Self;
    /// Trailing zeros.
    fn ctz(self) -> Self;
    /// Set bits.
    fn popcnt(self) -> Self;
    /// Signed less-than.
    fn slt(self, b: Self) -> bool;
}

macro_rules! impl_word {
    ($u:ty, $s:ty) => {
        impl Word for $u {
            const BITS: u32 = <$u>::BITS;
            const SIGNED_MIN: Self = 1 << (<$u>::BITS - 1);
            const ZERO: Self = 0;
            const ONES: Self = <$u>::MAX;
            #[inline(always)]
            fn from_u64(x: u64) -> Self {
                x as $u
            }
            #[inline(always)]
            fn to_u64(self) -> u64 {
                self as u64
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as $s as i64
            }
            #[inline(always)]
            fn add(self, b: Self) -> Self {
                self.wrapping_add(b)
            }
            #[inline(always)]
            fn sub(self, b: Self) -> Self {
                self.wrapping_sub(b)
            }
            #[inline(always)]
            fn mul(self, b: Self) -> Self {
                self.wrapping_mul(b)
            }
            #[inline(always)]
            fn udiv(self, b: Self) -> Self {
                self / b
            }
            #[inline(always)]
            fn urem(self, b: Self) -> Self {
                self % b
            }
            #[inline(always)]
            fn sdiv(self, b: Self) -> Self {
                (self as $s).wrapping_div(b as $s) as $u
            }
            #[inline(always)]
            fn srem(self, b: Self) -> Self {
                (self as $s).wrapping_rem(b as $s) as $u
            }
            #[inline(always)]
            fn shl(self, n: u32) -> Self {
                self.wrapping_shl(n)
            }
            #[inline(always)]
            fn ushr(self, n: u32) -> Self {
                self.wrapping_shr(n)
            }
            #[inline(always)]
            fn sshr(self, n: u32) -> Self {
                (self as $s).wrapping_shr(n) as $u
            }
            #[inline(always)]
            fn rotl(self, n: u32) -> Self {
                self.rotate_left(n % <$u>::BITS)
            }
            #[inline(always)]
            fn rotr(self, n: u32) -> Self {
                self.rotate_right(n % <$u>::BITS)
            }
            #[inline(always)]
            fn clz(self) -> Self {
                self.leading_zeros() as $u
            }
            #[inline(always)]
            fn ctz(self) -> Self {
                self.trailing_zeros() as $u
            }
            #[inline(always)]
            fn popcnt(self) -> Self {
                self.count_ones() as $u
            }
            #[inline(always)]
            fn slt(self, b: Self) -> bool {
                (self as $s) < (b as $s)
            }
        }
    };
}

impl_word!(u32, i32);
impl_word!(u64, i64);

/// An `i32` boolean.
#[inline(always)]
fn flag(b: bool) -> u32 {
    b as u32
}

/// The shift count of `b`: the IR takes it modulo bits(T), which the shifts do.
#[inline(always)]
fn count<W: Word>(b: W) -> u32 {
    (b.to_u64() % W::BITS as u64) as u32
}

/// `iadd.T`: wrapping add.
#[inline(always)]
pub fn iadd<W: Word>(a: W, b: W) -> W {
    a.add(b)
}
/// `isub.T`: wrapping subtract.
#[inline(always)]
pub fn isub<W: Word>(a: W, b: W) -> W {
    a.sub(b)
}
/// `imul.T`: wrapping multiply.
#[inline(always)]
pub fn imul<W: Word>(a: W, b: W) -> W {
    a.mul(b)
}
/// `band.T`.
#[inline(always)]
pub fn band<W: Word>(a: W, b: W) -> W {
    W::from_u64(a.to_u64() & b.to_u64())
}
/// `bor.T`.
#[inline(always)]
pub fn bor<W: Word>(a: W, b: W) -> W {
    W::from_u64(a.to_u64() | b.to_u64())
}
/// `bxor.T`.
#[inline(always)]
pub fn bxor<W: Word>(a: W, b: W) -> W {
    W::from_u64(a.to_u64() ^ b.to_u64())
}
/// `ishl.T`: count is `b mod bits`.
#[inline(always)]
pub fn ishl<W: Word>(a: W, b: W) -> W {
    a.shl(count(b))
}
/// `ushr.T`: logical shift right, count `b mod bits`.
#[inline(always)]
pub fn ushr<W: Word>(a: W, b: W) -> W {
    a.ushr(count(b))
}
/// `sshr.T`: arithmetic shift right, count `b mod bits`.
#[inline(always)]
pub fn sshr<W: Word>(a: W, b: W) -> W {
    a.sshr(count(b))
}
/// `rotl.T`: count `b mod bits`.
#[inline(always)]
pub fn rotl<W: Word>(a: W, b: W) -> W {
    a.rotl(count(b))
}
/// `rotr.T`: count `b mod bits`.
#[inline(always)]
pub fn rotr<W: Word>(a: W, b: W) -> W {
    a.rotr(count(b))
}

/// `sdiv.T`: truncating; traps on zero and on MIN / -1.
#[inline(always)]
pub fn sdiv<W: Word>(a: W, b: W) -> Result<W, TrapCode> {
    if b == W::ZERO {
        Err(TrapCode::DivideByZero)
    } else if a == W::SIGNED_MIN && b == W::ONES {
        Err(TrapCode::IntegerOverflow)
    } else {
        Ok(a.sdiv(b))
    }
}
/// `udiv.T`: traps on zero.
#[inline(always)]
pub fn udiv<W: Word>(a: W, b: W) -> Result<W, TrapCode> {
    if b == W::ZERO {
        Err(TrapCode::DivideByZero)
    } else {
        Ok(a.udiv(b))
    }
}
/// `srem.T`: sign of `a`; traps on zero; MIN % -1 is 0.
#[inline(always)]
pub fn srem<W: Word>(a: W, b: W) -> Result<W, TrapCode> {
    if b == W::ZERO {
        Err(TrapCode::DivideByZero)
    } else {
        Ok(a.srem(b))
    }
}
/// `urem.T`: traps on zero.
#[inline(always)]
pub fn urem<W: Word>(a: W, b: W) -> Result<W, TrapCode> {
    if b == W::ZERO {
        Err(TrapCode::DivideByZero)
    } else {
        Ok(a.urem(b))
    }
}

/// `clz.T`: bits(T) for 0.
#[inline(always)]
pub fn clz<W: Word>(a: W) -> W {
    a.clz()
}
/// `ctz.T`: bits(T) for 0.
#[inline(always)]
pub fn ctz<W: Word>(a: W) -> W {
    a.ctz()
}
/// `popcnt.T`.
#[inline(always)]
pub fn popcnt<W: Word>(a: W) -> W {
    a.popcnt()
}
/// `eqz.T`: 1 if zero.
#[inline(always)]
pub fn eqz<W: Word>(a: W) -> u32 {
    flag(a == W::ZERO)
}

/// `icmp.eq.T`.
#[inline(always)]
pub fn icmp_eq<W: Word>(a: W, b: W) -> u32 {
    flag(a == b)
}
/// `icmp.ne.T`.
#[inline(always)]
pub fn icmp_ne<W: Word>(a: W, b: W) -> u32 {
    flag(a != b)
}
/// `icmp.slt.T`.
#[inline(always)]
pub fn icmp_slt<W: Word>(a: W, b: W) -> u32 {
    flag(a.slt(b))
}
/// `icmp.sle.T`.
#[inline(always)]
pub fn icmp_sle<W: Word>(a: W, b: W) -> u32 {
    flag(!b.slt(a))
}
/// `icmp.sgt.T`.
#[inline(always)]
pub fn icmp_sgt<W: Word>(a: W, b: W) -> u32 {
    flag(b.slt(a))
}
/// `icmp.sge.T`.
#[inline(always)]
pub fn icmp_sge<W: Word>(a: W, b: W) -> u32 {
    flag(!a.slt(b))
}
/// `icmp.ult.T`.
#[inline(always)]
pub fn icmp_ult<W: Word>(a: W, b: W) -> u32 {
    flag(a < b)
}
/// `icmp.ule.T`.
#[inline(always)]
pub fn icmp_ule<W: Word>(a: W, b: W) -> u32 {
    flag(a <= b)
}
/// `icmp.ugt.T`.
#[inline(always)]
pub fn icmp_ugt<W: Word>(a: W, b: W) -> u32 {
    flag(a > b)
}
/// `icmp.uge.T`.
#[inline(always)]
pub fn icmp_uge<W: Word>(a: W, b: W) -> u32 {
    flag(a >= b)
}

/// `select.T c, a, b`: `a` if `c` is non-zero.
#[inline(always)]
pub fn select<W: Word>(c: u32, a: W, b: W) -> W {
    if c != 0 {
        a
    } else {
        b
    }
}

/// `sextend.i64`.
#[inline(always)]
pub fn sextend(a: u32) -> u64 {
    a as i32 as i64 as u64
}
/// `uextend.i64`.
#[inline(always)]
pub fn uextend(a: u32) -> u64 {
    a as u64
}
/// `ireduce.i32`: the low 32 bits.
#[inline(always)]
pub fn ireduce(a: u64) -> u32 {
    a as u32
}
/// `sext8.T`: sign-extend from the low 8 bits.
#[inline(always)]
pub fn sext8<W: Word>(a: W) -> W {
    W::from_u64(a.to_u64() as u8 as i8 as i64 as u64)
}
/// `sext16.T`: sign-extend from the low 16 bits.
#[inline(always)]
pub fn sext16<W: Word>(a: W) -> W {
    W::from_u64(a.to_u64() as u16 as i16 as i64 as u64)
}
/// `sext32.i64`: sign-extend from the low 32 bits.
#[inline(always)]
pub fn sext32<W: Word>(a: W) -> W {
    W::from_u64(a.to_u64() as u32 as i32 as i64 as u64)
}

/// The effective address of an access of `bytes` bytes at `addr + off` in a memory of
/// `size` bytes: `zext(addr) + off` in 64 bits, in bounds when `ea + bytes <= size`.
#[inline(always)]
pub fn effective_address(addr: u32, off: u32, bytes: u64, size: u64) -> Result<u64, TrapCode> {
    let ea = addr as u64 + off as u64;
    if ea + bytes <= size {
        Ok(ea)
    } else {
        Err(TrapCode::OutOfBounds)
    }
}

/// The value of a load of type `W` from the little-endian `raw` bytes (zero-extended to
/// 64 bits) of an access of `bytes` bytes, extended as the load says (`signed`).
#[inline(always)]
pub fn load_extend<W: Word>(raw: u64, bytes: u32, signed: bool) -> W {
    let shift = 64 - 8 * bytes;
    if signed {
        W::from_u64((((raw << shift) as i64) >> shift) as u64)
    } else {
        W::from_u64((raw << shift) >> shift)
    }
}

/// Size in bytes of one page of linear memory.
pub const PAGE_SIZE: u64 = 65536;
/// The most pages a linear memory may ever have.
pub const MAX_PAGES: u32 = 65536;

/// `memory.grow`: the new size in pages when growing `old` pages by `delta` stays within
/// `max` (itself at most [`MAX_PAGES`]), or `None` (the operation then returns -1).
#[inline(always)]
pub fn grow_pages(old: u32, delta: u32, max: u32) -> Option<u32> {
    let new = old as u64 + delta as u64;
    if new <= max as u64 && new <= MAX_PAGES as u64 {
        Some(new as u32)
    } else {
        None
    }
}
