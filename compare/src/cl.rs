//! The Cranelift engine: egjit IR lowered to Cranelift IR with `cranelift-frontend` and
//! compiled with `cranelift-jit`.
//!
//! Lowered as egjit runs it, so both do the same work:
//! - Every function takes the context ([`Ctx`]) first, then its parameters, and returns a
//!   status (0, or a trap's code) and, if it has one result, that result; several results
//!   go through the context's result area.
//! - Memory is the context's buffer: every access computes `zext(addr) + off`, compares
//!   its end with the memory's size and branches to a trap, as egjit's stencils do; the
//!   base and size are read from the context at each access (`memory.grow` may move them).
//! - Division checks its divisor (and signed overflow) by compares, not by a hardware
//!   fault; `srem` of MIN by -1 gives 0.
//! - A call checks and counts the call depth in the context, then passes a callee's
//!   non-zero status straight back up.
//! - `memory.grow` and imports go through host functions in the context.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, types, AbiParam, BlockArg, InstBuilder, JumpTableData, MemFlagsData, Signature,
    UserFuncName,
};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module as _};
use egjit::ir::{Body, Function, Opcode, TermKind};
use egjit::semantics::TrapCode;
use egjit::{Module, Trap, Type, Value};

/// The status a function returns for a trap: egjit's own trap code (0 is success).
fn status(code: TrapCode) -> i64 {
    code as i64
}

/// Slots of the context's result area (results of a function with several, arguments and
/// results of an import).
pub const AREA: usize = 64;

/// What compiled code reads and writes besides its arguments. `repr(C)`: the code reads
/// the fields at their offsets (the constants below).
#[repr(C)]
pub struct Ctx {
    /// Memory's base and size in bytes.
    pub mem_base: *mut u8,
    pub mem_size: u64,
    /// The call depth and its limit.
    pub depth: u64,
    pub max_depth: u64,
    /// `memory.grow`: `(ctx, pages) -> old size in pages, or -1`.
    pub grow: extern "C" fn(*mut Ctx, u64) -> u64,
    /// Imports: `(ctx, import index) -> status`, arguments and results in `area`.
    pub import: extern "C" fn(*mut Ctx, u64) -> i64,
    /// The embedder's state.
    pub host: *mut u8,
    /// Results and import arguments.
    pub area: [u64; AREA],
}

const MEM_BASE: i32 = std::mem::offset_of!(Ctx, mem_base) as i32;
const MEM_SIZE: i32 = std::mem::offset_of!(Ctx, mem_size) as i32;
const DEPTH: i32 = std::mem::offset_of!(Ctx, depth) as i32;
const MAX_DEPTH: i32 = std::mem::offset_of!(Ctx, max_depth) as i32;
const GROW: i32 = std::mem::offset_of!(Ctx, grow) as i32;
const IMPORT: i32 = std::mem::offset_of!(Ctx, import) as i32;
const AREA_AT: i32 = std::mem::offset_of!(Ctx, area) as i32;

/// Cranelift's optimization level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opt {
    None,
    Speed,
}

/// A module compiled by Cranelift: each function's trampoline, by egjit function index.
pub struct Compiled {
    /// Kept alive for the code's sake.
    _module: JITModule,
    entries: Vec<Option<*const u8>>,
}

/// A trampoline: `(ctx, arguments) -> status`, the results in the context's area.
type Trampoline = unsafe extern "C" fn(*mut Ctx, *const u64) -> i64;

