//! The JIT: a module selected, emitted into executable memory and run.
//!
//! ```
//! use egjit::{Config, Imports, Jit, Module, Value};
//!
//! let src = "func @add(i64, i64) -> i64 {\nentry(v0: i64, v1: i64):\n    v2 = iadd.i64 v0, v1\n    return v2\n}";
//! let module = Module::from_text(src, "add.egir")?;
//! let jit = Jit::new(Config::default())?;
//! let compiled = jit.compile(&module)?;
//! let mut instance = compiled.instantiate(Imports::new())?;
//! assert_eq!(instance.call("add", &[Value::I64(40), Value::I64(2)])?, vec![Value::I64(42)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use crate::emit::{self, Absolute, Image, Placed};
use crate::interp::{CallError, Caller, HostFn, Imports};
use crate::ir::{type_list, verify, Body, Function, Module, Type};
use crate::runtime::{CodePool, ExecutableCode};
use crate::select::cover::Cover;
use crate::select::Selector;
use crate::semantics::{grow_pages, TrapCode, PAGE_SIZE};
use crate::stencil::abi::{Ctx, GrowHelper, ImportHelper, StencilFn};
use crate::typed::{Params, Results};
use crate::{Config, Error, ErrorKind, Trap, Value};

/// Bytes of frame stack an instance has at least: 512 MiB, as the interpreter's
/// registers.
const MIN_FRAME_STACK: usize = 512 << 20;

/// Bytes of frame stack for a module whose largest frame is `widest` bytes: room for
/// `max_depth` nested frames of it and the outgoing slots after the last, and at least
/// [`MIN_FRAME_STACK`]. Within the depth limit a program never runs out of frame stack
/// (the interpreter sizes its registers the same way).
fn frame_stack_size(widest: u64, out_area: u64, max_depth: u32) -> usize {
    let bytes = widest
        .saturating_mul(max_depth as u64 + 1)
        .saturating_add(out_area);
    usize::try_from(bytes)
        .unwrap_or(usize::MAX)
        .max(MIN_FRAME_STACK)
        .next_multiple_of(8)
}

/// A zeroed frame stack of `bytes`, or, where the host will not give that much, of half
/// as many, and so on down to 1 MiB (empty when not even that): its pages are touched
/// only as frames reach them. A call that would pass its end traps with `call stack
/// exhausted`.
fn frame_stack(mut bytes: usize) -> Vec<u64> {
    loop {
        let n = bytes / 8;
        if let Ok(layout) = std::alloc::Layout::array::<u64>(n) {
            // SAFETY: `layout` is of `n` u64s, `n` > 0. Zeroed memory holds valid u64s,
            // and the Vec frees it through the global allocator with this same layout.
            let p = unsafe { std::alloc::alloc_zeroed(layout) };
            if !p.is_null() {
                return unsafe { Vec::from_raw_parts(p.cast(), n, n) };
            }
        }
        if bytes <= 1 << 20 {
            return Vec::new();
        }
        bytes = (bytes / 2).next_multiple_of(8);
    }
}

/// The e-graph JIT: selection with the configured rules, then emission.
pub struct Jit {
    config: Config,
    selector: Selector,
    /// The code memory of dropped modules, for the next ones.
    pool: Arc<CodePool>,
}

impl Jit {
    /// A JIT with `config`'s rules and limits.
    ///
    /// # Errors
    /// Two rules of one name.
    pub fn new(config: Config) -> Result<Jit, Error> {
        let selector = Selector::new(&config)?;
        Ok(Jit {
            config,
            selector,
            pool: CodePool::new(),
        })
    }

