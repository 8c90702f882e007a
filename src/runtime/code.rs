//! Executable memory: written while writable, then made read-and-execute. A mapping is
//! never writable and executable at once.
//!
//! Mapping memory, touching its pages and unmapping it costs more than compiling a small
//! module, so a [`CodePool`] keeps the mappings of dropped code for the next compile:
//! a kept mapping is made writable (and not executable) again before it is written.

use std::io;
use std::sync::{Arc, Mutex, Weak};

use memmap2::{Mmap, MmapMut};

/// The unit mappings are sized in.
const PAGE: usize = 4096;

/// Code being written: anonymous memory, readable and writable, not executable.
pub struct CodeBuffer {
    map: MmapMut,
    len: usize,
    pool: Weak<CodePool>,
}

impl CodeBuffer {
    /// A buffer that can hold `capacity` bytes, in a new mapping.
    ///
    /// # Errors
    /// The OS refused the mapping.
    pub fn new(capacity: usize) -> io::Result<CodeBuffer> {
        Ok(CodeBuffer {
            map: MmapMut::map_anon(pages(capacity))?,
            len: 0,
            pool: Weak::new(),
        })
    }

    /// Appends `bytes` and returns their offset, or `None` when they do not fit.
    pub fn push(&mut self, bytes: &[u8]) -> Option<usize> {
        let at = self.len;
        let end = at.checked_add(bytes.len())?;
        self.map.get_mut(at..end)?.copy_from_slice(bytes);
        self.len = end;
        Some(at)
    }

    /// Pads with `int3` up to a multiple of `to` (a power of two) and returns the offset
    /// reached, or `None` when the padding does not fit.
    pub fn align(&mut self, to: usize) -> Option<usize> {
        let end = self.len.checked_next_multiple_of(to.max(1))?;
        self.map.get_mut(self.len..end)?.fill(0xcc);
        self.len = end;
        Some(end)
    }

    /// The bytes written so far, to patch.
    pub fn written_mut(&mut self) -> &mut [u8] {
        &mut self.map[..self.len]
    }

    /// The address of the byte at `offset`.
    pub fn address(&self, offset: usize) -> u64 {
        self.map.as_ptr() as u64 + offset as u64
    }

    /// Ends writing: the memory becomes read-and-execute, and stays at the same address.
    /// What lies past the bytes written is filled with `int3`.
    ///
    /// # Errors
    /// The OS refused to change the protection.
    pub fn finish(mut self) -> io::Result<ExecutableCode> {
        self.map[self.len..].fill(0xcc);
        Ok(ExecutableCode {
            map: Some(self.map.make_exec()?),
            len: self.len,
            pool: self.pool,
        })
    }
}

/// Code that can run: read-and-execute memory. Dropped, its mapping goes back to the
/// pool it came from, if that pool still exists and has room.
pub struct ExecutableCode {
    /// `None` only while being dropped.
    map: Option<Mmap>,
    len: usize,
    pool: Weak<CodePool>,
}

impl ExecutableCode {
    /// The address of the byte at `offset`.
    pub fn address(&self, offset: usize) -> u64 {
        self.bytes().as_ptr() as u64 + offset as u64
    }

    /// The code and data written.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_ref().map_or(&[], |m| &m[..self.len])
    }
}

impl Drop for ExecutableCode {
    fn drop(&mut self) {
        if let (Some(map), Some(pool)) = (self.map.take(), self.pool.upgrade()) {
            pool.keep(map);
        }
    }
}

/// Mappings of dropped code, kept to be written again: at most [`CodePool::MAX_MAPS`]
/// of them and [`CodePool::MAX_BYTES`] in all; past that a dropped mapping is unmapped.
#[derive(Default)]
pub struct CodePool {
    free: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    maps: Vec<Mmap>,
    bytes: usize,
}

impl CodePool {
    /// The most mappings kept.
    pub const MAX_MAPS: usize = 64;
    /// The most bytes kept.
    pub const MAX_BYTES: usize = 16 << 20;

    /// An empty pool, shared by the code it hands out.
    pub fn new() -> Arc<CodePool> {
        Arc::default()
    }

