//! Mining covers for superstencils the library lacks (`egjit mine`).
//!
//! In a block's cover, an instance whose result only one other instance reads, as an
//! operand, could be fused into that reader: the value would stay in a register instead
//! of being stored to its slot and loaded back. A group of 2 to 4 such instances, each
//! feeding the next towards one root, is a candidate superstencil. The miner counts the
//! groups of the covers it is given by their composed pattern and operand kinds, and
//! estimates what fusing one saves: per value kept in a register, the store of the
//! producer and the memory operand of the reader, 3 in the stencils' cost units (one per
//! instruction, one more per memory operand).
//!
//! A group is a candidate only when the build would accept its line: at most one memory
//! access, no other operation that may trap, no call or helper, at most four operands,
//! and a pattern the library does not have already.

use std::collections::{HashMap, HashSet};

use super::cover::{Cover, Covers, Detail, Instance, Operand, SlotRef};
use super::lang::{NodeOp, Term};
use super::tiles::Pat;
use crate::ir::oplist::{IS_CALL, MAY_TRAP, NEEDS_HELPER, READS_MEMORY, WRITES_MEMORY};
use crate::ir::Type;
use crate::stencil::{Kind, STENCILS};

/// The estimated saving of one value kept in a register rather than a slot.
pub const SAVING_PER_VALUE: u32 = 3;

/// The most instances a group holds.
const MOST: usize = 4;

/// A candidate superstencil.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The pattern in the rules' s-expression syntax, `?a` to `?d` for the operands.
    pub pattern: String,
    /// One letter per operand: `s` a slot, `i` an immediate.
    pub kinds: String,
    /// A name for it: the operations in pre-order, the type and the kinds
    /// (`brif_icmp_slt_iadd_i32_sis`).
    pub name: String,
    /// How many groups of the covers have this pattern and kinds.
    pub count: u32,
    /// The estimated saving of one use, in cost units.
    pub saving: u32,
}

impl Candidate {
    /// The total estimated saving: uses times the saving of one.
    pub fn total(&self) -> u32 {
        self.count.saturating_mul(self.saving)
    }
}

/// The candidates of `covers`, by total saving, most first (then by pattern).
pub fn mine<'a>(covers: impl IntoIterator<Item = &'a Cover>) -> Vec<Candidate> {
    let known: HashSet<(&str, String)> = STENCILS
        .iter()
        .map(|s| (s.pattern, kinds_text(s.kinds)))
        .collect();
    let mut found: HashMap<(String, String), Candidate> = HashMap::new();
    for cover in covers {
        for block in cover.funcs.iter().flat_map(|f| &f.blocks) {
            let feeds = feeders(&block.insts);
            for group in groups(&block.insts, &feeds) {
                let Some(c) = candidate(&block.insts, &feeds, &group) else {
                    continue;
                };
                if known.contains(&(c.pattern.as_str(), c.kinds.clone())) {
                    continue;
                }
                found
                    .entry((c.pattern.clone(), c.kinds.clone()))
                    .or_insert(Candidate { count: 0, ..c })
                    .count += 1;
            }
        }
    }
    let mut out: Vec<Candidate> = found.into_values().collect();
    out.sort_by(|a, b| {
        (b.total().cmp(&a.total()))
            .then(b.count.cmp(&a.count))
            .then(a.pattern.cmp(&b.pattern))
            .then(a.kinds.cmp(&b.kinds))
    });
    out
}

/// The candidates as lines of `stencils/superstencils.list`, each named (`NAME = PATTERN
/// KINDS`, a name no stencil and no earlier line has) and followed by its count and
/// saving as a comment.
pub fn list_lines(candidates: &[Candidate]) -> Vec<String> {
    let mut taken: HashSet<String> = STENCILS.iter().map(|s| s.name.to_string()).collect();
    candidates
        .iter()
        .map(|c| {
            let base = &c.name;
            let mut name = base.clone();
            let mut n = 2;
            while !taken.insert(name.clone()) {
                name = format!("{base}_{n}");
                n += 1;
            }
            format!(
                "{name} = {} {}  # {} use{}, saves ~{} each, {} in all",
                c.pattern,
                c.kinds,
                c.count,
                if c.count == 1 { "" } else { "s" },
                c.saving,
                c.total()
            )
        })
        .collect()
}

fn kinds_text(kinds: &[Kind]) -> String {
    kinds.iter().map(|k| k.letter()).collect()
}

/// What each instance's operands read: for operand `n` of instance `j`, the instance
/// whose result it is when that result is a temporary read nowhere else.
fn feeders(insts: &[Instance]) -> Vec<Vec<Option<usize>>> {
    let mut writer: HashMap<SlotRef, usize> = HashMap::new();
    let mut reads = vec![0u32; insts.len()];
    let mut feeds: Vec<Vec<Option<usize>>> = Vec::with_capacity(insts.len());
    for (j, inst) in insts.iter().enumerate() {
        for o in inst.reads() {
            if let Operand::Slot(s @ SlotRef::Temp(_)) = o {
                if let Some(&p) = writer.get(s) {
                    reads[p] += 1;
                }
            }
        }
        feeds.push(
            inst.operands
                .iter()
                .map(|o| match o {
                    Operand::Slot(s @ SlotRef::Temp(_)) => writer.get(s).copied(),
                    _ => None,
                })
                .collect(),
        );
        if let Some(r) = inst.result {
            writer.insert(r, j);
        }
    }
    for f in &mut feeds {
        for p in f.iter_mut() {
            if p.is_some_and(|p| reads[p] != 1 || !fusible(&insts[p])) {
                *p = None;
            }
        }
    }
    feeds
}

