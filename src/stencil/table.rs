//! The generated stencil table: the only place generated code enters the crate.

#![allow(clippy::all, reason = "generated code")]

use super::{Hole, HoleValue, Kind, Reloc, Stencil};
use crate::ir::{Opcode, Type};

include!(concat!(env!("OUT_DIR"), "/stencil_table.rs"));
