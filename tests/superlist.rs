//! The superstencil list's checks: the build refuses a bad line, naming it.

#[allow(dead_code)]
#[path = "../src/ir/oplist.rs"]
mod oplist;

#[allow(dead_code)]
#[path = "../stencils/generate.rs"]
mod generate;

use generate::superstencil_variants;

fn error_of(line: &str) -> String {
    let list = format!("# a comment\n\n{line}\n");
    match superstencil_variants(&list, &[]) {
        Ok(v) => panic!("`{line}` was accepted as {:?}", v[0].name),
        Err(e) => e,
    }
}

#[test]
fn the_library_list_is_accepted_with_unique_names() {
    let text = std::fs::read_to_string("stencils/superstencils.list").expect("the list");
    let singles = generate::single_op_variants();
    let supers = superstencil_variants(&text, &singles).unwrap_or_else(|e| panic!("{e}"));
    let lines = text
        .lines()
        .filter(|l| !l.split('#').next().unwrap_or("").trim().is_empty())
        .count();
    assert_eq!(supers.len(), lines);
    assert!(supers.len() >= 60, "{} superstencils", supers.len());
}

#[test]
fn a_line_gives_its_name_pattern_kinds_and_type() {
    let v = superstencil_variants("(brif (icmp.slt.i64 (iadd.i64 ?a ?b) ?c)) sis\n", &[])
        .expect("a good line");
    assert_eq!(v[0].name, "brif_icmp_slt_iadd_i64_sis");
    assert_eq!(v[0].pattern, "(brif (icmp.slt.i64 (iadd.i64 ?a ?b) ?c))");
    assert_eq!(v[0].kinds.len(), 3);
    let named = superstencil_variants("mine = (iadd.i32 (imul.i32 ?a ?b) ?a) ss\n", &[])
        .expect("a named line with a repeated operand");
    assert_eq!(named[0].name, "mine");
}

#[test]
fn bad_lines_are_refused_with_their_line_number() {
    let cases = [
        (
            "(frobnicate.i32 (iadd.i32 ?a ?b)) ss",
            "`frobnicate` is no operation",
        ),
        ("(brif (icmp.slt.i16 ?a ?b)) ss", "is no operation"),
        (
            "(sextend.i32 (iadd.i32 ?a ?b)) ss",
            "does not take that type suffix",
        ),
        (
            "(iadd.i64 (icmp.slt.i64 ?a ?b) ?c) sss",
            "wants i64 but `icmp.slt.i64` gives i32",
        ),
        (
            "(iadd.i32 (imul.i32 ?a ?b) ?c) ss",
            "3 operand(s) but 2 kind letter(s)",
        ),
        (
            "(iadd.i32 (imul.i32 ?a ?b) ?c) ssx",
            "neither `s` (slot) nor `i`",
        ),
        (
            "(iadd.i32 (load.i32 ?a) (load.i32 ?b)) ss",
            "more than one memory access",
        ),
        ("(iadd.i32 (sdiv.i32 ?a ?b) ?c) sss", "may trap"),
        ("(iadd.i32 (brif ?a) ?b) ss", "only the root"),
        ("(iadd.i32 ?a ?b) ss", "this is one"),
        (
            "(iadd.i32 (imul.i32 ?a ?b)) ss",
            "takes 2 operand(s), given 1",
        ),
        (
            "(iadd.i32 (iconst.i32 ?a) ?b) is",
            "no place in a superstencil",
        ),
    ];
    for (line, want) in cases {
        let e = error_of(line);
        assert!(e.contains("superstencils.list:3:"), "{line}: {e}");
        assert!(e.contains(want), "{line}: `{e}` lacks `{want}`");
    }
    // A name used twice, by default or given.
    let twice = "(iadd.i32 (imul.i32 ?a ?b) ?c) sss\n(iadd.i32 (imul.i32 ?a ?b) ?c) sss\n";
    let e = superstencil_variants(twice, &[]).err().expect("refused");
    assert!(e.contains(":2:") && e.contains("is taken"), "{e}");
    // An operand used at two types.
    let e = error_of("(iadd.i64 (sextend.i64 ?a) ?a) ss");
    assert!(e.contains("used as i32 and as i64"), "{e}");
}

/// `egjit mine` over the corpus and the kernels prints lines the build accepts after the
/// library's own, and finds the fusion a small program leaves out, counted per use.
#[test]
fn mined_lines_are_accepted_after_the_library() {
    let mut files: Vec<String> = Vec::new();
    for dir in ["tests/programs", "benches/kernels"] {
        for e in std::fs::read_dir(dir).expect("dir") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "egir") {
                files.push(p.to_string_lossy().into_owned());
            }
        }
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_egjit"))
        .arg("mine")
        .args(&files)
        .args(["--top", "1000"])
        .output()
        .expect("egjit mine");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mined = String::from_utf8(out.stdout).expect("utf-8");
    let lines = mined.lines().filter(|l| !l.starts_with('#')).count();
    assert!(lines >= 10, "{mined}");
    let text = std::fs::read_to_string("stencils/superstencils.list").expect("the list");
    let singles = generate::single_op_variants();
    let library = superstencil_variants(&text, &singles).unwrap_or_else(|e| panic!("{e}"));
    let mut taken = singles;
    taken.extend(library);
    let added = superstencil_variants(&mined, &taken).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(added.len(), lines);

    // Hamming distance twice: popcount of a xor, each xor read once.
    let dir = std::env::temp_dir().join(format!("egjit-mine-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("hamming.egir");
    std::fs::write(
        &file,
        "func @h(i64, i64, i64) -> i64 {
entry(v0: i64, v1: i64, v2: i64):
    v3 = bxor.i64 v0, v1
    v4 = popcnt.i64 v3
    v5 = bxor.i64 v1, v2
    v6 = popcnt.i64 v5
    v7 = iadd.i64 v4, v6
    return v7
}
",
    )
    .expect("write");
    let text = mine(&file);
    assert!(
        text.lines().any(|l| l
            .starts_with("popcnt_bxor_i64_ss = (popcnt.i64 (bxor.i64 ?a ?b)) ss  # 2 uses, saves ~3 each, 6 in all")),
        "{text}"
    );

    // `x ^ (x >> 7)` names x twice: a product there is written out twice in the
    // pattern, a load is not (the stencil would access memory twice).
    let file = dir.join("twice.egir");
    std::fs::write(
        &file,
        "memory 1

func @m(i64, i64, i32) -> i64 {
entry(v0: i64, v1: i64, v2: i32):
    v3 = imul.i64 v0, v1
    v4 = iconst.i64 7
    v5 = ushr.i64 v3, v4
    v6 = bxor.i64 v3, v5
    v7 = load.i64 v2
    v8 = ushr.i64 v7, v4
    v9 = bxor.i64 v7, v8
    v10 = iadd.i64 v6, v9
    return v10
}
",
    )
    .expect("write");
    let text = mine(&file);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        text.lines().any(|l| l == "bxor_imul_ushr_i64_ssi = (bxor.i64 (imul.i64 ?a ?b) (ushr.i64 (imul.i64 ?a ?b) ?c)) ssi  # 1 use, saves ~3 each, 3 in all"),
        "{text}"
    );
    assert!(!text.contains("load"), "{text}");
}

/// What `egjit mine FILE` prints.
fn mine(file: &std::path::Path) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_egjit"))
        .arg("mine")
        .arg(file)
        .output()
        .expect("egjit mine");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
