//! The library listing printed by `egjit stencils`: each stencil with its pattern, size,
//! holes and cost, and optionally its code disassembled with holes marked.

use std::fmt::Write;

use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};

use super::{Reloc, Stencil, STENCILS};

fn reloc_name(r: Reloc) -> &'static str {
    match r {
        Reloc::Abs32 => "abs32",
        Reloc::Abs32S => "abs32s",
        Reloc::PcRel32 => "pcrel32",
    }
}

/// One line per stencil (name, pattern, operand kinds, bytes, cost, holes), and with
/// `disasm` its instructions, each hole marked on the instruction that holds it.
pub fn listing(disasm: bool) -> String {
    let mut out = String::new();
    for s in STENCILS {
        let kinds: String = s.kinds.iter().map(|k| k.letter()).collect();
        let holes: Vec<String> = s
            .holes
            .iter()
            .map(|h| format!("{:?}@{}:{}", h.value, h.offset, reloc_name(h.reloc)))
            .collect();
        let _ = writeln!(
            out,
            "{} {} kinds={} bytes={} cost={} tail_jmp={} tail_jcc={} stack={} holes=[{}]",
            s.name,
            s.pattern,
            if kinds.is_empty() { "-" } else { &kinds },
            s.code.len(),
            s.cost,
            s.tail_jmp,
            s.tail_jcc,
            s.stack,
            holes.join(" ")
        );
        if disasm {
            disassemble(s, &mut out);
        }
    }
    out
}

fn disassemble(s: &Stencil, out: &mut String) {
    let mut decoder = Decoder::with_ip(64, s.code, 0, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    let mut text = String::new();
    while decoder.can_decode() {
        let i = decoder.decode();
        text.clear();
        formatter.format(&i, &mut text);
        let marks: Vec<String> = s
            .holes
            .iter()
            .filter(|h| (h.offset as u64) >= i.ip() && (h.offset as u64) < i.next_ip())
            .map(|h| format!("{:?} {}", h.value, reloc_name(h.reloc)))
            .collect();
        let _ = write!(out, "    {:04x}  {text}", i.ip());
        if marks.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "  ; hole: {}", marks.join(", "));
        }
    }
}
