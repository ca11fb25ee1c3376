//! `zephyr conformance DIR`: runs the official Lua 5.4 test suite file by
//! file, through `zephyr run --trusted` and through stock Lua, and compares
//! the results. Each file runs in a child process of its own (a file that
//! crashes or hangs takes only its own run down), with the suite's `_soft`,
//! `_port` and `_nomsg` switches set on its first line.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::say;

/// The suite's switches: skip the long and non-portable tests, no messages.
pub(crate) const PRELUDE: &str = "_soft=true _port=true _nomsg=true";

/// Files of the suite that are not tests of their own: `all.lua` and
/// `main.lua` drive the standalone interpreter, `big`, `heavy` and
/// `verybig` need hours or gigabytes.
const SKIPPED: [&str; 5] = ["all.lua", "main.lua", "big.lua", "heavy.lua", "verybig.lua"];

/// Files that must pass through the safe profile too, with its default
/// budget: `pm.lua` tests the pattern functions, which the safe profile
/// replaces with their counted variants (`zephyr-lua`'s `tests/pattern.rs`
/// runs it on Zephyr's own matcher too).
const SAFE_TOO: [&str; 1] = ["pm.lua"];

/// Options of `zephyr conformance`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ConformanceOptions {
    /// The suite's folder (Lua 5.4's `testes/`).
    pub(crate) dir: PathBuf,
    /// Only these files (names such as `strings.lua`); default: all of them.
    pub(crate) files: Vec<String>,
    /// Seconds one file may run before it counts as hung.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub(crate) timeout: u64,
    /// Internal: run one file on stock Lua (the reference) and exit.
    #[arg(long, value_name = "FILE", hide = true)]
    pub(crate) reference: Option<PathBuf>,
}

/// How one run of one file ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Pass,
    /// Failed; where (`file.lua:LINE`, or the first line of the message).
    Fail(String),
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Pass => f.write_str("pass"),
            Verdict::Fail(at) => write!(f, "fails at {at}"),
        }
    }
}

pub(crate) fn conformance(options: &ConformanceOptions) -> Result<()> {
    if let Some(file) = &options.reference {
        return reference(file);
    }
    let files = suite_files(&options.dir, &options.files)?;
    let exe = std::env::current_exe()
        .map_err(|e| Error::Usage(format!("cannot find the zephyr executable: {e}")))?;
    let timeout = Duration::from_secs(options.timeout);
    let mut out = std::io::stdout().lock();
    let mut differ = 0;
    let (mut ours_pass, mut stock_pass) = (0, 0);
    for file in &files {
        let name = file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let started = Instant::now();
        let stock = verdict(
            Command::new(&exe)
                .arg("conformance")
                .arg(".")
                .arg("--reference")
                .arg(&name),
            &options.dir,
            &name,
            timeout,
        );
        // Through the host as a user runs it: `zephyr run [--trusted]`.
        let run = |profile: &[&str]| {
            verdict(
                Command::new(&exe)
                    .arg("run")
                    .args(profile)
                    .args([
                        "--strict",
                        "--workers",
                        "1",
                        "--frames",
                        "0",
                        "--prelude",
                        PRELUDE,
                    ])
                    .arg(&name),
                &options.dir,
                &name,
                timeout,
            )
        };
        let ours = run(&["--trusted", "--budget", "0"]);
        let safe = SAFE_TOO.contains(&name.as_str()).then(|| run(&[]));
        stock_pass += usize::from(stock == Verdict::Pass);
        ours_pass += usize::from(ours == Verdict::Pass);
        // A file that stock Lua fails and the trusted profile passes (gc.lua,
        // whose memory-count assertion at line 477 fails on mlua's stock
        // state) changes nothing a script could rely on.
        let (agrees, word) = match (&stock, &ours) {
            _ if stock == ours => (true, "same"),
            (Verdict::Fail(_), Verdict::Pass) => (true, "passes where stock fails"),
            _ => (false, "DIFFERENT"),
        };
        let (agrees, word) = match &safe {
            Some(Verdict::Pass) | None => (agrees, word.to_owned()),
            Some(failed) => (false, format!("{word}; safe profile: {failed}")),
        };
        let word = if safe == Some(Verdict::Pass) {
            format!("{word}; safe profile: pass")
        } else {
            word
        };
        differ += usize::from(!agrees);
        say(
            &mut out,
            &format!(
                "{name:<16} stock: {stock:<24} zephyr --trusted: {ours:<24} {word} ({:.1} s)",
                started.elapsed().as_secs_f64()
            ),
        );
    }
    say(
        &mut out,
        &format!(
            "{} files: stock Lua passes {stock_pass}, zephyr --trusted passes {ours_pass}; \
             {differ} differ",
            files.len()
        ),
    );
    if differ > 0 {
        return Err(Error::CheckFailed(differ));
    }
    Ok(())
}

/// The suite's test files in `dir` (or the `only` ones), by name.
fn suite_files(dir: &Path, only: &[String]) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::bad_file(dir, e.to_string()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "lua"))
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if only.is_empty() {
                !SKIPPED.contains(&&*name)
            } else {
                only.iter().any(|o| *o == name)
            }
        })
        .collect();
    files.sort();
    if let Some(missing) = only
        .iter()
        .find(|o| !files.iter().any(|f| f.ends_with(o.as_str())))
    {
        return Err(Error::bad_file(
            dir.join(missing),
            "no such file in the suite",
        ));
    }
    if files.is_empty() {
        return Err(Error::bad_file(
            dir,
            "no .lua files here: is this Lua's testes/ folder?",
        ));
    }
    Ok(files)
}

/// Runs one child and tells how the file fared: passed when the child exits
/// 0, else where it failed (the first `NAME:LINE:` in its stderr).
fn verdict(command: &mut Command, dir: &Path, name: &str, timeout: Duration) -> Verdict {
    let child = command
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => return Verdict::Fail(format!("(cannot start: {e})")),
    };
    let mut stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(stderr) = stderr.as_mut() {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    let text = reader.join().unwrap_or_default();
    match status {
        None => Verdict::Fail(format!("(timed out after {} s)", timeout.as_secs())),
        Some(status) if status.success() => Verdict::Pass,
        Some(status) => Verdict::Fail(failure_place(&text, name).unwrap_or_else(|| {
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            format!("({status}: {})", first.chars().take(60).collect::<String>())
        })),
    }
}

/// `name:LINE` from the first line of `text` that starts an error there.
fn failure_place(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let at = line.find(&format!("{name}:"))?;
        let rest = &line[at + name.len() + 1..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        (!digits.is_empty() && rest[digits.len()..].starts_with(':'))
            .then(|| format!("{name}:{digits}"))
    })
}

/// The reference child: one file on stock Lua, the prelude on its first line.
fn reference(file: &Path) -> Result<()> {
    let bytes = std::fs::read(file).map_err(|e| Error::bad_file(file, e.to_string()))?;
    let mut source = format!("{PRELUDE} ").into_bytes();
    source.extend_from_slice(&zephyr_runtime::file_source(&bytes));
    zephyr_lua::run_stock_lua(&source, &format!("@{}", file.display())).map_err(Error::ScriptLoad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_places_are_found_in_error_lines() {
        let text =
            "warning\nerror: gc.lua:477: assertion failed!\nstack traceback:\n\tgc.lua:12: in main";
        assert_eq!(failure_place(text, "gc.lua").as_deref(), Some("gc.lua:477"));
        assert_eq!(failure_place("error: other.lua:3: x", "gc.lua"), None);
        assert_eq!(failure_place("gc.lua: no line", "gc.lua"), None);
    }
}