    /// A buffer that can hold `capacity` bytes: a kept mapping that fits it without
    /// wasting more than its own size, made writable, or a new mapping.
    ///
    /// # Errors
    /// The OS refused the mapping or the change of protection.
    pub fn buffer(self: &Arc<CodePool>, capacity: usize) -> io::Result<CodeBuffer> {
        let want = pages(capacity);
        let found = {
            let mut kept = self.lock();
            let best = (kept.maps.iter().enumerate())
                .filter(|(_, m)| m.len() >= want && m.len() <= 2 * want)
                .min_by_key(|(_, m)| m.len())
                .map(|(i, _)| i);
            best.map(|i| {
                let m = kept.maps.swap_remove(i);
                kept.bytes -= m.len();
                m
            })
        };
        let map = match found {
            Some(m) => m.make_mut()?,
            None => MmapMut::map_anon(want)?,
        };
        Ok(CodeBuffer {
            map,
            len: 0,
            pool: Arc::downgrade(self),
        })
    }

    /// The number of mappings kept and their bytes.
    pub fn kept(&self) -> (usize, usize) {
        let kept = self.lock();
        (kept.maps.len(), kept.bytes)
    }

    fn keep(&self, map: Mmap) {
        let mut kept = self.lock();
        if kept.maps.len() < Self::MAX_MAPS && kept.bytes + map.len() <= Self::MAX_BYTES {
            kept.bytes += map.len();
            kept.maps.push(map);
            return;
        }
        drop(kept);
        drop(map);
    }

    /// The kept mappings; a panic elsewhere cannot leave them half-changed.
    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `bytes` rounded up to whole pages, at least one.
fn pages(bytes: usize) -> usize {
    bytes.max(1).next_multiple_of(PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(pool: &Arc<CodePool>, bytes: &[u8]) -> ExecutableCode {
        let mut buf = pool.buffer(bytes.len()).expect("buffer");
        buf.push(bytes).expect("fits");
        buf.finish().expect("finish")
    }

    #[test]
    fn dropped_code_is_kept_and_written_again_at_the_same_address() {
        let pool = CodePool::new();
        let first = code(&pool, &[0x90; 100]);
        let at = first.address(0);
        assert_eq!(pool.kept(), (0, 0));
        drop(first);
        assert_eq!(pool.kept(), (1, 4096));
        let second = code(&pool, &[0xc3; 10]);
        assert_eq!(second.address(0), at);
        assert_eq!(second.bytes(), &[0xc3; 10]);
        assert_eq!(pool.kept(), (0, 0));
    }

    #[test]
    fn a_kept_mapping_far_too_big_or_too_small_is_not_used() {
        let pool = CodePool::new();
        drop(code(&pool, &[0x90; 3 * 4096]));
        // One page wanted: the three-page mapping would waste more than a page.
        let small = code(&pool, &[0x90; 8]);
        assert_eq!(pool.kept(), (1, 3 * 4096));
        // Four pages wanted: the three-page mapping is too small.
        let big = code(&pool, &[0x90; 4 * 4096]);
        assert_eq!(pool.kept(), (1, 3 * 4096));
        drop((small, big));
        assert_eq!(pool.kept(), (3, 8 * 4096));
    }

    #[test]
    fn the_pool_keeps_no_more_than_its_limits() {
        let pool = CodePool::new();
        let many: Vec<_> = (0..CodePool::MAX_MAPS + 5)
            .map(|_| code(&pool, &[0x90; 16]))
            .collect();
        drop(many);
        assert_eq!(pool.kept(), (CodePool::MAX_MAPS, CodePool::MAX_MAPS * 4096));
        let pool = CodePool::new();
        let huge = code(&pool, &vec![0x90; CodePool::MAX_BYTES + 1]);
        drop(huge);
        assert_eq!(pool.kept(), (0, 0));
    }

    #[test]
    fn code_outliving_its_pool_is_unmapped() {
        let pool = CodePool::new();
        let c = code(&pool, &[0xc3]);
        drop(pool);
        assert_eq!(c.bytes(), &[0xc3]);
        drop(c);
    }

    #[test]
    fn the_tail_of_a_mapping_is_int3() {
        let pool = CodePool::new();
        drop(code(&pool, &[0x90; 200]));
        let c = code(&pool, &[0xc3; 4]);
        let map = c.map.as_ref().expect("mapped");
        assert!(map[4..].iter().all(|&b| b == 0xcc));
    }
}
