//! Parallel moves: block arguments, results and call arguments are assigned all at once;
//! here they become a sequence of single moves, a cycle broken through a scratch slot.

use smallvec::SmallVec;

use crate::ir::Type;

/// Moves of one edge, return or call: a few, kept without a heap allocation.
pub type Moves = SmallVec<[Move; 8]>;

/// Where a move reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    Slot(u32),
    Imm(i64),
}

/// `dst <- src`, of type `ty`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    pub dst: u32,
    pub src: Src,
    pub ty: Type,
}

/// Single moves with the effect of doing all of `moves` at once (their destinations are
/// distinct); `scratch` is a slot no move names.
pub fn sequence(moves: impl IntoIterator<Item = Move>, scratch: u32) -> Moves {
    let mut pending: Moves = moves
        .into_iter()
        .filter(|m| m.src != Src::Slot(m.dst))
        .collect();
    let mut out = Moves::with_capacity(pending.len() + 1);
    while !pending.is_empty() {
        // A move whose destination no other pending move still reads goes now.
        let free = (0..pending.len()).find(|&i| {
            let d = pending[i].dst;
            pending
                .iter()
                .enumerate()
                .all(|(j, m)| j == i || m.src != Src::Slot(d))
        });
        match free {
            Some(i) => out.push(pending.remove(i)),
            None => {
                // Every destination is still read: a cycle. Save one destination's value
                // in the scratch slot and read it from there.
                let d = pending[0].dst;
                out.push(Move {
                    dst: scratch,
                    src: Src::Slot(d),
                    ty: pending[0].ty,
                });
                for m in &mut pending {
                    if m.src == Src::Slot(d) {
                        m.src = Src::Slot(scratch);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{sequence, Move, Src};
    use crate::ir::Type;

    /// Runs moves on slots 0..8 holding 100 + index; the scratch is slot 9.
    fn run(moves: &[(u32, Src)]) -> Vec<i64> {
        let ms: Vec<Move> = moves
            .iter()
            .map(|&(dst, src)| Move {
                dst,
                src,
                ty: Type::I64,
            })
            .collect();
        let mut slots: Vec<i64> = (0..10).map(|i| 100 + i).collect();
        for m in sequence(ms, 9) {
            slots[m.dst as usize] = match m.src {
                Src::Slot(s) => slots[s as usize],
                Src::Imm(v) => v,
            };
        }
        slots.truncate(9);
        slots
    }

    #[test]
    fn a_swap() {
        let got = run(&[(0, Src::Slot(1)), (1, Src::Slot(0))]);
        assert_eq!(&got[..3], &[101, 100, 102]);
    }

    #[test]
    fn a_rotation_of_three() {
        let got = run(&[(0, Src::Slot(1)), (1, Src::Slot(2)), (2, Src::Slot(0))]);
        assert_eq!(&got[..4], &[101, 102, 100, 103]);
    }

    #[test]
    fn a_chain_a_fan_out_and_constants() {
        // 3 <- 2 <- 1 <- 0, 4 <- 0, 5 <- 7 (constant), 6 stays.
        let got = run(&[
            (3, Src::Slot(2)),
            (2, Src::Slot(1)),
            (1, Src::Slot(0)),
            (4, Src::Slot(0)),
            (5, Src::Imm(7)),
            (6, Src::Slot(6)),
        ]);
        assert_eq!(got, vec![100, 100, 101, 102, 100, 7, 106, 107, 108]);
    }

    #[test]
    fn two_cycles_and_a_tail_out_of_one() {
        // (0 1) swap, (2 3 4) rotation, 5 <- 2 reads a slot of the rotation.
        let got = run(&[
            (0, Src::Slot(1)),
            (1, Src::Slot(0)),
            (2, Src::Slot(3)),
            (3, Src::Slot(4)),
            (4, Src::Slot(2)),
            (5, Src::Slot(2)),
        ]);
        assert_eq!(got, vec![101, 100, 103, 104, 102, 102, 106, 107, 108]);
    }
}