/// Builds the trampoline of `f`, whose code is `id`.
fn trampoline(
    module: &mut JITModule,
    f: &Function,
    id: FuncId,
    func: &mut ir::Function,
    fctx: &mut FunctionBuilderContext,
) {
    let flags = MemFlagsData::trusted();
    let mut b = FunctionBuilder::new(func, fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let (ctx, argv) = (b.block_params(entry)[0], b.block_params(entry)[1]);
    let mut args = vec![ctx];
    for (i, &t) in f.sig.params.iter().enumerate() {
        let v = b.ins().load(types::I64, flags, argv, 8 * i as i32);
        args.push(if t == Type::I32 {
            b.ins().ireduce(types::I32, v)
        } else {
            v
        });
    }
    let callee = module.declare_func_in_func(id, b.func);
    let c = b.ins().call(callee, &args);
    let outs = b.inst_results(c).to_vec();
    if let [_, r] = outs[..] {
        store_area(&mut b, ctx, 0, r);
    }
    b.ins().return_(&[outs[0]]);
    b.seal_all_blocks();
    b.finalize(module.target_config());
}

/// Pages memory may grow to at most.
const MAX_PAGES: u64 = 65536;

/// What Cranelift's code of a module runs with: its memory, its context, and the last
/// host error.
pub struct Host {
    mem: Vec<u8>,
    max_pages: u64,
    /// The module's imports: name and signature, by function index.
    imports: Vec<Option<(String, egjit::ir::Signature)>>,
    error: Option<String>,
    ctx: Box<Ctx>,
}

impl Host {
    /// Memory as the module declares it, its data copied in.
    ///
    /// # Errors
    /// A data segment past the memory's end.
    pub fn new(m: &Module) -> Result<Host, String> {
        let pages = m.memory.as_ref().map_or(0, |mem| mem.initial as u64);
        // Without a memory there is none to grow.
        let max_pages = m.memory.as_ref().map_or(0, |mem| {
            mem.max.map_or(MAX_PAGES, |x| (x as u64).min(MAX_PAGES))
        });
        let mut mem = vec![0u8; (pages << 16) as usize];
        for d in &m.data {
            let end = d.offset as usize + d.bytes.len();
            let to = mem
                .get_mut(d.offset as usize..end)
                .ok_or_else(|| format!("data at {} past the memory's end", d.offset))?;
            to.copy_from_slice(&d.bytes);
        }
        let imports = (m.funcs.iter())
            .map(|f| f.is_import().then(|| (f.name.clone(), f.sig.clone())))
            .collect();
        let ctx = Box::new(Ctx {
            mem_base: std::ptr::null_mut(),
            mem_size: 0,
            depth: 1,
            max_depth: egjit::Config::default().max_call_depth as u64,
            grow: grow_helper,
            import: import_helper,
            host: std::ptr::null_mut(),
            area: [0; AREA],
        });
        Ok(Host {
            mem,
            max_pages,
            imports,
            error: None,
            ctx,
        })
    }

    /// Calls function `index` of `m` with `args`: its results, or the trap's message.
    pub fn call(
        &mut self,
        m: &Module,
        code: &Compiled,
        index: usize,
        args: &[Value],
    ) -> Result<Vec<Value>, String> {
        let Some(Some(entry)) = code.entries.get(index) else {
            return Err(format!("no code for function {index}"));
        };
        let argv: Vec<u64> = args.iter().map(|a| a.to_bits()).collect();
        self.error = None;
        self.ctx.mem_base = self.mem.as_mut_ptr();
        self.ctx.mem_size = self.mem.len() as u64;
        self.ctx.depth = 1;
        self.ctx.host = (self as *mut Host).cast();
        let ctx: *mut Ctx = &mut *self.ctx;
        // SAFETY: `entry` is a trampoline compiled with that signature; the context
        // points at this host, which outlives the call.
        let st = unsafe {
            let f: Trampoline = std::mem::transmute(*entry);
            f(ctx, argv.as_ptr())
        };
        if st != 0 {
            let trap = match TrapCode::from_status(st as u64) {
                Some(TrapCode::HostError) | None => Trap::Host(
                    (self.error.take()).unwrap_or_else(|| format!("unknown status {st}")),
                ),
                Some(code) => Trap::from_code(code),
            };
            return Err(trap.to_string());
        }
        let results = &m.funcs[index].sig.results;
        Ok((results.iter().enumerate())
            .map(|(i, &t)| Value::from_bits(t, self.ctx.area[i]))
            .collect())
    }
}

/// Values as text, joined by `sep`.
fn list(args: &[Value], sep: &str) -> String {
    args.iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(sep)
}

/// The host functions `egjit run` provides, for every engine here: `@env.print` prints
/// its arguments on one line, `@env.fail` returns a host error, `@env.echo` returns its
/// arguments.
pub const HOST_FUNCTIONS: [&str; 3] = ["env.print", "env.fail", "env.echo"];

/// Calls host function `name` (one of [`HOST_FUNCTIONS`]) with `args`.
pub fn host_function(name: &str, args: &[Value]) -> Result<Vec<Value>, String> {
    match name {
        "env.print" => {
            println!("{}", list(args, " "));
            Ok(Vec::new())
        }
        "env.fail" => Err(format!("env.fail({})", list(args, ", "))),
        "env.echo" => Ok(args.to_vec()),
        other => Err(format!("unknown import `@{other}`")),
    }
}

extern "C" fn grow_helper(ctx: *mut Ctx, n: u64) -> u64 {
    // SAFETY: the code passes the context it was called with, whose host is running it.
    let (ctx, host) = unsafe { (&mut *ctx, &mut *(*ctx).host.cast::<Host>()) };
    let old = host.mem.len() as u64 >> 16;
    let n = n & 0xffff_ffff;
    if old + n > host.max_pages {
        return u32::MAX as u64;
    }
    host.mem.resize(((old + n) << 16) as usize, 0);
    ctx.mem_base = host.mem.as_mut_ptr();
    ctx.mem_size = host.mem.len() as u64;
    old
}

extern "C" fn import_helper(ctx: *mut Ctx, index: u64) -> i64 {
    // SAFETY: as in `grow_helper`.
    let (ctx, host) = unsafe { (&mut *ctx, &mut *(*ctx).host.cast::<Host>()) };
    let Some(Some((name, sig))) = host.imports.get(index as usize) else {
        host.error = Some(format!("no import {index}"));
        return status(TrapCode::HostError);
    };
    let args: Vec<Value> = (sig.params.iter().enumerate())
        .map(|(i, &t)| Value::from_bits(t, ctx.area[i]))
        .collect();
    match host_function(name, &args) {
        Ok(vs) if vs.len() == sig.results.len() => {
            for (i, v) in vs.iter().enumerate() {
                ctx.area[i] = v.to_bits();
            }
            0
        }
        Ok(_) => {
            host.error = Some(format!("@{name} returned the wrong number of results"));
            status(TrapCode::HostError)
        }
        Err(m) => {
            host.error = Some(m);
            status(TrapCode::HostError)
        }
    }
}

fn cl_type(t: Type) -> ir::Type {
    match t {
        Type::I32 => types::I32,
        Type::I64 => types::I64,
    }
}

/// The Cranelift signature of an egjit function (see the module's notes).
fn signature(module: &JITModule, f: &Function) -> Signature {
    let mut sig = module.make_signature();
    sig.params.push(AbiParam::new(types::I64));
    for &t in &f.sig.params {
        sig.params.push(AbiParam::new(cl_type(t)));
    }
    sig.returns.push(AbiParam::new(types::I64));
    if let [t] = f.sig.results[..] {
        sig.returns.push(AbiParam::new(cl_type(t)));
    }
    sig
}

/// Compiles every function of `m` with Cranelift at `opt`.
///
/// # Errors
/// Cranelift's message, naming the function.
pub fn compile(m: &Module, opt: Opt) -> Result<Compiled, String> {
    let mut flags = settings::builder();
    let level = match opt {
        Opt::None => "none",
        Opt::Speed => "speed",
    };
    flags.set("opt_level", level).map_err(|e| e.to_string())?;
    flags.set("is_pic", "false").map_err(|e| e.to_string())?;
    flags
        .set("use_colocated_libcalls", "false")
        .map_err(|e| e.to_string())?;
    let isa = cranelift_native::builder()
        .map_err(|e| format!("cranelift: host not supported: {e}"))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| e.to_string())?;
    let mut module = JITModule::new(JITBuilder::with_isa(
        isa,
        cranelift_module::default_libcall_names(),
    ));
    let mut ids: Vec<Option<FuncId>> = Vec::with_capacity(m.funcs.len());
    for (i, f) in m.funcs.iter().enumerate() {
        if f.body.is_none() {
            ids.push(None);
            continue;
        }
        let sig = signature(&module, f);
        let id = module
            .declare_function(&format!("f{i}"), Linkage::Local, &sig)
            .map_err(|e| format!("@{}: {e}", f.name))?;
        ids.push(Some(id));
    }
    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    for (i, f) in m.funcs.iter().enumerate() {
        let (Some(body), Some(id)) = (&f.body, ids[i]) else {
            continue;
        };
        ctx.func.signature = signature(&module, f);
        ctx.func.name = UserFuncName::user(0, id.as_u32());
        lower(&mut module, m, &ids, f, body, &mut ctx.func, &mut fctx);
        module
            .define_function(id, &mut ctx)
            .map_err(|e| format!("@{}: {e:?}", f.name))?;
        module.clear_context(&mut ctx);
    }
    // A trampoline per function, `(ctx, args) -> status`, its results in the area: one
    // way for Rust to call any signature.
    let mut tramps: Vec<Option<FuncId>> = Vec::with_capacity(m.funcs.len());
    for (i, f) in m.funcs.iter().enumerate() {
        let Some(id) = ids[i] else {
            tramps.push(None);
            continue;
        };
        let sig = word_signature(&module);
        let t = module
            .declare_function(&format!("t{i}"), Linkage::Local, &sig)
            .map_err(|e| format!("@{}: {e}", f.name))?;
        ctx.func.signature = sig;
        ctx.func.name = UserFuncName::user(1, t.as_u32());
        trampoline(&mut module, f, id, &mut ctx.func, &mut fctx);
        module
            .define_function(t, &mut ctx)
            .map_err(|e| format!("@{}: {e:?}", f.name))?;
        module.clear_context(&mut ctx);
        tramps.push(Some(t));
    }
    module
        .finalize_definitions()
        .map_err(|e| format!("cranelift: {e}"))?;
    let entries = tramps
        .iter()
        .map(|id| id.map(|id| module.get_finalized_function(id)))
        .collect();
    Ok(Compiled {
        _module: module,
        entries,
    })
}

