//! Building modules in code, without text.
//!
//! A [`ModuleBuilder`] declares memory, data, imports and functions (declared first, so
//! calls may refer to functions defined later, recursion included); a
//! [`FunctionBuilder`] fills one function's body block by block. Nothing is checked while
//! building: [`ModuleBuilder::finish`] verifies the module and reports the first error,
//! naming the function and block.
//!
//! # Examples
//!
//! ```
//! use egjit::ir::Opcode;
//! use egjit::{Config, Imports, Instance, ModuleBuilder, Type, Value};
//!
//! // func @double(i64) -> i64 { entry(v0: i64): v1 = iadd.i64 v0, v0  return v1 }
//! let mut mb = ModuleBuilder::new();
//! let double = mb.declare_function("double", &[Type::I64], &[Type::I64]);
//! let mut fb = mb.function(double);
//! let x = fb.params()[0];
//! let y = fb.op(Opcode::Iadd, Type::I64, &[x, x]);
//! fb.ret(&[y]);
//! fb.finish();
//! let module = mb.finish()?;
//! let mut inst = Instance::new(&module, Imports::new(), &Config::default())?;
//! assert_eq!(inst.call("double", &[Value::I64(21)])?, vec![Value::I64(42)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::{
    verify, Block, BlockId, Body, DataSegment, FuncId, Function, Inst, Loc, Memory, Module, Opcode,
    Signature, Target, TermKind, Terminator, Type, Value, ValueData,
};
use crate::Error;

/// Builds a [`Module`].
#[derive(Debug)]
pub struct ModuleBuilder {
    module: Module,
}

impl Default for ModuleBuilder {
    fn default() -> Self {
        ModuleBuilder::new()
    }
}

impl ModuleBuilder {
    /// An empty module, named `<builder>` in messages.
    pub fn new() -> ModuleBuilder {
        ModuleBuilder {
            module: Module {
                source: "<builder>".to_string(),
                ..Module::default()
            },
        }
    }

    /// Declares the linear memory: `initial` pages, at most `max` pages.
    pub fn memory(&mut self, initial: u32, max: Option<u32>) -> &mut Self {
        self.module.memory = Some(Memory {
            initial,
            max,
            loc: Loc::default(),
        });
        self
    }

    /// Adds a data segment copied into memory at `offset`.
    pub fn data(&mut self, offset: u64, bytes: &[u8]) -> &mut Self {
        self.module.data.push(DataSegment {
            offset,
            bytes: bytes.to_vec(),
            loc: Loc::default(),
        });
        self
    }

    /// Declares an import (a host function) `name` (without `@`).
    pub fn import(&mut self, name: &str, params: &[Type], results: &[Type]) -> FuncId {
        self.add(name, params, results, None)
    }

    /// Declares a function with an empty body, to be filled by [`ModuleBuilder::function`].
    pub fn declare_function(&mut self, name: &str, params: &[Type], results: &[Type]) -> FuncId {
        self.add(name, params, results, Some(Body::default()))
    }

    fn add(&mut self, name: &str, params: &[Type], results: &[Type], body: Option<Body>) -> FuncId {
        let id = FuncId(self.module.funcs.len() as u32);
        self.module.funcs.push(Function {
            name: name.to_string(),
            sig: Signature {
                params: params.to_vec(),
                results: results.to_vec(),
            },
            body,
            loc: Loc::default(),
        });
        id
    }

    /// A builder for the body of function `f`, positioned in a fresh entry block whose
    /// parameters are the function's. Building again replaces the earlier body.
    pub fn function(&mut self, f: FuncId) -> FunctionBuilder<'_> {
        let params = self.module.funcs[f.index()].sig.params.clone();
        let mut fb = FunctionBuilder {
            module: &mut self.module,
            func: f,
            body: Body::default(),
            current: BlockId(0),
        };
        let entry = fb.create_block();
        for t in params {
            fb.append_block_param(entry, t);
        }
        fb
    }

    /// Verifies and returns the module.
    ///
    /// # Errors
    /// The first verification error.
    pub fn finish(self) -> Result<Module, Error> {
        verify(&self.module)?;
        Ok(self.module)
    }
}

/// Builds the body of one function; [`FunctionBuilder::finish`] stores it in the module.
pub struct FunctionBuilder<'a> {
    module: &'a mut Module,
    func: FuncId,
    body: Body,
    current: BlockId,
}

