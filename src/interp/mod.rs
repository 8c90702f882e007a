//! The reference interpreter: the oracle every other engine is checked against.
//!
//! A verified module is lowered once into flat register code (one register per SSA
//! value, branch targets resolved, block arguments as parallel moves), then run by a loop
//! with an explicit frame stack, so deep recursion reaches the call-depth limit and
//! traps instead of overflowing the native stack. The operations' meaning comes from
//! [`crate::semantics`], the same functions the stencils are made from.

mod lower;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::ir::{type_list, verify, FuncId, Module, Signature, Type};
use crate::semantics::{self as sem, TrapCode, MAX_PAGES, PAGE_SIZE};
use crate::{Config, Error, ErrorKind, Trap, Value};
pub use lower::eval;
use lower::{Edge, FuncCode, Op, Program};

/// What a host function sees of the instance that calls it.
pub struct Caller<'a> {
    pub(crate) memory: &'a mut [u8],
}

impl Caller<'_> {
    /// The linear memory (empty when the module has none).
    pub fn memory(&mut self) -> &mut [u8] {
        self.memory
    }
}

/// A host function: takes the arguments (typed as the import declares), returns the
/// results or an error message, which becomes the trap `host error: <message>`.
pub type HostFn =
    Arc<dyn Fn(&mut Caller<'_>, &[Value]) -> Result<Vec<Value>, String> + Send + Sync>;

/// The host functions an embedder provides, by import name (without `@`).
#[derive(Clone, Default)]
pub struct Imports {
    funcs: HashMap<String, HostFn>,
}

impl Imports {
    /// No host functions.
    pub fn new() -> Imports {
        Imports::default()
    }

    /// Provides `name` (e.g. `env.print`); replaces an earlier definition.
    pub fn define<F>(&mut self, name: &str, f: F) -> &mut Imports
    where
        F: Fn(&mut Caller<'_>, &[Value]) -> Result<Vec<Value>, String> + Send + Sync + 'static,
    {
        self.funcs.insert(name.to_string(), Arc::new(f));
        self
    }

    /// The host function for `name`, if provided.
    pub fn get(&self, name: &str) -> Option<&HostFn> {
        self.funcs.get(name)
    }
}

impl fmt::Debug for Imports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.funcs.keys().collect();
        names.sort();
        f.debug_struct("Imports").field("funcs", &names).finish()
    }
}

/// Why [`Instance::call`] returned no results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The function trapped; the instance is ready for the next call.
    Trap(Trap),
    /// No function of that name.
    NoSuchFunction(String),
    /// The arguments do not match the function's parameters.
    BadArguments {
        /// The function called.
        func: String,
        /// Its signature.
        expected: Signature,
        /// The types of the arguments given.
        found: Vec<Type>,
    },
    /// The results asked for do not match the function's results.
    BadResults {
        /// The function called.
        func: String,
        /// Its signature.
        expected: Signature,
        /// The types asked for.
        found: Vec<Type>,
    },
    /// The module could not be instantiated for the call (it has imports).
    Instantiate(Error),
    /// A typed function called on an instance of another compiled module.
    WrongInstance(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Trap(t) => write!(f, "{t}"),
            CallError::NoSuchFunction(name) => write!(f, "no function `@{name}` in the module"),
            CallError::BadArguments {
                func,
                expected,
                found,
            } => {
                write!(
                    f,
                    "`@{func}` takes {} argument(s) {expected}, given ({})",
                    expected.params.len(),
                    type_list(found)
                )
            }
            CallError::BadResults {
                func,
                expected,
                found,
            } => write!(
                f,
                "`@{func}` returns ({}), not ({})",
                type_list(&expected.results),
                type_list(found)
            ),
            CallError::Instantiate(e) => write!(f, "{e}"),
            CallError::WrongInstance(func) => write!(
                f,
                "`@{func}` was called on an instance of another compiled module"
            ),
        }
    }
}

impl std::error::Error for CallError {}

impl From<Trap> for CallError {
    fn from(t: Trap) -> CallError {
        CallError::Trap(t)
    }
}

/// What every engine makes of a module before it runs: the host function of each
/// import, the memory with its data, the memory's page limit.
pub(crate) struct Linked {
    pub hosts: Vec<Option<HostFn>>,
    pub memory: Vec<u8>,
    pub max_pages: u32,
}

