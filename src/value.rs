//! Values passed to and from functions, and traps.

use std::fmt;

use crate::ir::Type;
use crate::semantics::TrapCode;

/// A value of the IR: an `i32` or an `i64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// A 32-bit integer.
    I32(i32),
    /// A 64-bit integer.
    I64(i64),
}

impl Value {
    /// Its type.
    pub fn ty(self) -> Type {
        match self {
            Value::I32(_) => Type::I32,
            Value::I64(_) => Type::I64,
        }
    }

    /// The value of type `ty` whose bits are the low bits of `bits`.
    pub fn from_bits(ty: Type, bits: u64) -> Value {
        match ty {
            Type::I32 => Value::I32(bits as u32 as i32),
            Type::I64 => Value::I64(bits as i64),
        }
    }

    /// Its bits, zero-extended to 64 bits (how the engines hold an `i32`).
    pub fn to_bits(self) -> u64 {
        match self {
            Value::I32(v) => v as u32 as u64,
            Value::I64(v) => v as u64,
        }
    }
}

impl fmt::Display for Value {
    /// Signed decimal, as the CLI prints results.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::I32(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
        }
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::I32(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::I64(v)
    }
}

/// Why a call ended early. Its `Display` is the exact message of IR.md's trap table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trap {
    /// Division or remainder by zero: `integer divide by zero`.
    DivideByZero,
    /// `sdiv` of MIN by -1: `integer overflow`.
    IntegerOverflow,
    /// A memory access out of bounds: `out of bounds memory access`.
    OutOfBounds,
    /// The `trap` terminator: `unreachable`.
    Unreachable,
    /// Call depth past the configured limit: `call stack exhausted`.
    CallStackExhausted,
    /// An import returned an error: `host error: <its message>`.
    Host(String),
}

impl Trap {
    /// The trap for a code raised by an operation's semantics (a host error without its
    /// message, which the code does not carry).
    pub fn from_code(code: TrapCode) -> Trap {
        match code {
            TrapCode::DivideByZero => Trap::DivideByZero,
            TrapCode::IntegerOverflow => Trap::IntegerOverflow,
            TrapCode::OutOfBounds => Trap::OutOfBounds,
            TrapCode::Unreachable => Trap::Unreachable,
            TrapCode::CallStackExhausted => Trap::CallStackExhausted,
            TrapCode::HostError => Trap::Host(String::new()),
        }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trap::DivideByZero => f.write_str("integer divide by zero"),
            Trap::IntegerOverflow => f.write_str("integer overflow"),
            Trap::OutOfBounds => f.write_str("out of bounds memory access"),
            Trap::Unreachable => f.write_str("unreachable"),
            Trap::CallStackExhausted => f.write_str("call stack exhausted"),
            Trap::Host(msg) => write!(f, "host error: {msg}"),
        }
    }
}

impl std::error::Error for Trap {}
