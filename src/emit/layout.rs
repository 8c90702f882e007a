//! Block layout: the order in which a function's blocks are placed. Emission drops a
//! block's trailing `jmp` when its target comes next and inverts a `brif` whose taken
//! target comes next, so the layout decides which branches cost nothing.
//!
//! From the entry, each block is followed by its likely successor while that is not
//! placed yet: a `jump`'s target (its only one), and of a `brif`'s two a loop's body
//! (the one that branches back), else the first after it in text order, where frontends
//! put a branch's usual way. Where the chain ends (a
//! `return`, a `trap`, a `br_table`, successors placed already), the first block in text
//! order not placed yet starts the next chain. So a function whose blocks chain in text
//! order keeps it, and a block reached by a `jump` from elsewhere (a loop test placed
//! after the loop body) moves to follow it.

use crate::ir::{BlockId, Body, TermKind};

/// The blocks of `body` in the order they are placed; every block once, the entry first.
pub fn layout(body: &Body) -> Vec<BlockId> {
    let n = body.blocks.len();
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    // Every block before `text` is placed.
    let mut text = 0;
    let mut chain = (n > 0).then_some(0);
    loop {
        let b = match chain {
            Some(b) => b,
            None => {
                while text < n && placed[text] {
                    text += 1;
                }
                if text == n {
                    return order;
                }
                text
            }
        };
        placed[b] = true;
        order.push(BlockId(b as u32));
        let open = |t: &BlockId| Some(t.index()).filter(|&s| s < n && !placed[s]);
        chain = match body.blocks[b].term.as_ref().map(|t| &t.kind) {
            Some(TermKind::Jump(t)) => open(&t.block),
            Some(TermKind::Brif { then, els, .. }) => match (open(&then.block), open(&els.block)) {
                (Some(x), Some(y)) => Some(likelier(body, b, x, y)),
                (x, y) => x.or(y),
            },
            _ => None,
        };
    }
}

/// Of `brif` successors `x` and `y` of block `b`, the one to place after it: a loop's
/// body (the one that branches back to `b`, when just one does), else the first after `b`
/// in text order, else the first.
fn likelier(body: &Body, b: usize, x: usize, y: usize) -> usize {
    let to_b = |t: &BlockId| t.index() == b;
    let back = |s: usize| match body.blocks[s].term.as_ref().map(|t| &t.kind) {
        Some(TermKind::Jump(t)) => to_b(&t.block),
        Some(TermKind::Brif { then, els, .. }) => to_b(&then.block) || to_b(&els.block),
        Some(TermKind::BrTable {
            targets, default, ..
        }) => targets.iter().any(to_b) || to_b(default),
        _ => false,
    };
    match (back(x), back(y)) {
        (true, false) => x,
        (false, true) => y,
        _ if x > b && y > b => x.min(y),
        _ if x > b => x,
        _ if y > b => y,
        _ => x.min(y),
    }
}

#[cfg(test)]
mod tests {
    use super::layout;
    use crate::ir::Module;

    /// The layout of function `@f` of `src`, by block names.
    fn names(src: &str) -> Vec<String> {
        let m = Module::from_text(src, "layout").unwrap_or_else(|e| panic!("{e}"));
        let body = m.funcs[0].body.as_ref().expect("a body");
        layout(body)
            .into_iter()
            .map(|b| body.block_name(b).to_string())
            .collect()
    }

    #[test]
    fn text_order_that_chains_is_kept() {
        let src = "func @f(i32) -> i32 {\nentry(v0: i32):\n    brif v0, b, a\na:\n    jump b\nb:\n    return v0\n}\n";
        assert_eq!(names(src), ["entry", "a", "b"]);
    }

    #[test]
    fn of_two_ways_to_a_join_the_first_falls_through_to_it() {
        // `a` is followed by its jump's target; `b` jumps to it.
        let src = "func @f(i32) -> i32 {\nentry(v0: i32):\n    brif v0, a, b\na:\n    jump c\nb:\n    jump c\nc:\n    return v0\n}\n";
        assert_eq!(names(src), ["entry", "a", "c", "b"]);
    }

    #[test]
    fn a_jump_target_follows_its_jump() {
        // The loop test comes right after the entry that jumps to it, and the body after
        // the test that branches to it; the exit is last.
        let src = "func @f(i32) -> i32 {\nentry(v0: i32):\n    jump test(v0)\nbody(v1: i32):\n    v2 = iconst.i32 1\n    v3 = isub.i32 v1, v2\n    jump test(v3)\nexit:\n    return v0\ntest(v4: i32):\n    brif v4, body(v4), exit\n}\n";
        assert_eq!(names(src), ["entry", "test", "body", "exit"]);
    }

    #[test]
    fn a_loop_test_is_followed_by_the_body_that_branches_back() {
        // The body and the exit both come before the test in text order.
        let src = "func @f(i32) -> i32 {\nentry(v0: i32):\n    jump test(v0)\nexit:\n    return v0\nbody(v1: i32):\n    v2 = iconst.i32 1\n    v3 = isub.i32 v1, v2\n    jump test(v3)\ntest(v4: i32):\n    brif v4, exit, body(v4)\n}\n";
        assert_eq!(names(src), ["entry", "test", "body", "exit"]);
    }

    #[test]
    fn unreachable_blocks_come_last_in_text_order() {
        let src = "func @f() -> i32 {\nentry:\n    jump end\ndead1:\n    trap\ndead2:\n    jump dead1\nend:\n    v0 = iconst.i32 7\n    return v0\n}\n";
        assert_eq!(names(src), ["entry", "end", "dead1", "dead2"]);
    }
}