/// An instance of a tile whose result may feed another: no edges, no call.
fn fusible(inst: &Instance) -> bool {
    matches!(inst.covers, Covers::Pattern(_))
        && matches!(inst.detail, Detail::None | Detail::Offset(_))
        && inst.result.is_some()
}

/// Every group of 2 to [`MOST`] instances of a block: a root and instances that feed
/// it, directly or through each other, as member lists (the root first, then sorted).
fn groups(insts: &[Instance], feeds: &[Vec<Option<usize>>]) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for (root, inst) in insts.iter().enumerate() {
        let rootable = matches!(inst.covers, Covers::Pattern(_))
            && matches!(
                inst.detail,
                Detail::None | Detail::Offset(_) | Detail::Brif { .. }
            );
        if !rootable {
            continue;
        }
        let mut seen: HashSet<Vec<usize>> = HashSet::new();
        let mut stack = vec![vec![root]];
        while let Some(members) = stack.pop() {
            if members.len() >= 2 {
                out.push(members.clone());
            }
            if members.len() == MOST {
                continue;
            }
            for &m in &members {
                for p in feeds[m].iter().flatten() {
                    if members.contains(p) {
                        continue;
                    }
                    let mut more = members.clone();
                    more.push(*p);
                    more[1..].sort_unstable();
                    if seen.insert(more.clone()) {
                        stack.push(more);
                    }
                }
            }
        }
    }
    out
}

/// Composes a group's pattern as text, from the root down: the block's instances, their
/// feeders, the group, and what is made so far.
struct Composer<'a> {
    insts: &'a [Instance],
    feeds: &'a [Vec<Option<usize>>],
    members: &'a [usize],
    /// The members composed so far.
    placed: Vec<usize>,
    /// Above 0 while writing out a member a second time.
    repeat: u32,
    /// The group's operands, as (instance, operand), by letter.
    letters: Vec<(usize, usize)>,
    kinds: String,
    /// The operations in pre-order, as names go (`icmp_slt`), and the first one's type.
    ops: Vec<String>,
    ty: Option<Type>,
    memory: usize,
    text: String,
}

impl Composer<'_> {
    /// Writes the pattern of instance `at`, with the members that feed it in place;
    /// false where an operation may not be in a superstencil.
    fn instance(&mut self, at: usize) -> bool {
        match self.insts[at].covers {
            Covers::Pattern(pat) => self.pat(pat, at),
            _ => false,
        }
    }

    fn pat(&mut self, p: &Pat, at: usize) -> bool {
        match p {
            Pat::Var(n, _) => match self.feeds[at].get(*n).copied().flatten() {
                Some(q) if self.members.contains(&q) => {
                    // A member its reader names twice (`x ^ (x >> k)`) is written out
                    // twice, as the pattern language has no names for subterms; the
                    // fused stencil computes it once, but for a memory access, which
                    // counts twice and so is refused. The name takes its operations once.
                    let again = self.placed.contains(&q);
                    if !again {
                        self.placed.push(q);
                    }
                    self.repeat += u32::from(again);
                    let ok = self.instance(q);
                    self.repeat -= u32::from(again);
                    ok
                }
                _ => {
                    let i = match self.letters.iter().position(|&l| l == (at, *n)) {
                        Some(i) => i,
                        None => {
                            self.letters.push((at, *n));
                            self.kinds.push(match self.insts[at].operands[*n] {
                                Operand::Slot(_) => Kind::Slot.letter(),
                                Operand::Imm(_) => Kind::Imm.letter(),
                            });
                            self.letters.len() - 1
                        }
                    };
                    // Past `?d` the group is refused; the letter does not matter.
                    self.text.push('?');
                    self.text.push(char::from(b'a' + (i as u8).min(25)));
                    true
                }
            },
            Pat::Node(op, args) => {
                let (name, ty, flags) = match *op {
                    NodeOp::Pure(o, ty) => (o.name(), Some(ty), o.info().flags),
                    NodeOp::Effect { op: o, ty, .. } => (o.name(), ty, o.info().flags),
                    NodeOp::Term(t @ Term::Brif, _) => (t.name(), None, 0),
                    _ => return false,
                };
                let access = flags & (READS_MEMORY | WRITES_MEMORY) != 0;
                if flags & (IS_CALL | NEEDS_HELPER) != 0 || (flags & MAY_TRAP != 0 && !access) {
                    return false;
                }
                self.memory += usize::from(access);
                self.ty = self.ty.or(ty);
                if self.repeat == 0 {
                    self.ops.push(name.replace('.', "_"));
                }
                self.text.push('(');
                self.text.push_str(&op.to_string());
                for a in args {
                    self.text.push(' ');
                    if !self.pat(a, at) {
                        return false;
                    }
                }
                self.text.push(')');
                true
            }
        }
    }
}

/// The candidate a group makes, or `None` when the build would refuse its line.
fn candidate(
    insts: &[Instance],
    feeds: &[Vec<Option<usize>>],
    members: &[usize],
) -> Option<Candidate> {
    let mut c = Composer {
        insts,
        feeds,
        members,
        placed: Vec::new(),
        repeat: 0,
        letters: Vec::new(),
        kinds: String::new(),
        ops: Vec::new(),
        ty: None,
        memory: 0,
        text: String::new(),
    };
    if !c.instance(members[0]) || c.memory > 1 || c.letters.len() > 4 {
        return None;
    }
    let mut name = c.ops;
    name.extend(c.ty.map(|t| t.to_string()));
    name.push(c.kinds.clone());
    Some(Candidate {
        pattern: c.text,
        kinds: c.kinds,
        name: name.join("_"),
        count: 1,
        saving: SAVING_PER_VALUE * (members.len() as u32 - 1),
    })
}
