//! Checks of the machine code of a compiled stencil, shared by `build.rs` (which
//! refuses a stencil that fails them) and the tests (which feed them hand-assembled
//! code). Needs `iced_x86` with the `decoder` and `instr_info` features, and `holes.rs` as
//! the crate's `holes` module.

use std::collections::HashMap;

use iced_x86::{
    Code, Decoder, DecoderOptions, FlowControl, Instruction, Mnemonic, OpKind, Register,
};

pub use crate::holes::{HoleValue, Reloc};

/// A hole as found in the object.
#[derive(Clone, Copy, Debug)]
pub struct FoundHole {
    /// Offset of the field in the stencil's code.
    pub offset: u32,
    pub reloc: Reloc,
    pub value: HoleValue,
    pub addend: i64,
}

/// ELF relocation types of x86-64 (System V ABI, x86-64 supplement, table 4.9).
const R_X86_64_PC32: u32 = 2;
const R_X86_64_PLT32: u32 = 4;
const R_X86_64_32: u32 = 10;
const R_X86_64_32S: u32 = 11;

/// The hole a relocation of stencil `name` at `offset` makes, from its target symbol's
/// name (a section's name for a section symbol) and its ELF type.
pub fn hole_of_relocation(
    name: &str,
    offset: u32,
    target: &str,
    r_type: u32,
    addend: i64,
) -> Result<FoundHole, String> {
    let Some(value) = HoleValue::of_symbol(target) else {
        if target.starts_with(".rodata") || target.starts_with(".data") {
            return Err(format!(
                "stencil `{name}` reads data `{target}` that a stencil cannot carry"
            ));
        }
        return Err(format!("stencil `{name}` refers to `{target}`, which is no hole (a call into a library or a panic path?)"));
    };
    let reloc = match r_type {
        R_X86_64_32 => Reloc::Abs32,
        R_X86_64_32S => Reloc::Abs32S,
        R_X86_64_PC32 | R_X86_64_PLT32 => Reloc::PcRel32,
        other => {
            return Err(format!(
                "stencil `{name}`: relocation type {other} to `{target}` is not handled"
            ))
        }
    };
    // Code and slots are anywhere in the address space: only a RIP-relative field reaches
    // them. Offsets and immediates are values, never addresses to reach.
    if (reloc == Reloc::PcRel32) != (value.is_code() || value.is_slot()) {
        return Err(format!(
            "stencil `{name}` refers to `{target}` at {offset:#x} by relocation type {r_type}, which that hole cannot be"
        ));
    }
    Ok(FoundHole {
        offset,
        reloc,
        value,
        addend,
    })
}

/// What `check_code` finds out about a stencil.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked {
    /// See `egjit::stencil::Stencil::cost`.
    pub cost: u32,
    /// Length of a trailing `jmp` to the continuation; 0 if none.
    pub tail_jmp: u32,
    /// Offset of the condition byte of a `jcc` to the target right before that `jmp`.
    pub tail_jcc: u32,
    /// The most stack bytes below its entry stack pointer the stencil uses.
    pub stack: u32,
}

/// Checks a stencil's instructions and returns its cost, the length of a trailing `jmp`
/// to the continuation (0 if none) and the stack bytes it uses.
///
/// Cost: one per instruction, one more per memory operand, one more per branch or call
/// that can leave the stencil (a dropped trailing `jmp` is not counted), and 20 more per
/// division (its latency). Saturating.
pub fn check_code(name: &str, code: &[u8], holes: &[FoundHole]) -> Result<Checked, String> {
    let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut insts: Vec<Instruction> = Vec::new();
    while decoder.can_decode() {
        let i = decoder.decode();
        if i.code() == Code::INVALID {
            return Err(format!(
                "stencil `{name}` has bytes that do not decode at {:#x}",
                i.ip()
            ));
        }
        insts.push(i);
    }
    let hole_in = |i: &Instruction| {
        holes
            .iter()
            .find(|h| (h.offset as u64) >= i.ip() && (h.offset as u64) < i.next_ip())
            .map(|h| h.value)
    };
    let stack = check_stack(name, &insts, &hole_in)?;
    let mut cost: u32 = 0;
    for i in &insts {
        let hole = hole_in(i);
        let to_code = hole.is_some_and(HoleValue::is_code);
        let branch = matches!(
            i.flow_control(),
            FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch
        );
        if to_code && !branch {
            return Err(format!(
                "stencil `{name}` uses its continuation at {:#x} other than as a jump",
                i.ip()
            ));
        }
        let mem = (0..i.op_count())
            .filter(|&k| i.op_kind(k) == OpKind::Memory)
            .count() as u32;
        let leaves = (to_code && branch)
            || matches!(
                i.flow_control(),
                FlowControl::IndirectBranch | FlowControl::IndirectCall
            );
        let div = matches!(i.mnemonic(), Mnemonic::Div | Mnemonic::Idiv) as u32 * 20;
        cost = cost.saturating_add(1 + mem + leaves as u32 + div);
    }
    // A trailing `jmp rel32` to the continuation can be dropped when it follows.
    let tail_jmp = match insts.last() {
        Some(last)
            if last.mnemonic() == Mnemonic::Jmp
                && last.len() == 5
                && hole_in(last) == Some(HoleValue::Continue) =>
        {
            cost = cost.saturating_sub(2);
            5
        }
        _ => 0,
    };
    // A `jcc rel32` to the target right before that `jmp`: the emitter can invert its
    // condition (the low bit of its second opcode byte) to fall through to the target.
    let tail_jcc = match insts.len().checked_sub(2).map(|k| &insts[k]) {
        Some(jcc)
            if tail_jmp > 0
                && jcc.flow_control() == FlowControl::ConditionalBranch
                && jcc.len() == 6
                && code[jcc.ip() as usize] == 0x0f
                && hole_in(jcc) == Some(HoleValue::Target) =>
        {
            jcc.ip() as u32 + 1
        }
        _ => 0,
    };
    Ok(Checked {
        cost,
        tail_jmp,
        tail_jcc,
        stack,
    })
}