/// Lowers one function body into `func`.
fn lower(
    module: &mut JITModule,
    m: &Module,
    ids: &[Option<FuncId>],
    f: &Function,
    body: &Body,
    func: &mut ir::Function,
    fctx: &mut FunctionBuilderContext,
) {
    let mut b = FunctionBuilder::new(func, fctx);
    let blocks: Vec<ir::Block> = body.blocks.iter().map(|_| b.create_block()).collect();
    let mut vals: Vec<Option<ir::Value>> = vec![None; body.values.len()];
    // The entry: the context, then the function's parameters, which are the entry
    // block's parameters.
    let entry = blocks[0];
    b.append_block_params_for_function_params(entry);
    for (k, block) in body.blocks.iter().enumerate().skip(1) {
        for &p in &block.params {
            let v = b.append_block_param(blocks[k], cl_type(body.ty(p)));
            vals[p.index()] = Some(v);
        }
    }
    b.switch_to_block(entry);
    let params = b.block_params(entry).to_vec();
    let ctx = params[0];
    for (&p, &v) in body.blocks[0].params.iter().zip(&params[1..]) {
        vals[p.index()] = Some(v);
    }
    let results = &f.sig.results;
    // One block per trap code, returning it.
    let mut traps: Vec<(i64, ir::Block)> = Vec::new();
    let mut trap_block = |b: &mut FunctionBuilder, code: i64| -> ir::Block {
        if let Some(&(_, t)) = traps.iter().find(|(c, _)| *c == code) {
            return t;
        }
        let t = b.create_block();
        b.set_cold_block(t);
        traps.push((code, t));
        t
    };
    let flags = MemFlagsData::trusted();
    // Blocks in reverse postorder, so that each value's definition comes before its uses
    // (the text may put a block before the one that defines what it reads); blocks that
    // cannot be reached are left out.
    for k in reverse_postorder(body) {
        let block = &body.blocks[k];
        if k > 0 {
            b.switch_to_block(blocks[k]);
        }
        for inst in &block.insts {
            let arg = |i: usize| vals[inst.args[i].index()].expect("defined before use");
            let ty = inst.ty.map(cl_type).unwrap_or(types::I32);
            let out: Option<ir::Value> = match inst.op {
                Opcode::Iconst => Some(b.ins().iconst(ty, inst.imm as i64)),
                Opcode::Iadd => Some(b.ins().iadd(arg(0), arg(1))),
                Opcode::Isub => Some(b.ins().isub(arg(0), arg(1))),
                Opcode::Imul => Some(b.ins().imul(arg(0), arg(1))),
                Opcode::Band => Some(b.ins().band(arg(0), arg(1))),
                Opcode::Bor => Some(b.ins().bor(arg(0), arg(1))),
                Opcode::Bxor => Some(b.ins().bxor(arg(0), arg(1))),
                Opcode::Ishl => Some(b.ins().ishl(arg(0), arg(1))),
                Opcode::Ushr => Some(b.ins().ushr(arg(0), arg(1))),
                Opcode::Sshr => Some(b.ins().sshr(arg(0), arg(1))),
                Opcode::Rotl => Some(b.ins().rotl(arg(0), arg(1))),
                Opcode::Rotr => Some(b.ins().rotr(arg(0), arg(1))),
                Opcode::Sdiv | Opcode::Udiv | Opcode::Srem | Opcode::Urem => {
                    let (x, y) = (arg(0), arg(1));
                    let zero = b.ins().icmp_imm_s(IntCC::Equal, y, 0);
                    let t = trap_block(&mut b, status(TrapCode::DivideByZero));
                    check(&mut b, zero, t);
                    Some(match inst.op {
                        Opcode::Udiv => b.ins().udiv(x, y),
                        Opcode::Urem => b.ins().urem(x, y),
                        Opcode::Sdiv => {
                            let min = if ty == types::I32 {
                                i32::MIN as i64
                            } else {
                                i64::MIN
                            };
                            let is_min = b.ins().icmp_imm_s(IntCC::Equal, x, min);
                            let is_m1 = b.ins().icmp_imm_s(IntCC::Equal, y, -1);
                            let both = b.ins().band(is_min, is_m1);
                            let t = trap_block(&mut b, status(TrapCode::IntegerOverflow));
                            check(&mut b, both, t);
                            b.ins().sdiv(x, y)
                        }
                        _ => {
                            // x % -1 is 0 for every x, MIN among them.
                            let is_m1 = b.ins().icmp_imm_s(IntCC::Equal, y, -1);
                            let one = b.ins().iconst(ty, 1);
                            let safe = b.ins().select(is_m1, one, y);
                            let r = b.ins().srem(x, safe);
                            let zero = b.ins().iconst(ty, 0);
                            b.ins().select(is_m1, zero, r)
                        }
                    })
                }
                Opcode::Clz => Some(b.ins().clz(arg(0))),
                Opcode::Ctz => Some(b.ins().ctz(arg(0))),
                Opcode::Popcnt => Some(b.ins().popcnt(arg(0))),
                Opcode::Eqz => {
                    let c = b.ins().icmp_imm_s(IntCC::Equal, arg(0), 0);
                    Some(b.ins().uextend(types::I32, c))
                }
                Opcode::IcmpEq
                | Opcode::IcmpNe
                | Opcode::IcmpSlt
                | Opcode::IcmpSle
                | Opcode::IcmpSgt
                | Opcode::IcmpSge
                | Opcode::IcmpUlt
                | Opcode::IcmpUle
                | Opcode::IcmpUgt
                | Opcode::IcmpUge => {
                    let c = b.ins().icmp(cond(inst.op), arg(0), arg(1));
                    Some(b.ins().uextend(types::I32, c))
                }
                Opcode::Select => Some(b.ins().select(arg(0), arg(1), arg(2))),
                Opcode::Sextend => Some(b.ins().sextend(types::I64, arg(0))),
                Opcode::Uextend => Some(b.ins().uextend(types::I64, arg(0))),
                Opcode::Ireduce => Some(b.ins().ireduce(types::I32, arg(0))),
                Opcode::Sext8 | Opcode::Sext16 | Opcode::Sext32 => {
                    let narrow = match inst.op {
                        Opcode::Sext8 => types::I8,
                        Opcode::Sext16 => types::I16,
                        _ => types::I32,
                    };
                    let low = b.ins().ireduce(narrow, arg(0));
                    Some(b.ins().sextend(ty, low))
                }
                Opcode::Load
                | Opcode::Load8S
                | Opcode::Load8U
                | Opcode::Load16S
                | Opcode::Load16U
                | Opcode::Load32S
                | Opcode::Load32U => {
                    let width = access_width(inst.op, ty);
                    let t = trap_block(&mut b, status(TrapCode::OutOfBounds));
                    let at = address(&mut b, ctx, arg(0), inst.imm, width, t);
                    Some(match inst.op {
                        Opcode::Load => b.ins().load(ty, flags, at, 0),
                        Opcode::Load8S => b.ins().sload8(ty, flags, at, 0),
                        Opcode::Load8U => b.ins().uload8(ty, flags, at, 0),
                        Opcode::Load16S => b.ins().sload16(ty, flags, at, 0),
                        Opcode::Load16U => b.ins().uload16(ty, flags, at, 0),
                        Opcode::Load32S => b.ins().sload32(flags, at, 0),
                        _ => b.ins().uload32(flags, at, 0),
                    })
                }
                Opcode::Store | Opcode::Store8 | Opcode::Store16 | Opcode::Store32 => {
                    let width = access_width(inst.op, ty);
                    let t = trap_block(&mut b, status(TrapCode::OutOfBounds));
                    let at = address(&mut b, ctx, arg(0), inst.imm, width, t);
                    let v = arg(1);
                    match inst.op {
                        Opcode::Store => b.ins().store(flags, v, at, 0),
                        Opcode::Store8 => b.ins().istore8(flags, v, at, 0),
                        Opcode::Store16 => b.ins().istore16(flags, v, at, 0),
                        _ => b.ins().istore32(flags, v, at, 0),
                    };
                    None
                }
                Opcode::MemorySize => {
                    let size = b.ins().load(types::I64, flags, ctx, MEM_SIZE);
                    let pages = b.ins().ushr_imm_u(size, 16);
                    Some(b.ins().ireduce(types::I32, pages))
                }
                Opcode::MemoryGrow => {
                    let sig = b.import_signature(word_signature(module));
                    let helper = b.ins().load(types::I64, flags, ctx, GROW);
                    let n = b.ins().uextend(types::I64, arg(0));
                    let call = b.ins().call_indirect(sig, helper, &[ctx, n]);
                    let old = b.inst_results(call)[0];
                    Some(b.ins().ireduce(types::I32, old))
                }
                Opcode::Call => {
                    let callee = inst.func.expect("a call names its callee");
                    let target = &m.funcs[callee.0 as usize];
                    let args: Vec<ir::Value> = (0..inst.args.len()).map(arg).collect();
                    let outs = call(
                        &mut b,
                        module,
                        ctx,
                        ids,
                        callee.0 as usize,
                        target,
                        &args,
                        &mut trap_block,
                    );
                    for (&r, v) in inst.results.iter().zip(outs) {
                        vals[r.index()] = Some(v);
                    }
                    None
                }
            };
            if let (Some(v), Some(&r)) = (out, inst.results.first()) {
                vals[r.index()] = Some(v);
            }
        }
        let Some(term) = &block.term else { continue };
        let val = |v: egjit::ir::Value| vals[v.index()].expect("defined before use");
        let args_of = |t: &egjit::ir::Target| -> Vec<BlockArg> {
            t.args.iter().map(|&a| BlockArg::Value(val(a))).collect()
        };
        match &term.kind {
            TermKind::Jump(t) => {
                let a = args_of(t);
                b.ins().jump(blocks[t.block.index()], &a);
            }
            TermKind::Brif { cond, then, els } => {
                let (ta, ea) = (args_of(then), args_of(els));
                b.ins().brif(
                    val(*cond),
                    blocks[then.block.index()],
                    &ta,
                    blocks[els.block.index()],
                    &ea,
                );
            }
            TermKind::BrTable {
                index,
                targets,
                default,
            } => {
                let calls: Vec<ir::BlockCall> = targets
                    .iter()
                    .map(|t| b.func.dfg.block_call(blocks[t.index()], &[]))
                    .collect();
                let def = b.func.dfg.block_call(blocks[default.index()], &[]);
                let jt = b.create_jump_table(JumpTableData::new(def, &calls));
                b.ins().br_table(val(*index), jt);
            }
            TermKind::Return(vs) => {
                let ok = b.ins().iconst(types::I64, 0);
                if results.len() == 1 {
                    b.ins().return_(&[ok, val(vs[0])]);
                } else {
                    for (i, &v) in vs.iter().enumerate() {
                        store_area(&mut b, ctx, i, val(v));
                    }
                    b.ins().return_(&[ok]);
                }
            }
            TermKind::Trap => {
                let t = trap_block(&mut b, status(TrapCode::Unreachable));
                b.ins().jump(t, &[]);
            }
        }
    }
    // The trap blocks: the status, and a zero for a lone result.
    for (code, t) in traps.clone() {
        b.switch_to_block(t);
        let c = b.ins().iconst(types::I64, code);
        if let [ty] = results[..] {
            let z = b.ins().iconst(cl_type(ty), 0);
            b.ins().return_(&[c, z]);
        } else {
            b.ins().return_(&[c]);
        }
    }
    b.seal_all_blocks();
    b.finalize(module.target_config());
}