/// Resolves `module`'s imports in `imports` and sets up its memory and data.
///
/// # Errors
/// A [`ErrorKind::Link`] error naming an import that `imports` does not provide.
pub(crate) fn link(module: &Module, imports: &Imports) -> Result<Linked, Error> {
    let mut hosts = Vec::with_capacity(module.funcs.len());
    for f in &module.funcs {
        if f.is_import() {
            let Some(h) = imports.get(&f.name) else {
                return Err(Error::new(
                    ErrorKind::Link,
                    &module.source,
                    f.loc,
                    format!("import `@{}` is not provided by the host", f.name),
                ));
            };
            hosts.push(Some(h.clone()));
        } else {
            hosts.push(None);
        }
    }
    let (pages, max_pages) = match &module.memory {
        Some(m) => (m.initial, m.max.unwrap_or(MAX_PAGES).min(MAX_PAGES)),
        None => (0, 0),
    };
    let mut memory = vec![0u8; pages as usize * PAGE_SIZE as usize];
    for d in &module.data {
        // The verifier checked that every segment fits.
        let start = d.offset as usize;
        memory[start..start + d.bytes.len()].copy_from_slice(&d.bytes);
    }
    Ok(Linked {
        hosts,
        memory,
        max_pages,
    })
}

/// The registers (8 bytes each) the frame stack may hold at least: 512 MiB.
const MIN_REGISTERS: usize = 64 << 20;

/// The most registers the frame stack may hold: room for `max_depth` nested frames of
/// the largest function of `prog`, and at least [`MIN_REGISTERS`]. Within the depth
/// limit a program never runs out of registers; growing the stack may still fail where
/// the host has not the memory, which traps with `call stack exhausted` too.
fn register_limit(prog: &lower::Program, max_depth: u32) -> usize {
    let widest = (prog.funcs.iter())
        .filter_map(|f| f.code.as_ref().map(|c| c.nregs))
        .max()
        .unwrap_or(0);
    widest
        .saturating_mul(max_depth as usize + 1)
        .max(MIN_REGISTERS)
}

/// A module ready to run on the interpreter: its code, its memory, its imports.
pub struct Instance {
    prog: Arc<Program>,
    memory: Vec<u8>,
    max_pages: u32,
    hosts: Vec<Option<HostFn>>,
    config: Config,
    regs: Vec<u64>,
    /// The most registers `regs` may hold ([`register_limit`]).
    max_regs: usize,
}

struct Frame {
    func: u32,
    pc: usize,
    base: usize,
    /// Registers of the caller's call instruction that take the results.
    rets: (u32, u32),
}

impl Instance {
    /// Verifies `module`, resolves its imports and sets up its memory and data.
    ///
    /// # Errors
    /// A verification error, or a [`ErrorKind::Link`] error naming an import that
    /// `imports` does not provide.
    pub fn new(module: &Module, imports: Imports, config: &Config) -> Result<Instance, Error> {
        verify(module)?;
        let Linked {
            hosts,
            memory,
            max_pages,
        } = link(module, &imports)?;
        let prog = lower::lower(module);
        Ok(Instance {
            memory,
            max_pages,
            hosts,
            max_regs: register_limit(&prog, config.max_call_depth),
            prog: Arc::new(prog),
            config: config.clone(),
            regs: Vec::new(),
        })
    }

    /// The linear memory as it is now.
    pub fn memory(&self) -> &[u8] {
        &self.memory
    }

    /// Calls the function `name` with `args`; an import, its host function.
    ///
    /// # Errors
    /// [`CallError::Trap`] when it traps (memory keeps what was written before the trap,
    /// and the next call works); the other variants for a wrong name or arguments.
    pub fn call(&mut self, name: &str, args: &[Value]) -> Result<Vec<Value>, CallError> {
        let Some(id) = self.prog.by_name.get(name).copied() else {
            return Err(CallError::NoSuchFunction(name.to_string()));
        };
        let sig = &self.prog.funcs[id.index()].sig;
        let found: Vec<Type> = args.iter().map(|a| a.ty()).collect();
        if found != sig.params {
            return Err(CallError::BadArguments {
                func: name.to_string(),
                expected: sig.clone(),
                found,
            });
        }
        let bits: Vec<u64> = args.iter().map(|a| a.to_bits()).collect();
        let prog = self.prog.clone();
        let out = self.run(&prog, id, &bits);
        self.regs.clear();
        let out = out?;
        let sig = &prog.funcs[id.index()].sig;
        Ok(sig
            .results
            .iter()
            .zip(out)
            .map(|(&t, b)| Value::from_bits(t, b))
            .collect())
    }