/// Follows the stencil's control flow with the stack pointer's offset from its value at
/// entry, and returns the most bytes below it the stencil uses (its pushes and the
/// return address of a call).
///
/// A stencil may push and pop registers, move the stack pointer by constants and use
/// the space it made; it may `call` only a callee or a helper from a slot, with the
/// stack aligned as SysV requires; and it must be back at its entry offset wherever it
/// leaves: `ret`, a jump to a continuation or target, an indirect jump. Anything else
/// that touches the stack pointer is refused, as is code that can fall off the end or
/// reach one instruction at two stack depths.
fn check_stack(
    name: &str,
    insts: &[Instruction],
    hole_in: &dyn Fn(&Instruction) -> Option<HoleValue>,
) -> Result<u32, String> {
    let refuse = |i: &Instruction, what: &str| -> Result<u32, String> {
        Err(format!("stencil `{name}` {what} at {:#x}", i.ip()))
    };
    let index: HashMap<u64, usize> = insts.iter().enumerate().map(|(k, i)| (i.ip(), k)).collect();
    let mut seen: Vec<Option<i64>> = vec![None; insts.len()];
    let mut work = vec![(0usize, 0i64)];
    let mut below: i64 = 0;
    while let Some((k, depth)) = work.pop() {
        let Some(i) = insts.get(k) else {
            return Err(format!("stencil `{name}` runs off its end"));
        };
        match seen[k] {
            Some(d) if d == depth => continue,
            Some(_) => return refuse(i, "reaches one instruction at two stack depths"),
            None => seen[k] = Some(depth),
        }
        let hole = hole_in(i);
        let is_rsp = |r: Register| matches!(r, Register::RSP | Register::ESP | Register::SP);
        let writes_rsp =
            i.op_count() > 0 && i.op0_kind() == OpKind::Register && is_rsp(i.op0_register());
        let mut after = depth;
        match i.mnemonic() {
            Mnemonic::Push if i.op0_kind() == OpKind::Register => after -= 8,
            Mnemonic::Pop if i.op0_kind() == OpKind::Register && !writes_rsp => after += 8,
            Mnemonic::Sub | Mnemonic::Add
                if writes_rsp
                    && matches!(
                        i.op1_kind(),
                        OpKind::Immediate8to64 | OpKind::Immediate32to64
                    ) =>
            {
                let n = i.immediate(1) as i64;
                after += if i.mnemonic() == Mnemonic::Sub { -n } else { n };
            }
            Mnemonic::Call => {
                if !hole.is_some_and(HoleValue::is_called) || !i.is_ip_rel_memory_operand() {
                    return refuse(i, "calls something other than a callee or helper from its slot (a continuation reached by `call` would grow the stack)");
                }
                if depth.rem_euclid(16) != 8 {
                    return refuse(i, "calls with the stack not 16-byte aligned");
                }
                below = below.max(8 - depth);
            }
            _ => {
                let uses_rsp = (0..i.op_count())
                    .any(|n| i.op_kind(n) == OpKind::Register && is_rsp(i.op_register(n)));
                if uses_rsp
                    || matches!(
                        i.mnemonic(),
                        Mnemonic::Push | Mnemonic::Pop | Mnemonic::Enter | Mnemonic::Leave
                    )
                {
                    return refuse(i, "uses the stack in a way not followed");
                }
                if i.memory_base() == Register::RSP {
                    // Space the stencil made itself: [rsp + 0, rsp - depth).
                    let disp = i.memory_displacement64() as i64;
                    let size = i.memory_size().size() as i64;
                    if i.memory_index() != Register::None || disp < 0 || disp + size > -depth {
                        return refuse(i, "uses stack it did not make");
                    }
                }
            }
        }
        if after > 0 {
            return refuse(i, "pops more than it pushed");
        }
        below = below.max(-after);
        let leaves = match i.flow_control() {
            FlowControl::Next | FlowControl::Call | FlowControl::IndirectCall => {
                work.push((k + 1, after));
                false
            }
            FlowControl::Return | FlowControl::IndirectBranch => true,
            FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch => {
                if i.flow_control() == FlowControl::ConditionalBranch {
                    work.push((k + 1, after));
                }
                if hole.is_some_and(HoleValue::is_code) {
                    true
                } else {
                    match index.get(&i.near_branch_target()) {
                        Some(&t) => work.push((t, after)),
                        None => return refuse(i, "jumps out of the stencil to no hole"),
                    }
                    false
                }
            }
            _ => return refuse(i, "has an instruction that can fault or interrupt"),
        };
        if leaves && after != 0 {
            return refuse(i, "leaves with the stack not as it found it");
        }
    }
    Ok(below as u32)
}