    /// Verifies, selects and emits `module` into executable memory.
    ///
    /// # Errors
    /// A verification error, an operation without a stencil, or the OS refusing memory.
    pub fn compile(&self, module: &Module) -> Result<CompiledModule, Error> {
        verify(module)?;
        let (image, cover) = if self.config.single_op {
            (emit::emit_single_op(module)?, None)
        } else {
            let cover = self.selector.cover(module)?;
            (emit::emit(module, &cover)?, Some(cover))
        };
        let code = load(&image, &self.pool).map_err(|e| Error {
            kind: ErrorKind::Link,
            file: module.source.clone(),
            loc: None,
            message: format!("cannot map code memory: {e}"),
        })?;
        // Room past the frame end for the outgoing slots of the last frame: a call's
        // arguments are written there before the call checks that its callee's frame
        // fits, and an import's results come back there.
        let out_area = 8 * module
            .funcs
            .iter()
            .map(|f| f.sig.params.len().max(f.sig.results.len()))
            .max()
            .unwrap_or(0) as u64;
        let widest = (image.funcs.iter().flatten())
            .map(|f| f.frame_size)
            .max()
            .unwrap_or(0);
        Ok(CompiledModule {
            own: Arc::default(),
            inner: Arc::new(Compiled {
                code,
                out_area,
                frame_stack: frame_stack_size(widest, out_area, self.config.max_call_depth),
                image_len: image.bytes.len(),
                funcs: image.funcs,
                placed: image.placed,
                module: interface(module),
                cover,
                config: self.config.clone(),
            }),
        })
    }
}

/// What running a compiled module needs of its IR: the functions' names and signatures,
/// the memory and the data. The bodies are left out (a defined function keeps an empty
/// one, so imports still tell themselves apart); the code stands for them.
fn interface(module: &Module) -> Module {
    Module {
        memory: module.memory.clone(),
        data: module.data.clone(),
        funcs: module
            .funcs
            .iter()
            .map(|f| Function {
                name: f.name.clone(),
                sig: f.sig.clone(),
                body: f.body.as_ref().map(|_| Body::default()),
                loc: f.loc,
            })
            .collect(),
        source: module.source.clone(),
    }
}

