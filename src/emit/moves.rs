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

/// Gives `out`, in order, single moves with the effect of doing all of `moves` at once
/// (their destinations are distinct); `scratch` is a slot no move names. `moves` is
/// used up. Stops at the first error of `out`.
pub fn sequence<E>(
    moves: &mut Moves,
    scratch: u32,
    mut out: impl FnMut(Move) -> Result<(), E>,
) -> Result<(), E> {
    moves.retain(|m| m.src != Src::Slot(m.dst));
    // A move whose destination no other pending move still reads can go now.
    let free = |pending: &[Move], i: usize| {
        let d = pending[i].dst;
        (pending.iter().enumerate()).all(|(j, m)| j == i || m.src != Src::Slot(d))
    };
    // Most edges read no slot they write: then the moves go in their order.
    if (0..moves.len()).all(|i| free(moves, i)) {
        return moves.drain(..).try_for_each(out);
    }
    while !moves.is_empty() {
        match (0..moves.len()).find(|&i| free(moves, i)) {
            Some(i) => out(moves.remove(i))?,
            None => {
                // Every destination is still read: a cycle. Save one destination's value
                // in the scratch slot and read it from there.
                let d = moves[0].dst;
                out(Move {
                    dst: scratch,
                    src: Src::Slot(d),
                    ty: moves[0].ty,
                })?;
                for m in moves.iter_mut() {
                    if m.src == Src::Slot(d) {
                        m.src = Src::Slot(scratch);
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{sequence, Move, Moves, Src};
    use crate::ir::Type;

    /// Runs moves on slots 0..8 holding 100 + index; the scratch is slot 9.
    fn run(moves: &[(u32, Src)]) -> Vec<i64> {
        let mut ms: Moves = moves
            .iter()
            .map(|&(dst, src)| Move {
                dst,
                src,
                ty: Type::I64,
            })
            .collect();
        let mut slots: Vec<i64> = (0..10).map(|i| 100 + i).collect();
        let done: Result<(), ()> = sequence(&mut ms, 9, |m| {
            slots[m.dst as usize] = match m.src {
                Src::Slot(s) => slots[s as usize],
                Src::Imm(v) => v,
            };
            Ok(())
        });
        assert!(done.is_ok() && ms.is_empty());
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

    /// Every assignment of sources to distinct destinations among slots 0..6 from a
    /// small generator: the sequence does what assigning all at once does.
    #[test]
    fn random_parallel_moves_match_the_simultaneous_assignment() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..5000 {
            // A random subset of destinations, each with a slot or a constant source.
            let mut moves = Vec::new();
            for dst in 0..6u32 {
                match next(4) {
                    0 => {}
                    1 => moves.push((dst, Src::Imm(next(1000) as i64))),
                    _ => moves.push((dst, Src::Slot(next(7) as u32))),
                }
            }
            let mut want: Vec<i64> = (0..9).map(|i| 100 + i).collect();
            for &(dst, src) in &moves {
                want[dst as usize] = match src {
                    Src::Slot(s) => 100 + s as i64,
                    Src::Imm(v) => v,
                };
            }
            assert_eq!(run(&moves), want, "moves {moves:?}");
        }
    }
}
