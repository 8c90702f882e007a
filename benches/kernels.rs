//! Run time of the kernel suite (`benches/kernels/*.egir`) on the reference interpreter,
//! single-op code and the e-graph JIT's code, side by side in one run.
//!
//! `cargo bench --bench kernels`. Each kernel's `main` runs with the argument of its
//! `; BENCH:` line, and its result is checked against the kernel's `; OUT:` lines first.
//! Compile time is not counted: the code is compiled once, then called. After the runs
//! the bench prints, from criterion's estimates of this run, each kernel's median time per
//! engine, the ratio single-op / JIT and its geometric mean over the kernels.
//!
//! Criterion measures one engine after the other, seconds apart, and on a shared machine
//! the speed of the whole machine can change in between. So the bench then measures the
//! two in pairs: each round runs single-op once and the JIT once, straight after, and
//! the ratio of a pair is taken within it. It prints the median time of each engine and
//! the median ratio of the pairs per kernel, over rounds that take about two seconds a
//! kernel (`EGJIT_PAIR_SECONDS` sets another time; 0 skips the pairs).

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use criterion::Criterion;
use egjit::{Config, Imports, Instance, Jit, JitInstance, Value};

mod common;
use common::kernels;

const ENGINES: [&str; 3] = ["interp", "single_op", "jit"];

/// Single-op and e-graph JIT instances of `k`'s module, in that order.
fn instances(k: &common::Kernel) -> [JitInstance; 2] {
    let config = Config::default();
    let jit = Jit::new(config.clone()).expect("jit");
    let single = Jit::new(Config {
        single_op: true,
        ..config
    })
    .expect("single-op");
    [&single, &jit].map(|j| {
        let code = j.compile(&k.module).expect("compile");
        code.instantiate(Imports::new()).expect("instantiate")
    })
}

fn bench(c: &mut Criterion) {
    let config = Config::default();
    let mut group = c.benchmark_group("kernels");
    // The interpreter takes up to a fifth of a second a run.
    group.sample_size(20);
    for k in kernels() {
        let args = [k.arg];
        let check = |engine: &str, got: Vec<Value>| {
            assert_eq!(got, k.expected, "{} on {engine}", k.name);
        };
        let mut interp = Instance::new(&k.module, Imports::new(), &config).expect("instance");
        check("interp", interp.call("main", &args).expect("interp run"));
        let mut instances = instances(&k);
        for (engine, instance) in ENGINES[1..].iter().zip(&mut instances) {
            check(engine, instance.call("main", &args).expect("run"));
        }
        group.bench_function(format!("{}/interp", k.name), |b| {
            b.iter(|| interp.call("main", &args).expect("run"))
        });
        for (engine, instance) in ENGINES[1..].iter().zip(&mut instances) {
            group.bench_function(format!("{}/{engine}", k.name), |b| {
                b.iter(|| instance.call("main", &args).expect("run"))
            });
        }
    }
    group.finish();
}

/// Where criterion writes its estimates, found as criterion finds it.
fn criterion_home() -> PathBuf {
    std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("criterion"))
        })
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// The median point estimate, in nanoseconds, of one benchmark, if this run wrote it.
fn median(kernel: &str, engine: &str, since: SystemTime) -> Option<f64> {
    // Criterion names the directory of `kernels/{kernel}/{engine}` this way.
    let path = criterion_home()
        .join("kernels")
        .join(format!("{kernel}_{engine}"))
        .join("new/estimates.json");
    let fresh = std::fs::metadata(&path).ok()?.modified().ok()? >= since;
    let text = std::fs::read_to_string(&path).ok()?;
    let rest = &text[text.find("\"median\"")?..];
    let rest = &rest[rest.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = rest.find([',', '}'])?;
    fresh.then(|| rest[..end].trim().parse().ok()).flatten()
}

fn summary(since: SystemTime) {
    let mut ratios = Vec::new();
    println!("\nkernel      interp (ms)  single_op (ms)  jit (ms)  single_op/jit");
    for k in kernels() {
        let [interp, single, jit] = ENGINES.map(|e| median(&k.name, e, since));
        let ms = |t: Option<f64>| t.map_or("-".to_string(), |t| format!("{:.3}", t / 1e6));
        let ratio = single.zip(jit).map(|(s, j)| s / j);
        if let Some(r) = ratio {
            ratios.push(r);
        }
        println!(
            "{:<11} {:>11}  {:>14}  {:>8}  {:>13}",
            k.name,
            ms(interp),
            ms(single),
            ms(jit),
            ratio.map_or("-".to_string(), |r| format!("{r:.2}x"))
        );
    }
    if !ratios.is_empty() {
        let geomean = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
        let slowest = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "geometric mean single_op/jit over {} kernels: {geomean:.2}x (least {slowest:.2}x)",
            ratios.len()
        );
    }
}

/// The median of `xs` (not empty).
fn median_of(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Times one call of `main`.
fn timed(instance: &mut JitInstance, args: &[Value]) -> f64 {
    let start = Instant::now();
    std::hint::black_box(instance.call("main", args).expect("run"));
    start.elapsed().as_secs_f64()
}

/// Single-op and JIT in pairs, about `seconds` a kernel: per kernel the median time of
/// each and the median of the pairs' ratios.
fn pairs(seconds: f64) {
    println!("\nIn pairs, single-op then JIT each round, about {seconds} s a kernel:");
    println!("kernel      rounds  single_op (ms)  jit (ms)  single_op/jit (median of pairs)");
    let mut ratios = Vec::new();
    for k in kernels() {
        let args = [k.arg];
        let mut instances = instances(&k);
        // A warm-up pair, which also sets the number of rounds.
        let once: f64 = instances.iter_mut().map(|i| timed(i, &args)).sum();
        let rounds = ((seconds / once) as usize).clamp(5, 100_000);
        let (mut s, mut j, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let [a, b] = instances.each_mut().map(|i| timed(i, &args));
            s.push(a);
            j.push(b);
            r.push(a / b);
        }
        let ratio = median_of(&mut r);
        ratios.push(ratio);
        println!(
            "{:<11} {:>6}  {:>14.3}  {:>8.3}  {:>13.2}x",
            k.name,
            rounds,
            median_of(&mut s) * 1e3,
            median_of(&mut j) * 1e3,
            ratio
        );
    }
    let geomean = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
    let least = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "geometric mean single_op/jit in pairs over {} kernels: {geomean:.2}x (least {least:.2}x)",
        ratios.len()
    );
}

fn main() {
    let since = SystemTime::now();
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    // Criterion's `--list` and test mode run no benchmark: nothing to sum up.
    let quick = std::env::args().any(|a| a == "--list" || a == "--test");
    if quick {
        return;
    }
    summary(since);
    let seconds = std::env::var("EGJIT_PAIR_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(2.0);
    if seconds > 0.0 {
        pairs(seconds);
    }
}
