//! The parser and verifier never panic: random bytes, random token soups and mutated
//! corpus programs all get a module or a located error. Seeded, so a failure repeats.

use egjit::ir::{self, OPS};
use egjit::{Config, ErrorKind, Imports, Instance};

/// splitmix64: small, seeded, good enough to drive a fuzzer.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// Parses and verifies; a verified module is also instantiated. Checks that every error
/// points inside the text. Returns whether the text was accepted.
fn check(src: &[u8]) -> bool {
    let lines = src.split(|&b| b == b'\n').count() as u32;
    let result = ir::parse_bytes(src, "fuzz.egir").and_then(|m| ir::verify(&m).map(|_| m));
    match result {
        Ok(m) => {
            // Imports the host does not provide are a located error too; nothing runs
            // (a random program may loop forever).
            if let Err(e) = Instance::new(&m, Imports::new(), &Config::default()) {
                assert_eq!(e.kind, ErrorKind::Link, "{e}");
            }
            true
        }
        Err(e) => {
            if e.kind == ErrorKind::Syntax {
                let (line, col) = e
                    .loc
                    .unwrap_or_else(|| panic!("syntax error without a position: {e}"));
                assert!(
                    line >= 1 && line <= lines && col >= 1,
                    "position {line}:{col} outside the text: {e}"
                );
            }
            assert!(e.to_string().starts_with("fuzz.egir"), "{e}");
            false
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(1);
    for _ in 0..20_000 {
        let len = rng.below(120);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check(&bytes);
    }
}

#[test]
fn random_token_soups_never_panic() {
    let mut rng = Rng(2);
    let mut vocab: Vec<String> = [
        "memory",
        "max",
        "data",
        "import",
        "func",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ",",
        ":",
        "=",
        "->",
        "-",
        "@main",
        "@f",
        "@env.print",
        "entry",
        "loop",
        "done",
        "v0",
        "v1",
        "v2",
        "v3",
        "v99999999999",
        "i32",
        "i64",
        "f32",
        "jump",
        "brif",
        "br_table",
        "return",
        "trap",
        "call",
        "0",
        "1",
        "-1",
        "0x",
        "0xffffffffffffffff",
        "18446744073709551616",
        "-9223372036854775809",
        "\"ab\\n\\ff\"",
        "\"unterminated",
        "; comment\n",
        "\n",
        "memory.size",
        "memory.grow",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for op in OPS {
        vocab.push(format!("{}.i32", op.name));
        vocab.push(format!("{}.i64", op.name));
        vocab.push(op.name.to_string());
    }
    for _ in 0..20_000 {
        let n = rng.below(60);
        let text: Vec<&str> = (0..n).map(|_| rng.pick(&vocab).as_str()).collect();
        check(text.join(" ").as_bytes());
    }
}

#[test]
fn mutated_corpus_programs_never_panic() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/programs");
    let mut programs: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .expect("the corpus exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "egir"))
        .map(|p| std::fs::read(p).expect("a corpus file reads"))
        .collect();
    programs.sort();
    assert!(programs.len() >= 15, "the corpus is missing");
    let mut rng = Rng(3);
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..6_000 {
        let mut p = rng.pick(&programs).clone();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(p.len() + 1);
            match rng.below(5) {
                0 => {
                    let end = (at + rng.below(12)).min(p.len());
                    p.drain(at..end);
                }
                1 => p.insert(at, *rng.pick(b"{}(),:=-@v0123456789 \n;\"x.")),
                2 => {
                    // Duplicate a slice elsewhere.
                    let end = (at + rng.below(40)).min(p.len());
                    let piece = p[at..end].to_vec();
                    let to = rng.below(p.len() + 1);
                    p.splice(to..to, piece);
                }
                3 => {
                    if at < p.len() {
                        p[at] = rng.next() as u8;
                    }
                }
                _ => {
                    // Swap a digit, which changes value numbers, types and literals.
                    if let Some(i) = (at..p.len()).find(|&i| p[i].is_ascii_digit()) {
                        p[i] = b'0' + rng.below(10) as u8;
                    }
                }
            }
        }
        if check(&p) {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    // Both outcomes occur, or the mutations test nothing.
    assert!(
        accepted > 100 && refused > 100,
        "accepted {accepted}, refused {refused}"
    );
}
