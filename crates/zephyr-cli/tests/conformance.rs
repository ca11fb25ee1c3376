//! Lua's own test suite through the trusted profile: `zephyr conformance`
//! runs each file of the official Lua 5.4 suite through `zephyr run
//! --trusted` and through stock Lua, and fails if any file fares
//! differently. The suite is not part of this repository; it is read from
//! `../shared/lua-testes` (or `$ZEPHYR_LUA_TESTES`), and without it the test
//! prints a notice and passes.

use std::path::PathBuf;
use std::process::Command;

fn suite() -> Option<PathBuf> {
    let dir = std::env::var_os("ZEPHYR_LUA_TESTES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/lua-testes")
        });
    dir.join("strings.lua").is_file().then_some(dir)
}

#[test]
#[allow(clippy::print_stderr)] // the notice is the point: a fresh clone has no suite
fn the_official_suite_fares_as_on_stock_lua() {
    let Some(dir) = suite() else {
        eprintln!(
            "notice: Lua's test suite not found at ../shared/lua-testes \
             (set ZEPHYR_LUA_TESTES): conformance not checked"
        );
        return;
    };
    let output = Command::new(env!("CARGO_BIN_EXE_zephyr"))
        .arg("conformance")
        .arg(&dir)
        .output()
        .expect("run zephyr conformance");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // Every file of the suite ran (28 with v5.4.8), and each one passes on
    // both, or fails on stock Lua only.
    let rows: Vec<&str> = stdout.lines().filter(|l| l.contains(" stock: ")).collect();
    assert!(rows.len() >= 28, "{stdout}");
    for row in &rows {
        assert!(
            row.contains("zephyr --trusted: pass"),
            "a file fails through the trusted profile: {row}"
        );
    }
    // The safe profile's own pattern matcher passes the suite's pm.lua.
    assert!(
        rows.iter()
            .any(|r| r.starts_with("pm.lua") && r.contains("safe profile: pass")),
        "{stdout}"
    );
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(summary.contains("0 differ"), "{summary}");
}

#[test]
fn a_folder_without_the_suite_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_zephyr"))
        .arg("conformance")
        .arg(dir.path())
        .output()
        .expect("run zephyr conformance");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no .lua files here"), "{stderr}");
    let missing = Command::new(env!("CARGO_BIN_EXE_zephyr"))
        .args(["conformance", "/nonexistent/testes"])
        .output()
        .expect("run zephyr conformance");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/testes"));
}

#[test]
#[allow(clippy::print_stderr)]
fn check_finds_nothing_wrong_in_the_official_suite() {
    let Some(dir) = suite() else {
        eprintln!("notice: Lua's test suite not found at ../shared/lua-testes: not checked");
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("suite")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "lua"))
        .collect();
    files.sort();
    assert!(files.len() >= 28, "{files:?}");
    let output = Command::new(env!("CARGO_BIN_EXE_zephyr"))
        .arg("check")
        .args(&files)
        .output()
        .expect("run zephyr check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.is_empty(),
        "false positives on Lua's own tests:\n{stdout}"
    );
}
