//! Executable memory: written while writable, then made read-and-execute. A mapping is
//! never writable and executable at once.

use std::io;

use memmap2::{Mmap, MmapMut};

/// Code being written: anonymous memory, readable and writable, not executable.
pub struct CodeBuffer {
    map: MmapMut,
    len: usize,
}

impl CodeBuffer {
    /// A buffer that can hold `capacity` bytes (rounded up to whole pages by the OS).
    ///
    /// # Errors
    /// The OS refused the mapping.
    pub fn new(capacity: usize) -> io::Result<CodeBuffer> {
        Ok(CodeBuffer {
            map: MmapMut::map_anon(capacity.max(1))?,
            len: 0,
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
    ///
    /// # Errors
    /// The OS refused to change the protection.
    pub fn finish(self) -> io::Result<ExecutableCode> {
        Ok(ExecutableCode {
            map: self.map.make_exec()?,
        })
    }
}

/// Code that can run: read-and-execute memory.
pub struct ExecutableCode {
    map: Mmap,
}

impl ExecutableCode {
    /// The address of the byte at `offset`.
    pub fn address(&self, offset: usize) -> u64 {
        self.map.as_ptr() as u64 + offset as u64
    }

    /// The code and data as mapped.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }
}