    fn call_host(&mut self, prog: &Program, id: u32, args: &[u64]) -> Result<Vec<u64>, Trap> {
        let f = &prog.funcs[id as usize];
        let Some(host) = self.hosts[id as usize].clone() else {
            return Err(Trap::Host(format!(
                "import `@{}` has no host function",
                f.name
            )));
        };
        let vals: Vec<Value> = f
            .sig
            .params
            .iter()
            .zip(args)
            .map(|(&t, &b)| Value::from_bits(t, b))
            .collect();
        let mut caller = Caller {
            memory: &mut self.memory,
        };
        let results = host(&mut caller, &vals).map_err(Trap::Host)?;
        let types: Vec<Type> = results.iter().map(|v| v.ty()).collect();
        if types != f.sig.results {
            return Err(Trap::Host(format!(
                "host function `@{}` returned ({}), but its import declares {}",
                f.name,
                type_list(&types),
                f.sig
            )));
        }
        Ok(results.iter().map(|v| v.to_bits()).collect())
    }

    /// Pushes a frame for `func` with `args`, or traps when the limits are reached.
    fn push_frame(
        &mut self,
        frames: &mut Vec<Frame>,
        code: &FuncCode,
        func: u32,
        args: impl Iterator<Item = u64>,
        rets: (u32, u32),
    ) -> Result<usize, Trap> {
        if frames.len() >= self.config.max_call_depth as usize
            || self.regs.len() + code.nregs > self.max_regs
            || self.regs.try_reserve(code.nregs).is_err()
        {
            return Err(Trap::CallStackExhausted);
        }
        let base = self.regs.len();
        self.regs.resize(base + code.nregs, 0);
        for (&p, a) in code.params.iter().zip(args) {
            self.regs[base + p as usize] = a;
        }
        frames.push(Frame {
            func,
            pc: 0,
            base,
            rets,
        });
        Ok(base)
    }

