//! Filling `SmallVec`s item by item.

use smallvec::{Array, SmallVec};

/// Pushes `items` one by one. `SmallVec`'s `extend`, `collect` and `clone` go through a
/// general path that costs many times more for the few items of a node, a match or an
/// instance's operands, which selection and emission make by the thousand.
#[inline]
pub(crate) fn push_all<A: Array>(v: &mut SmallVec<A>, items: impl IntoIterator<Item = A::Item>) {
    for x in items {
        v.push(x);
    }
}

/// The `SmallVec` of `items` (see [`push_all`]).
#[inline]
pub(crate) fn small<A: Array>(items: impl IntoIterator<Item = A::Item>) -> SmallVec<A> {
    let mut v = SmallVec::new();
    push_all(&mut v, items);
    v
}
