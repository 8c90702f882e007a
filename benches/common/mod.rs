//! What the benches share: the corpus, a generated function, operation counts.
#![allow(dead_code)]

use egjit::Module;

/// The number of instructions and terminators of a module's bodies.
pub fn operations(m: &Module) -> u64 {
    m.funcs
        .iter()
        .filter_map(|f| f.body.as_ref())
        .flat_map(|b| &b.blocks)
        .map(|b| b.insts.len() as u64 + 1)
        .sum()
}

/// A function of `n` operations: a loop whose body is a long chain of arithmetic with
/// constants, compares and selects, in blocks of about 50 operations.
pub fn generated(n: usize) -> String {
    let mut s = String::from(
        "func @big(i64, i64) -> i64 {\nentry(v0: i64, v1: i64):\n    jump b0(v0, v1)\n",
    );
    let mut v = 2u32;
    let blocks = n / 50;
    for b in 0..blocks {
        s.push_str(&format!("b{b}(v{v}: i64, v{}: i64):\n", v + 1));
        let (mut x, y) = (v, v + 1);
        v += 2;
        for k in 0..16 {
            let c = v;
            s.push_str(&format!("    v{c} = iconst.i64 {}\n", k * 7 + 1));
            s.push_str(&format!("    v{} = iadd.i64 v{x}, v{c}\n", c + 1));
            s.push_str(&format!("    v{} = imul.i64 v{}, v{y}\n", c + 2, c + 1));
            x = c + 2;
            v += 3;
        }
        s.push_str(&format!("    v{v} = icmp.slt.i64 v{x}, v{y}\n"));
        let next = if b + 1 < blocks {
            format!("b{}", b + 1)
        } else {
            "done".to_string()
        };
        s.push_str(&format!(
            "    brif v{v}, {next}(v{x}, v{y}), {next}(v{y}, v{x})\n"
        ));
        v += 1;
    }
    s.push_str(&format!(
        "done(v{v}: i64, v{}: i64):\n    return v{v}\n}}\n",
        v + 1
    ));
    s
}

/// The `.egir` files of a directory of the package, sorted.
fn programs(dir: &str) -> Vec<std::path::PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect(dir)
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "egir"))
        .collect();
    paths.sort();
    paths
}

/// The corpus programs, parsed and verified.
pub fn corpus() -> Vec<Module> {
    programs("tests/programs")
        .iter()
        .map(|path| {
            let src = std::fs::read_to_string(path).expect("read");
            Module::from_text(&src, &path.to_string_lossy()).expect("parse")
        })
        .collect()
}

/// One kernel of the run-time suite (`benches/kernels/*.egir`): its `main` takes one
/// argument, and its `; BENCH:` line gives the argument the benches run it with.
pub struct Kernel {
    pub name: String,
    pub module: Module,
    pub arg: egjit::Value,
    /// The result for `arg`, from the kernel's `; RUN:` / `; OUT:` lines.
    pub expected: Vec<egjit::Value>,
}

/// The kernel suite, sorted by name.
pub fn kernels() -> Vec<Kernel> {
    programs("benches/kernels")
        .iter()
        .map(|p| kernel(p))
        .collect()
}

fn kernel(path: &std::path::Path) -> Kernel {
    let src = std::fs::read_to_string(path).expect("read");
    let module = Module::from_text(&src, &path.to_string_lossy()).expect("parse");
    let name = path
        .file_stem()
        .expect("stem")
        .to_string_lossy()
        .into_owned();
    let arg = src
        .lines()
        .find_map(|l| l.strip_prefix("; BENCH:"))
        .map(str::trim)
        .expect("a `; BENCH:` line");
    // The `OUT` lines that follow the `RUN` line whose argument is the bench's.
    let mut lines = src
        .lines()
        .skip_while(|l| l.strip_prefix("; RUN:").map(str::trim) != Some(arg));
    lines
        .next()
        .expect("a `; RUN:` line with the bench argument");
    let out: Vec<&str> = lines
        .map_while(|l| l.strip_prefix("; OUT:"))
        .map(str::trim)
        .collect();
    let main = module
        .funcs
        .iter()
        .find(|f| f.name == "main")
        .expect("main");
    let typed = |ty: egjit::Type, s: &str| {
        let v: i64 = s.parse().expect("an integer");
        egjit::Value::from_bits(ty, v as u64)
    };
    Kernel {
        arg: typed(main.sig.params[0], arg),
        expected: main
            .sig
            .results
            .iter()
            .zip(&out)
            .map(|(&t, s)| typed(t, s))
            .collect(),
        name,
        module,
    }
}
