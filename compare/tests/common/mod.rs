//! Running `egjit-compare` from the tests.

use std::path::Path;
use std::process::Command;

/// Runs `egjit-compare FILE ARGS... --seconds 0` (each engine timed the fewest times):
/// `Err` with what it printed on standard error when it exits with a failure.
pub fn compare<S: AsRef<std::ffi::OsStr>>(file: &Path, args: &[S]) -> Result<(), String> {
    let out = Command::new(env!("CARGO_BIN_EXE_egjit-compare"))
        .arg(file)
        .args(args)
        .args(["--seconds", "0"])
        .output()
        .expect("egjit-compare");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
