//! The checks `build.rs` makes of every compiled stencil, on hand-assembled machine code:
//! each refusal the build can make, and the cost, tail and stack figures it records.

#[allow(dead_code)]
#[path = "../stencils/check.rs"]
mod check;

#[allow(dead_code)]
#[path = "../stencils/holes.rs"]
mod holes;

use check::{check_code, hole_of_relocation, Checked, FoundHole, HoleValue, Reloc};

fn hole(offset: u32, value: HoleValue) -> FoundHole {
    let reloc = if value.is_code() || value.is_slot() {
        Reloc::PcRel32
    } else {
        Reloc::Abs32S
    };
    FoundHole {
        offset,
        reloc,
        value,
        addend: -4,
    }
}

/// The refusal for `code`, which must be one.
fn refused(code: &[u8], holes: &[FoundHole]) -> String {
    match check_code("t", code, holes) {
        Ok(c) => panic!("{code:02x?} accepted: {c:?}"),
        Err(e) => e,
    }
}

#[test]
fn balanced_stack_use_is_accepted_and_measured() {
    // push rbx; pop rbx; ret
    let c = check_code("t", &[0x53, 0x5b, 0xc3], &[]).expect("balanced");
    assert_eq!(c.stack, 8);
    // push rax; call [rip+slot]; pop rcx; jmp CONTINUE
    let code = [0x50, 0xff, 0x15, 0, 0, 0, 0, 0x59, 0xe9, 0, 0, 0, 0];
    let holes = [
        hole(3, HoleValue::ImportHelper),
        hole(9, HoleValue::Continue),
    ];
    let c = check_code("t", &code, &holes).expect("an aligned call of a helper");
    // 8 pushed and the return address.
    assert_eq!(c.stack, 16);
    assert_eq!(c.tail_jmp, 5);
    // sub rsp, 24; mov [rsp+16], rax; add rsp, 24; ret: its own space is usable.
    let code = [
        0x48, 0x83, 0xec, 0x18, 0x48, 0x89, 0x44, 0x24, 0x10, 0x48, 0x83, 0xc4, 0x18, 0xc3,
    ];
    assert_eq!(check_code("t", &code, &[]).expect("own space").stack, 24);
}

#[test]
fn unbalanced_or_unfollowed_stack_use_is_refused() {
    let cases: &[(&[u8], &[FoundHole], &str)] = &[
        // push rbx; ret
        (
            &[0x53, 0xc3],
            &[],
            "leaves with the stack not as it found it at 0x1",
        ),
        // pop rbx; ret
        (&[0x5b, 0xc3], &[], "pops more than it pushed at 0x0"),
        // push rbx; jmp CONTINUE
        (
            &[0x53, 0xe9, 0, 0, 0, 0],
            &[hole(2, HoleValue::Continue)],
            "leaves with the stack not as it found it at 0x1",
        ),
        // mov rsp, rax; ret
        (
            &[0x48, 0x89, 0xc4, 0xc3],
            &[],
            "uses the stack in a way not followed at 0x0",
        ),
        // mov rax, [rsp+8]; ret: the caller's stack.
        (
            &[0x48, 0x8b, 0x44, 0x24, 0x08, 0xc3],
            &[],
            "uses stack it did not make at 0x0",
        ),
        // push rax; mov rax, [rsp+8]; pop rcx; ret: one word pushed, two read.
        (
            &[0x50, 0x48, 0x8b, 0x44, 0x24, 0x08, 0x59, 0xc3],
            &[],
            "uses stack it did not make at 0x1",
        ),
        // test eax, eax; je +1; push rax; nop; ret: the nop at two depths.
        (
            &[0x85, 0xc0, 0x74, 0x01, 0x50, 0x90, 0xc3],
            &[],
            "reaches one instruction at two stack depths",
        ),
    ];
    for (code, holes, want) in cases {
        let e = refused(code, holes);
        assert!(
            e.starts_with("stencil `t` ") && e.contains(want),
            "{code:02x?}: {e}"
        );
    }
}

#[test]
fn calls_other_than_of_a_slot_with_an_aligned_stack_are_refused() {
    // call CONTINUE; ret: the continuation reached by call.
    let e = refused(&[0xe8, 0, 0, 0, 0, 0xc3], &[hole(1, HoleValue::Continue)]);
    assert!(
        e.contains("calls something other than a callee or helper"),
        "{e}"
    );
    // call rax; ret
    let e = refused(&[0xff, 0xd0, 0xc3], &[]);
    assert!(
        e.contains("calls something other than a callee or helper"),
        "{e}"
    );
    // call [rip+slot] with nothing pushed: the stack is misaligned by 8.
    let e = refused(
        &[0xff, 0x15, 0, 0, 0, 0, 0xc3],
        &[hole(2, HoleValue::GrowHelper)],
    );
    assert!(e.contains("not 16-byte aligned at 0x0"), "{e}");
    // call [rip+table]: a jump table is no code to call.
    let e = refused(
        &[0x50, 0xff, 0x15, 0, 0, 0, 0, 0x59, 0xc3],
        &[hole(3, HoleValue::Table)],
    );
    assert!(
        e.contains("calls something other than a callee or helper"),
        "{e}"
    );
}