/// The reachable blocks of `body` in reverse postorder from the entry.
fn reverse_postorder(body: &Body) -> Vec<usize> {
    let succs = |k: usize| -> Vec<usize> {
        match body.blocks[k].term.as_ref().map(|t| &t.kind) {
            Some(TermKind::Jump(t)) => vec![t.block.index()],
            Some(TermKind::Brif { then, els, .. }) => vec![then.block.index(), els.block.index()],
            Some(TermKind::BrTable {
                targets, default, ..
            }) => (targets.iter().chain([default]))
                .map(|b| b.index())
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut seen = vec![false; body.blocks.len()];
    let mut post = Vec::with_capacity(body.blocks.len());
    // An explicit stack of (block, its successors, how many are done).
    let mut stack = vec![(0usize, succs(0), 0usize)];
    seen[0] = true;
    while let Some((k, next, i)) = stack.last_mut() {
        if let Some(&n) = next.get(*i) {
            *i += 1;
            if !std::mem::replace(&mut seen[n], true) {
                stack.push((n, succs(n), 0));
            }
        } else {
            post.push(*k);
            stack.pop();
        }
    }
    post.reverse();
    post
}

/// Branches to `trap` when `c` is true.
fn check(b: &mut FunctionBuilder, c: ir::Value, trap: ir::Block) {
    let go_on = b.create_block();
    b.ins().brif(c, trap, &[], go_on, &[]);
    b.switch_to_block(go_on);
}

/// Bytes an access moves, as the operation table gives them.
fn access_width(op: Opcode, ty: ir::Type) -> u64 {
    match op.info().access_bytes {
        0 => ty.bytes() as u64,
        n => n as u64,
    }
}

/// The host address of an access of `width` bytes at `zext(addr) + off`, after the
/// bounds check that branches to `trap`.
fn address(
    b: &mut FunctionBuilder,
    ctx: ir::Value,
    addr: ir::Value,
    off: u64,
    width: u64,
    trap: ir::Block,
) -> ir::Value {
    let flags = MemFlagsData::trusted();
    let ea = b.ins().uextend(types::I64, addr);
    // zext(addr) + off + width is below 2^34: no overflow in 64 bits.
    let end = b.ins().iadd_imm_s(ea, (off + width) as i64);
    let size = b.ins().load(types::I64, flags, ctx, MEM_SIZE);
    let past = b.ins().icmp(IntCC::UnsignedGreaterThan, end, size);
    check(b, past, trap);
    let base = b.ins().load(types::I64, flags, ctx, MEM_BASE);
    let at = b.ins().iadd(base, ea);
    if off == 0 {
        at
    } else {
        b.ins().iadd_imm_s(at, off as i64)
    }
}

/// A call of function `index` of `m` (a function or an import) with `args`: its
/// results.
#[allow(clippy::too_many_arguments)]
fn call(
    b: &mut FunctionBuilder,
    module: &mut JITModule,
    ctx: ir::Value,
    ids: &[Option<FuncId>],
    index: usize,
    target: &Function,
    args: &[ir::Value],
    trap_block: &mut impl FnMut(&mut FunctionBuilder, i64) -> ir::Block,
) -> Vec<ir::Value> {
    let flags = MemFlagsData::trusted();
    let results = &target.sig.results;
    let Some(id) = ids[index] else {
        // An import: arguments into the area, the host, then its results from there.
        for (i, &a) in args.iter().enumerate() {
            store_area(b, ctx, i, a);
        }
        let sig = b.import_signature(word_signature(module));
        let helper = b.ins().load(types::I64, flags, ctx, IMPORT);
        let which = b.ins().iconst(types::I64, index as i64);
        let c = b.ins().call_indirect(sig, helper, &[ctx, which]);
        let st = b.inst_results(c)[0];
        pass_on(b, st);
        return read_area(b, ctx, results);
    };
    // The depth: checked, counted, restored.
    let depth = b.ins().load(types::I64, flags, ctx, DEPTH);
    let max = b.ins().load(types::I64, flags, ctx, MAX_DEPTH);
    let full = b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, depth, max);
    let t = trap_block(b, status(TrapCode::CallStackExhausted));
    check(b, full, t);
    let deeper = b.ins().iadd_imm_s(depth, 1);
    b.ins().store(flags, deeper, ctx, DEPTH);
    let f = module.declare_func_in_func(id, b.func);
    let mut all = vec![ctx];
    all.extend_from_slice(args);
    let c = b.ins().call(f, &all);
    let outs = b.inst_results(c).to_vec();
    b.ins().store(flags, depth, ctx, DEPTH);
    pass_on(b, outs[0]);
    if results.len() == 1 {
        vec![outs[1]]
    } else {
        read_area(b, ctx, results)
    }
}

/// Returns status `st` from the caller when it is not 0 (and a placeholder for a lone
/// result).
fn pass_on(b: &mut FunctionBuilder, st: ir::Value) {
    let fail = b.create_block();
    b.set_cold_block(fail);
    let go_on = b.create_block();
    b.ins().brif(st, fail, &[], go_on, &[]);
    b.switch_to_block(fail);
    b.seal_block(fail);
    let caller_results = b.func.signature.returns.len();
    if caller_results == 2 {
        let ty = b.func.signature.returns[1].value_type;
        let z = b.ins().iconst(ty, 0);
        b.ins().return_(&[st, z]);
    } else {
        b.ins().return_(&[st]);
    }
    b.switch_to_block(go_on);
}

/// `(i64, i64) -> i64`: a trampoline's and the host helpers' signature.
fn word_signature(module: &JITModule) -> Signature {
    let mut sig = module.make_signature();
    sig.params.push(AbiParam::new(types::I64));
    sig.params.push(AbiParam::new(types::I64));
    sig.returns.push(AbiParam::new(types::I64));
    sig
}

/// Stores `v` in slot `i` of the context's area, an `i32` zero-extended.
fn store_area(b: &mut FunctionBuilder, ctx: ir::Value, i: usize, v: ir::Value) {
    let wide = if b.func.dfg.value_type(v) == types::I32 {
        b.ins().uextend(types::I64, v)
    } else {
        v
    };
    let at = AREA_AT + 8 * i as i32;
    b.ins().store(MemFlagsData::trusted(), wide, ctx, at);
}

/// Results of a call from the context's area.
fn read_area(b: &mut FunctionBuilder, ctx: ir::Value, results: &[Type]) -> Vec<ir::Value> {
    let flags = MemFlagsData::trusted();
    results
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let v = b.ins().load(types::I64, flags, ctx, AREA_AT + 8 * i as i32);
            if t == Type::I32 {
                b.ins().ireduce(types::I32, v)
            } else {
                v
            }
        })
        .collect()
}

fn cond(op: Opcode) -> IntCC {
    match op {
        Opcode::IcmpEq => IntCC::Equal,
        Opcode::IcmpNe => IntCC::NotEqual,
        Opcode::IcmpSlt => IntCC::SignedLessThan,
        Opcode::IcmpSle => IntCC::SignedLessThanOrEqual,
        Opcode::IcmpSgt => IntCC::SignedGreaterThan,
        Opcode::IcmpSge => IntCC::SignedGreaterThanOrEqual,
        Opcode::IcmpUlt => IntCC::UnsignedLessThan,
        Opcode::IcmpUle => IntCC::UnsignedLessThanOrEqual,
        Opcode::IcmpUgt => IntCC::UnsignedGreaterThan,
        _ => IntCC::UnsignedGreaterThanOrEqual,
    }
}