/// Copies an image into code memory, fills in its absolute words and makes it
/// executable.
fn load(image: &Image, pool: &Arc<CodePool>) -> std::io::Result<ExecutableCode> {
    let mut buf = pool.buffer(image.bytes.len())?;
    buf.push(&image.bytes)
        .ok_or_else(|| std::io::Error::other("code buffer too small"))?;
    let base = buf.address(0);
    let bytes = buf.written_mut();
    for &(at, abs) in &image.absolute {
        let v = match abs {
            Absolute::Code(off) => base + off as u64,
            Absolute::ImportHelper => import_helper as ImportHelper as usize as u64,
            Absolute::GrowHelper => grow_helper as GrowHelper as usize as u64,
            Absolute::Bits(b) => b,
        };
        bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    buf.finish()
}

struct Compiled {
    code: ExecutableCode,
    /// Bytes past the last frame that its outgoing slots (a call's arguments, an
    /// import's results) may use.
    out_area: u64,
    /// Bytes of frame stack an instance takes ([`frame_stack_size`]).
    frame_stack: usize,
    image_len: usize,
    funcs: Vec<Option<emit::FuncCode>>,
    placed: Vec<Placed>,
    /// The module's [`interface`].
    module: Module,
    cover: Option<Cover>,
    config: Config,
}

/// A module in executable memory. Cheap to clone and shareable between threads; each
/// [`JitInstance`] has its own memory and imports.
#[derive(Clone)]
pub struct CompiledModule {
    inner: Arc<Compiled>,
    /// The instance [`CompiledModule::call`] and [`TypedFunc::call`] run on, made at
    /// the first such call and shared by the module's clones.
    own: Arc<Mutex<Option<JitInstance>>>,
}

impl CompiledModule {
    /// What selection chose; `None` for the single-op engine, which places one stencil
    /// per operation without building a cover
    /// ([`crate::select::single::single_op_cover`] lists those stencils).
    pub fn cover(&self) -> Option<&Cover> {
        self.inner.cover.as_ref()
    }

    /// The stencils placed, in order, with their offsets in the code.
    pub fn placed(&self) -> &[Placed] {
        &self.inner.placed
    }

    /// Bytes of code and data.
    pub fn code_size(&self) -> usize {
        self.inner.image_len
    }

    /// The emitted code disassembled (Intel syntax), function by function: each stencil
    /// as placed, headed by its name and the IR operations it covers. Addresses are
    /// offsets in the module's code, so the text is the same on every run.
    pub fn disasm(&self) -> String {
        use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
        use std::fmt::Write as _;
        let c = &*self.inner;
        let bytes = c.code.bytes();
        let mut out = String::new();
        let mut formatter = IntelFormatter::new();
        let mut text = String::new();
        let mut func = None;
        for p in &c.placed {
            if func != Some(p.func) {
                func = Some(p.func);
                let _ = writeln!(out, "func @{}:", c.module.funcs[p.func.0 as usize].name);
            }
            let _ = writeln!(out, "  ; {} ({})", p.stencil.name, p.covers);
            let (at, len) = (p.offset as usize, p.len as usize);
            let code = &bytes[at..at + len];
            let mut decoder = Decoder::with_ip(64, code, p.offset as u64, DecoderOptions::NONE);
            while decoder.can_decode() {
                let i = decoder.decode();
                text.clear();
                formatter.format(&i, &mut text);
                let _ = writeln!(out, "    {:06x}  {text}", i.ip());
            }
        }
        out
    }

    /// An instance: the module's memory with its data, and `imports` resolved.
    ///
    /// # Errors
    /// A [`ErrorKind::Link`] error naming an import that `imports` does not provide.
    pub fn instantiate(&self, imports: Imports) -> Result<JitInstance, Error> {
        let module = &self.inner.module;
        let crate::interp::Linked {
            hosts,
            memory,
            max_pages,
        } = crate::interp::link(module, &imports)?;
        Ok(JitInstance {
            compiled: self.inner.clone(),
            state: Box::new(State {
                memory,
                max_pages,
                hosts,
                compiled: self.inner.clone(),
                host_error: None,
            }),
            frames: Vec::new(),
        })
    }

    /// Calls the function `name` with `args` on the module's own instance: one with no
    /// imports, made at the first call and kept, memory and all, for the next. Calls from
    /// several threads take turns; for calls in parallel, or for imports, give each
    /// thread an instance of its own ([`CompiledModule::instantiate`]).
    ///
    /// # Errors
    /// As [`JitInstance::call`]; [`CallError::Instantiate`] when the module cannot run
    /// without imports.
    pub fn call(&self, name: &str, args: &[Value]) -> Result<Vec<Value>, CallError> {
        self.with_own(|inst| inst.call(name, args))
    }

    /// The function `name` as a typed function: `P` its parameters, a tuple of `i32`,
    /// `u32`, `i64` or `u64`, and `R` its results, `()`, one of those or a tuple. The
    /// signature is checked here once; each call then writes and reads frame slots
    /// directly.
    ///
    /// ```
    /// # use egjit::{Config, Jit, Module};
    /// let src = "func @twice(i64) -> i64 {\nentry(v0: i64):\n    v1 = iadd.i64 v0, v0\n    return v1\n}";
    /// let compiled = Jit::new(Config::default())?.compile(&Module::from_text(src, "t")?)?;
    /// let twice = compiled.typed::<(i64,), i64>("twice")?;
    /// assert_eq!(twice.call((21,))?, 42);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`CallError::NoSuchFunction`]; [`CallError::BadArguments`] or
    /// [`CallError::BadResults`] when `P` or `R` do not match the signature.
    pub fn typed<P: Params, R: Results>(&self, name: &str) -> Result<TypedFunc<P, R>, CallError> {
        let c = &*self.inner;
        let (id, fcode) = c.lookup(name)?;
        let sig = &c.module.funcs[id].sig;
        if P::TYPES != sig.params.as_slice() {
            return Err(CallError::BadArguments {
                func: name.to_string(),
                expected: sig.clone(),
                found: P::TYPES.to_vec(),
            });
        }
        if R::TYPES != sig.results.as_slice() {
            return Err(CallError::BadResults {
                func: name.to_string(),
                expected: sig.clone(),
                found: R::TYPES.to_vec(),
            });
        }
        Ok(TypedFunc {
            module: self.clone(),
            name: name.to_string(),
            fcode,
            types: PhantomData,
        })
    }

    /// Runs `f` on the module's own instance, made first if need be.
    fn with_own<T>(
        &self,
        f: impl FnOnce(&mut JitInstance) -> Result<T, CallError>,
    ) -> Result<T, CallError> {
        // A panic in a host function is caught before it reaches the lock, so a poisoned
        // lock still guards a whole instance.
        let mut own = self.own.lock().unwrap_or_else(|e| e.into_inner());
        let inst = match &mut *own {
            Some(inst) => inst,
            empty => empty.insert(
                self.instantiate(Imports::new())
                    .map_err(CallError::Instantiate)?,
            ),
        };
        f(inst)
    }
}

impl Compiled {
    /// The function `name` with code: its index and where its code is.
    fn lookup(&self, name: &str) -> Result<(usize, emit::FuncCode), CallError> {
        let found = self.module.func_by_name(name);
        match found.map(|id| (id.0 as usize, self.funcs[id.0 as usize])) {
            Some((id, Some(fcode))) => Ok((id, fcode)),
            _ => Err(CallError::NoSuchFunction(name.to_string())),
        }
    }
}

/// A function of a compiled module with its Rust signature, from
/// [`CompiledModule::typed`].
pub struct TypedFunc<P, R> {
    module: CompiledModule,
    name: String,
    fcode: emit::FuncCode,
    types: PhantomData<fn(P) -> R>,
}

impl<P: Params, R: Results> TypedFunc<P, R> {
    /// Calls it on its module's own instance (see [`CompiledModule::call`]).
    ///
    /// # Errors
    /// [`CallError::Trap`] when it traps; [`CallError::Instantiate`] when the module
    /// cannot run without imports.
    pub fn call(&self, args: P) -> Result<R, CallError> {
        self.module.with_own(|inst| self.run(inst, args))
    }

    /// Calls it on `instance`, an instance of the same compiled module.
    ///
    /// # Errors
    /// [`CallError::Trap`] when it traps; [`CallError::WrongInstance`] when `instance` is
    /// of another compiled module.
    pub fn call_in(&self, instance: &mut JitInstance, args: P) -> Result<R, CallError> {
        if !Arc::ptr_eq(&instance.compiled, &self.module.inner) {
            return Err(CallError::WrongInstance(self.name.clone()));
        }
        self.run(instance, args)
    }

    fn run(&self, inst: &mut JitInstance, args: P) -> Result<R, CallError> {
        inst.run(self.fcode, |slots| args.write(slots))?;
        Ok(R::read(&inst.frames))
    }
}

/// What the helpers reach through [`Ctx::host`].
struct State {
    memory: Vec<u8>,
    max_pages: u32,
    hosts: Vec<Option<HostFn>>,
    /// The module, for the imports' signatures and names.
    compiled: Arc<Compiled>,
    /// The message of the host error that ended the running call.
    host_error: Option<String>,
}

/// A compiled module with its own memory and imports.
pub struct JitInstance {
    compiled: Arc<Compiled>,
    state: Box<State>,
    frames: Vec<u64>,
}

impl JitInstance {
    /// The linear memory as it is now.
    pub fn memory(&self) -> &[u8] {
        &self.state.memory
    }

    /// Calls the function `name` with `args`; an import, its host function, as the
    /// interpreter does.
    ///
    /// # Errors
    /// [`CallError::Trap`] when it traps (memory keeps what was written before the trap,
    /// and the next call works); the other variants for a wrong name or arguments.
    pub fn call(&mut self, name: &str, args: &[Value]) -> Result<Vec<Value>, CallError> {
        let c = self.compiled.clone();
        let Some(id) = c.module.func_by_name(name).map(|id| id.0 as usize) else {
            return Err(CallError::NoSuchFunction(name.to_string()));
        };
        let sig = &c.module.funcs[id].sig;
        if !args.iter().map(|a| a.ty()).eq(sig.params.iter().copied()) {
            return Err(CallError::BadArguments {
                func: name.to_string(),
                expected: sig.clone(),
                found: args.iter().map(|a| a.ty()).collect(),
            });
        }
        // An import is called as the interpreter calls it: its host function, directly.
        let Some(fcode) = c.funcs[id] else {
            return call_host(&mut self.state, id, args)
                .map_err(|m| CallError::Trap(Trap::Host(m)));
        };
        self.run(fcode, |slots| {
            for (slot, a) in slots.iter_mut().zip(args) {
                *slot = a.to_bits();
            }
        })?;
        Ok(sig
            .results
            .iter()
            .enumerate()
            .map(|(i, &t)| Value::from_bits(t, self.frames[i]))
            .collect())
    }

    /// Runs the function at `fcode` with the arguments `write` puts in the first frame
    /// slots; its results are then in the first slots of `self.frames`.
    fn run(&mut self, fcode: emit::FuncCode, write: impl FnOnce(&mut [u64])) -> Result<(), Trap> {
        let c = &*self.compiled;
        if self.frames.is_empty() {
            self.frames = frame_stack(c.frame_stack);
        }
        let frames = self.frames.as_mut_ptr();
        let frame_end = (frames as u64 + (8 * self.frames.len()) as u64)
            .checked_sub(c.out_area)
            .filter(|&end| frames as u64 + fcode.frame_size <= end);
        let Some(frame_end) = frame_end else {
            return Err(Trap::CallStackExhausted);
        };
        write(&mut self.frames);
        self.state.host_error = None;
        let mut ctx = Ctx {
            mem_size: self.state.memory.len() as u64,
            depth: 1,
            max_depth: c.config.max_call_depth as u64,
            frame_end,
            mem_base: self.state.memory.as_mut_ptr(),
            host: (&mut *self.state as *mut State).cast(),
        };
        // SAFETY: `entry` is the first stencil of the function, emitted with the stencil
        // signature.
        let entry: StencilFn = unsafe { std::mem::transmute(c.code.address(fcode.entry)) };
        let status = if c.config.max_call_depth == 0 {
            TrapCode::CallStackExhausted as u64
        } else {
            run_entry(entry, frames.cast(), &mut ctx, c.config.max_call_depth)
        };
        if status != 0 {
            return Err(trap_of(status, &mut self.state));
        }
        Ok(())
    }
}

/// Native stack a level of JIT calls may take (the `call` stencil's own use is 32 bytes).
const NATIVE_PER_CALL: usize = 64;
/// Calls whose depth limit needs at most this much native stack run on the caller's
/// thread; deeper limits run on a thread with a stack of their size.
const INLINE_STACK: usize = 1 << 20;

/// Raw pointers moved to the thread that runs a deep call.
struct Entry(StencilFn, *mut u8, *mut Ctx);
// SAFETY: the caller waits for the thread, and nothing else touches frames or context
// meanwhile.
unsafe impl Send for Entry {}

/// Runs a function's code, on a thread of its own when the depth limit needs more
/// native stack than the caller's thread may have.
fn run_entry(entry: StencilFn, frames: *mut u8, ctx: &mut Ctx, max_depth: u32) -> u64 {
    let depth = max_depth as usize;
    let need = depth.saturating_mul(NATIVE_PER_CALL);
    let mem = ctx.mem_base;
    if need <= INLINE_STACK {
        // SAFETY: the code was emitted for this ABI: it keeps to its frames inside the
        // frame stack (the call stencil checks each callee against `frame_end`), to
        // memory inside `mem_size`, and reads `ctx` as `Ctx` lays it out.
        return unsafe { entry(frames, mem, ctx) };
    }
    let job = Entry(entry, frames, ctx);
    let out = std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(need + INLINE_STACK)
            .spawn_scoped(s, move || {
                let job = job;
                // SAFETY: as above; this thread has the native stack the depth needs.
                unsafe { (job.0)(job.1, (*job.2).mem_base, job.2) }
            })
            .map(|h| h.join())
    });
    match out {
        Ok(Ok(status)) => status,
        // No thread with that stack: the depth cannot be had.
        _ => TrapCode::CallStackExhausted as u64,
    }
}