    fn run(&mut self, prog: &Program, entry: FuncId, args: &[u64]) -> Result<Vec<u64>, Trap> {
        if prog.funcs[entry.index()].code.is_none() {
            return self.call_host(prog, entry.0, args);
        }
        let mut frames: Vec<Frame> = Vec::new();
        let mut scratch: Vec<u64> = Vec::new();
        let mut fc = prog.code(entry.0);
        let mut base = self.push_frame(&mut frames, fc, entry.0, args.iter().copied(), (0, 0))?;
        let mut pc = 0usize;
        loop {
            let r = |regs: &Vec<u64>, x: u32| regs[base + x as usize];
            let op = &fc.code[pc];
            pc += 1;
            match *op {
                Op::Const { dst, val } => self.regs[base + dst as usize] = val,
                Op::Bin { f, dst, a, b } => {
                    self.regs[base + dst as usize] = f(r(&self.regs, a), r(&self.regs, b));
                }
                Op::BinTrap { f, dst, a, b } => {
                    let v = f(r(&self.regs, a), r(&self.regs, b)).map_err(Trap::from_code)?;
                    self.regs[base + dst as usize] = v;
                }
                Op::Un { f, dst, a } => self.regs[base + dst as usize] = f(r(&self.regs, a)),
                Op::Select { dst, c, a, b } => {
                    let v = if r(&self.regs, c) != 0 {
                        r(&self.regs, a)
                    } else {
                        r(&self.regs, b)
                    };
                    self.regs[base + dst as usize] = v;
                }
                Op::Load {
                    dst,
                    addr,
                    off,
                    bytes,
                    signed,
                    ty,
                } => {
                    let n = bytes as usize;
                    let ea = self.address(r(&self.regs, addr), off, n)?;
                    let mut raw = [0u8; 8];
                    raw[..n].copy_from_slice(&self.memory[ea..ea + n]);
                    let raw = u64::from_le_bytes(raw);
                    self.regs[base + dst as usize] = match ty {
                        Type::I32 => sem::load_extend::<u32>(raw, bytes as u32, signed) as u64,
                        Type::I64 => sem::load_extend::<u64>(raw, bytes as u32, signed),
                    };
                }
                Op::Store {
                    addr,
                    val,
                    off,
                    bytes,
                } => {
                    let n = bytes as usize;
                    let ea = self.address(r(&self.regs, addr), off, n)?;
                    let v = r(&self.regs, val).to_le_bytes();
                    self.memory[ea..ea + n].copy_from_slice(&v[..n]);
                }
                Op::MemSize { dst } => {
                    self.regs[base + dst as usize] = self.memory.len() as u64 / PAGE_SIZE;
                }
                Op::MemGrow { dst, n } => {
                    let old = (self.memory.len() as u64 / PAGE_SIZE) as u32;
                    let delta = r(&self.regs, n) as u32;
                    let result = match sem::grow_pages(old, delta, self.max_pages) {
                        Some(new) => {
                            let bytes = new as usize * PAGE_SIZE as usize;
                            let extra = bytes - self.memory.len();
                            if self.memory.try_reserve_exact(extra).is_ok() {
                                self.memory.resize(bytes, 0);
                                old
                            } else {
                                u32::MAX
                            }
                        }
                        None => u32::MAX,
                    };
                    self.regs[base + dst as usize] = result as u64;
                }
                Op::Call {
                    func: callee,
                    args,
                    rets,
                } => {
                    let arg_regs = &fc.pool[args.0 as usize..(args.0 + args.1) as usize];
                    if let Some(code) = prog.funcs[callee as usize].code.as_ref() {
                        if let Some(f) = frames.last_mut() {
                            f.pc = pc;
                        }
                        scratch.clear();
                        scratch.extend(arg_regs.iter().map(|&a| self.regs[base + a as usize]));
                        let args = scratch.iter().copied();
                        base = self.push_frame(&mut frames, code, callee, args, rets)?;
                        fc = code;
                        pc = 0;
                    } else {
                        let vals: Vec<u64> = arg_regs
                            .iter()
                            .map(|&a| self.regs[base + a as usize])
                            .collect();
                        let out = self.call_host(prog, callee, &vals)?;
                        let dsts = &fc.pool[rets.0 as usize..(rets.0 + rets.1) as usize];
                        for (&d, v) in dsts.iter().zip(out) {
                            self.regs[base + d as usize] = v;
                        }
                    }
                }
                Op::Jump(e) => pc = self.take_edge(fc, base, e, &mut scratch),
                Op::Brif { cond, then, els } => {
                    let e = if r(&self.regs, cond) != 0 { then } else { els };
                    pc = self.take_edge(fc, base, e, &mut scratch);
                }
                Op::BrTable {
                    index,
                    table,
                    default,
                } => {
                    let i = r(&self.regs, index) as u32;
                    let e = if i < table.1 {
                        fc.edges[(table.0 + i) as usize]
                    } else {
                        default
                    };
                    pc = e.pc as usize;
                }
                Op::Return { vals } => {
                    let srcs = &fc.pool[vals.0 as usize..(vals.0 + vals.1) as usize];
                    scratch.clear();
                    scratch.extend(srcs.iter().map(|&s| self.regs[base + s as usize]));
                    let done = frames.pop();
                    self.regs.truncate(base);
                    let Some(caller) = frames.last() else {
                        return Ok(std::mem::take(&mut scratch));
                    };
                    let rets = done.map_or((0, 0), |d| d.rets);
                    fc = prog.code(caller.func);
                    base = caller.base;
                    pc = caller.pc;
                    let dsts = &fc.pool[rets.0 as usize..(rets.0 + rets.1) as usize];
                    for (&d, &v) in dsts.iter().zip(scratch.iter()) {
                        self.regs[base + d as usize] = v;
                    }
                }
                Op::Trap => return Err(Trap::from_code(TrapCode::Unreachable)),
            }
        }
    }

    /// The effective address of an access of `n` bytes at register value `addr` (an
    /// `i32`) plus `off`, or the out-of-bounds trap.
    fn address(&self, addr: u64, off: u32, n: usize) -> Result<usize, Trap> {
        sem::effective_address(addr as u32, off, n as u64, self.memory.len() as u64)
            .map(|ea| ea as usize)
            .map_err(Trap::from_code)
    }

    /// Moves the edge's arguments into the target's parameters (all read before any is
    /// written) and returns the target's first instruction.
    fn take_edge(&mut self, fc: &FuncCode, base: usize, e: Edge, scratch: &mut Vec<u64>) -> usize {
        if e.moves.1 > 0 {
            let start = e.moves.0 as usize;
            let n = e.moves.1 as usize;
            let srcs = &fc.pool[start..start + n];
            let dsts = &fc.pool[start + n..start + 2 * n];
            scratch.clear();
            scratch.extend(srcs.iter().map(|&s| self.regs[base + s as usize]));
            for (&d, &v) in dsts.iter().zip(scratch.iter()) {
                self.regs[base + d as usize] = v;
            }
        }
        e.pc as usize
    }
}
