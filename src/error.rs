//! Errors in the input (text, modules built in code, arguments, imports).
//!
//! Every [`Error`] is the user's: malformed text, a module that does not verify, a missing
//! import, a file that cannot be read. It names the source and, where there is one, the
//! line and column: `FILE:LINE:COL: error: MESSAGE`. Traps are not errors; see
//! [`crate::Trap`].

use std::fmt;

use crate::ir::Loc;

/// What kind of input was at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text does not follow the grammar (or is not UTF-8, or a literal overflows).
    Syntax,
    /// The module is well-formed text but breaks a rule of the IR (types, SSA, ...).
    Verify,
    /// The module cannot be instantiated as given (a missing import, a data segment that
    /// does not fit).
    Link,
    /// The source could not be read.
    Io,
    /// A rewrite rule is malformed (see `select::rules`).
    Rules,
    /// The module uses an operation this build has no stencil for.
    Unsupported,
}

/// A located error in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// What kind of input was at fault.
    pub kind: ErrorKind,
    /// The source's name (file name, `<stdin>`, `<builder>`).
    pub file: String,
    /// Line and column, where known.
    pub loc: Option<(u32, u32)>,
    /// What is wrong, with what was expected and what was found.
    pub message: String,
}

impl Error {
    /// An error at `loc` in `file`; an unknown `loc` (line 0) gives an unlocated error.
    pub fn new(kind: ErrorKind, file: &str, loc: Loc, message: impl Into<String>) -> Error {
        Error {
            kind,
            file: file.to_string(),
            loc: loc.is_known().then_some((loc.line, loc.col)),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.loc {
            Some((line, col)) => write!(f, "{}:{line}:{col}: error: {}", self.file, self.message),
            None => write!(f, "{}: error: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for Error {}