impl FunctionBuilder<'_> {
    fn new_value(&mut self, ty: Type) -> Value {
        let v = Value(self.body.values.len() as u32);
        self.body.values.push(ValueData { name: v.0, ty });
        v
    }

    /// The entry block's parameters: the function's arguments.
    pub fn params(&self) -> Vec<Value> {
        self.body.blocks[0].params.clone()
    }

    /// A new, empty block (named `block<N>`).
    pub fn create_block(&mut self) -> BlockId {
        let id = BlockId(self.body.blocks.len() as u32);
        let name = if id.0 == 0 {
            "entry".to_string()
        } else {
            format!("block{}", id.0)
        };
        self.body.blocks.push(Block {
            name,
            params: Vec::new(),
            insts: Vec::new(),
            term: None,
            loc: Loc::default(),
        });
        id
    }

    /// Adds a parameter of type `ty` to `block`.
    pub fn append_block_param(&mut self, block: BlockId, ty: Type) -> Value {
        let v = self.new_value(ty);
        self.body.blocks[block.index()].params.push(v);
        v
    }

    /// Makes `block` the one that instructions are appended to.
    pub fn switch_to_block(&mut self, block: BlockId) {
        self.current = block;
    }

    /// The block instructions go to.
    pub fn current_block(&self) -> BlockId {
        self.current
    }

    /// Appends an instruction; its results get the types the operation table gives
    /// (`ty` is the suffix; ignored by untyped operations).
    pub fn inst(&mut self, op: Opcode, ty: Type, args: &[Value], imm: u64) -> Vec<Value> {
        let info = op.info();
        let suffix = (info.suffix != super::Suffix::None).then_some(ty);
        let results: Vec<Value> = info
            .results
            .iter()
            .map(|r| self.new_value(r.resolve(ty)))
            .collect();
        self.push(Inst {
            op,
            ty: suffix,
            args: args.into(),
            imm,
            func: None,
            results: results.as_slice().into(),
            loc: Loc::default(),
        });
        results
    }

    fn push(&mut self, inst: Inst) {
        self.body.blocks[self.current.index()].insts.push(inst);
    }

    /// Appends an operation with one result and no immediate (`iadd`, `icmp.slt`,
    /// `select`, `sextend`, ...). Misuse (an operation without exactly one result) is
    /// reported by the verifier.
    pub fn op(&mut self, op: Opcode, ty: Type, args: &[Value]) -> Value {
        let results = self.inst(op, ty, args, 0);
        match results.first() {
            Some(&v) => v,
            // No result: a value that nothing defines, which the verifier reports.
            None => self.new_value(ty),
        }
    }

    /// `iconst.T k` (`k` is taken modulo 2^bits(T)).
    pub fn iconst(&mut self, ty: Type, k: i64) -> Value {
        let bits = (k as u64) & (u64::MAX >> (64 - ty.bits()));
        self.inst(Opcode::Iconst, ty, &[], bits)[0]
    }

    /// A load (`load`, `load8_s`, ...) of type `ty` at `addr + off`.
    pub fn load(&mut self, op: Opcode, ty: Type, addr: Value, off: u32) -> Value {
        let results = self.inst(op, ty, &[addr], off as u64);
        results
            .first()
            .copied()
            .unwrap_or_else(|| self.new_value(ty))
    }

    /// A store (`store`, `store8`, ...) of `val` at `addr + off`.
    pub fn store(&mut self, op: Opcode, ty: Type, addr: Value, val: Value, off: u32) {
        self.inst(op, ty, &[addr, val], off as u64);
    }

    /// `call` of `callee`; the results have the types of its signature.
    pub fn call(&mut self, callee: FuncId, args: &[Value]) -> Vec<Value> {
        let results_types = self
            .module
            .funcs
            .get(callee.index())
            .map(|f| f.sig.results.clone())
            .unwrap_or_default();
        let results: Vec<Value> = results_types
            .into_iter()
            .map(|t| self.new_value(t))
            .collect();
        self.push(Inst {
            op: Opcode::Call,
            ty: None,
            args: args.into(),
            imm: 0,
            func: Some(callee),
            results: results.as_slice().into(),
            loc: Loc::default(),
        });
        results
    }

    fn terminate(&mut self, kind: TermKind) {
        self.body.blocks[self.current.index()].term = Some(Terminator {
            kind,
            loc: Loc::default(),
        });
    }

    /// `jump block(args)`.
    pub fn jump(&mut self, block: BlockId, args: &[Value]) {
        self.terminate(TermKind::Jump(Target {
            block,
            args: args.into(),
        }));
    }

    /// `brif cond, then(then_args), els(els_args)`.
    pub fn brif(
        &mut self,
        cond: Value,
        then: BlockId,
        then_args: &[Value],
        els: BlockId,
        els_args: &[Value],
    ) {
        self.terminate(TermKind::Brif {
            cond,
            then: Target {
                block: then,
                args: then_args.to_vec(),
            },
            els: Target {
                block: els,
                args: els_args.to_vec(),
            },
        });
    }

    /// `br_table index, [targets], default`.
    pub fn br_table(&mut self, index: Value, targets: &[BlockId], default: BlockId) {
        self.terminate(TermKind::BrTable {
            index,
            targets: targets.to_vec(),
            default,
        });
    }

    /// `return values`.
    pub fn ret(&mut self, values: &[Value]) {
        self.terminate(TermKind::Return(values.to_vec()));
    }

    /// `trap`.
    pub fn trap(&mut self) {
        self.terminate(TermKind::Trap);
    }

    /// Stores the body in the module.
    pub fn finish(self) {
        self.module.funcs[self.func.index()].body = Some(self.body);
    }
}