#[test]
fn code_that_can_fault_run_off_or_jump_nowhere_is_refused() {
    let cases: &[(&[u8], &str)] = &[
        (&[0x90], "runs off its end"),
        (&[0x0f, 0x0b], "can fault or interrupt at 0x0"),
        (&[0xcc], "can fault or interrupt at 0x0"),
        // jmp +16, past the end, with no hole.
        (
            &[0xe9, 0x10, 0, 0, 0],
            "jumps out of the stencil to no hole at 0x0",
        ),
        (&[0xff, 0xff], "do not decode at 0x0"),
    ];
    for (code, want) in cases {
        let e = refused(code, &[]);
        assert!(e.contains(want), "{code:02x?}: {e}");
    }
    // lea rax, [rip+CONTINUE]; ret: the continuation's address taken, not jumped to.
    let e = refused(
        &[0x48, 0x8d, 0x05, 0, 0, 0, 0, 0xc3],
        &[hole(3, HoleValue::Continue)],
    );
    assert!(
        e.contains("uses its continuation at 0x0 other than as a jump"),
        "{e}"
    );
}

#[test]
fn cost_tail_jump_and_invertible_branch_are_recorded() {
    // mov eax, [rdi+OPERAND0]; jmp CONTINUE: 2 for the load (one memory operand), 2 for
    // the jump leaving the stencil, which is dropped when the continuation follows.
    let code = [0x8b, 0x87, 0, 0, 0, 0, 0xe9, 0, 0, 0, 0];
    let holes = [hole(2, HoleValue::Operand(0)), hole(7, HoleValue::Continue)];
    assert_eq!(
        check_code("t", &code, &holes),
        Ok(Checked {
            cost: 2,
            tail_jmp: 5,
            tail_jcc: 0,
            stack: 0
        })
    );
    // test eax, eax; jne TARGET; jmp CONTINUE: the jne's condition byte is at 3.
    let code = [0x85, 0xc0, 0x0f, 0x85, 0, 0, 0, 0, 0xe9, 0, 0, 0, 0];
    let holes = [hole(4, HoleValue::Target), hole(9, HoleValue::Continue)];
    assert_eq!(
        check_code("t", &code, &holes),
        Ok(Checked {
            cost: 3,
            tail_jmp: 5,
            tail_jcc: 3,
            stack: 0
        })
    );
    // div ecx; ret: a division costs 21.
    let c = check_code("t", &[0xf7, 0xf1, 0xc3], &[]).expect("div");
    assert_eq!(c.cost, 22);
    assert_eq!(c.tail_jmp, 0);
}

#[test]
fn relocations_to_anything_but_a_hole_of_the_right_kind_are_refused() {
    const PC32: u32 = 2;
    const PLT32: u32 = 4;
    const ABS32: u32 = 10;
    const ABS32S: u32 = 11;
    const ABS64: u32 = 1;
    let ok = |target: &str, r_type: u32| hole_of_relocation("t", 8, target, r_type, -4);
    assert_eq!(
        ok("_JIT_OPERAND2", ABS32S).map(|h| (h.value, h.reloc)),
        Ok((HoleValue::Operand(2), Reloc::Abs32S))
    );
    assert_eq!(
        ok("_JIT_INDEX", ABS32).map(|h| (h.value, h.reloc)),
        Ok((HoleValue::Index, Reloc::Abs32))
    );
    assert_eq!(
        ok("_JIT_TARGET", PLT32).map(|h| (h.value, h.reloc)),
        Ok((HoleValue::Target, Reloc::PcRel32))
    );
    assert_eq!(
        ok("_JIT_CALLEE", PC32).map(|h| (h.value, h.addend)),
        Ok((HoleValue::Callee, -4))
    );
    let cases: &[(&str, u32, &str)] = &[
        ("memcpy", PLT32, "refers to `memcpy`, which is no hole"),
        ("_ZN4core9panicking5panic", PLT32, "which is no hole"),
        (
            ".rodata.cst16",
            PC32,
            "reads data `.rodata.cst16` that a stencil cannot carry",
        ),
        (".data", PC32, "cannot carry"),
        (
            "_JIT_CONTINUE",
            ABS32,
            "refers to `_JIT_CONTINUE` at 0x8 by relocation type 10, which that hole cannot be",
        ),
        ("_JIT_GROW_HELPER", ABS32S, "which that hole cannot be"),
        ("_JIT_RESULT", PC32, "which that hole cannot be"),
        (
            "_JIT_OPERAND0",
            ABS64,
            "relocation type 1 to `_JIT_OPERAND0` is not handled",
        ),
    ];
    for &(target, r_type, want) in cases {
        match ok(target, r_type) {
            Ok(h) => panic!("{target} {r_type}: accepted as {h:?}"),
            Err(e) => assert!(
                e.starts_with("stencil `t`") && e.contains(want),
                "{target}: {e}"
            ),
        }
    }
}
