//! Running the `zephyr` binary as a user would, shared by the binary's tests.
#![allow(dead_code)] // each test file uses its own part

pub(crate) mod dap;

use std::path::Path;
use std::process::Command;

/// The workspace's root (the examples, the docs and the editor types live
/// there).
pub(crate) fn workspace_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What a run of the binary did.
pub(crate) struct Run {
    pub(crate) status: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `zephyr ARGS` in `dir`.
pub(crate) fn zephyr(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_zephyr"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run zephyr");
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A temporary folder with the given files.
pub(crate) fn files(entries: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in entries {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// Runs `zephyr ARGS` in `dir` with `input` piped to its stdin.
pub(crate) fn zephyr_with_input(dir: &Path, args: &[&str], input: &str) -> Run {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_zephyr"))
        .current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run zephyr");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write stdin");
    drop(stdin);
    let output = child.wait_with_output().expect("wait for zephyr");
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl dap::Client {
    /// `zephyr dap` started in `dir`.
    pub(crate) fn start(dir: &Path) -> dap::Client {
        dap::Client::start_with(Path::new(env!("CARGO_BIN_EXE_zephyr")), dir)
    }
}