fn trap_of(status: u64, state: &mut State) -> Trap {
    match TrapCode::from_status(status) {
        Some(TrapCode::HostError) | None => Trap::Host(
            state
                .host_error
                .take()
                .unwrap_or_else(|| format!("unknown trap status {status}")),
        ),
        Some(code) => Trap::from_code(code),
    }
}

/// Calls import `index` with its arguments at `args` and writes its results there.
unsafe extern "C" fn import_helper(ctx: *mut Ctx, args: *mut u64, index: u64) -> u64 {
    // SAFETY: `host` is the `State` of the instance whose call is running, and `args`
    // has room for the import's parameters and results (`out_area`).
    let state = unsafe { &mut *(*ctx).host.cast::<State>() };
    let i = index as usize;
    let compiled = state.compiled.clone();
    let f = &compiled.module.funcs[i];
    let vals: Vec<Value> = f
        .sig
        .params
        .iter()
        .enumerate()
        .map(|(k, &t)| Value::from_bits(t, unsafe { *args.add(k) }))
        .collect();
    match call_host(state, i, &vals) {
        Ok(results) => {
            for (k, v) in results.iter().enumerate() {
                unsafe { *args.add(k) = v.to_bits() };
            }
            0
        }
        Err(msg) => {
            state.host_error = Some(msg);
            TrapCode::HostError as u64
        }
    }
}

/// Calls import `i`'s host function with `vals`: its results, of the types the import
/// declares, or the message of its error. A panic in the host function is an error too:
/// it must not unwind through JIT code.
fn call_host(state: &mut State, i: usize, vals: &[Value]) -> Result<Vec<Value>, String> {
    let compiled = state.compiled.clone();
    let f = &compiled.module.funcs[i];
    let Some(host) = state.hosts[i].clone() else {
        return Err(format!("import `@{}` has no host function", f.name));
    };
    let mut caller = Caller {
        memory: &mut state.memory,
    };
    let results = catch_unwind(AssertUnwindSafe(|| host(&mut caller, vals)))
        .unwrap_or_else(|_| Err("the host function panicked".to_string()))?;
    let types: Vec<Type> = results.iter().map(|v| v.ty()).collect();
    if types != f.sig.results {
        return Err(format!(
            "host function `@{}` returned ({}), but its import declares {}",
            f.name,
            type_list(&types),
            f.sig
        ));
    }
    Ok(results)
}

/// `memory.grow`: the old size in pages, or `u64::MAX`.
unsafe extern "C" fn grow_helper(ctx: *mut Ctx, delta: u64) -> u64 {
    // SAFETY: as for `import_helper`.
    let ctx = unsafe { &mut *ctx };
    let state = unsafe { &mut *ctx.host.cast::<State>() };
    let old = (state.memory.len() as u64 / PAGE_SIZE) as u32;
    match grow_pages(old, delta as u32, state.max_pages) {
        Some(new) => {
            state.memory.resize(new as usize * PAGE_SIZE as usize, 0);
            ctx.mem_base = state.memory.as_mut_ptr();
            ctx.mem_size = state.memory.len() as u64;
            old as u64
        }
        None => u64::MAX,
    }
}
