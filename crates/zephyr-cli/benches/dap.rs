//! A debugging session's cost on the shipped scenes, through the binary:
//! `zephyr run SCENE --frames 600` against the same run launched by
//! `zephyr dap` with a breakpoint in a file the scene never runs, rounds
//! interleaved, the frame time from each run's summary, medians.
//!
//! ```sh
//! cargo bench -p zephyr-cli --bench dap            # 7 rounds
//! cargo bench -p zephyr-cli --bench dap -- --rounds 9
//! ```

#![allow(clippy::print_stdout)] // a bench prints its table

#[path = "../tests/common/dap.rs"]
mod dap;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

/// The summary's mean frame time, in milliseconds.
fn mean_frame_ms(summary: &str) -> f64 {
    let line = summary
        .lines()
        .find(|l| l.starts_with("frame time: mean "))
        .unwrap_or_else(|| panic!("no frame time in {summary}"));
    line["frame time: mean ".len()..]
        .split_whitespace()
        .next()
        .and_then(|ms| ms.parse().ok())
        .expect("a number of milliseconds")
}

fn plain(zephyr: &Path, root: &Path, scene: &str, frames: &str) -> f64 {
    let output = Command::new(zephyr)
        .current_dir(root)
        .args([
            "run",
            scene,
            "--frames",
            frames,
            "--no-config",
            "--no-console",
        ])
        .output()
        .expect("zephyr run");
    assert!(output.status.success());
    mean_frame_ms(&String::from_utf8_lossy(&output.stderr))
}

fn debugged(zephyr: &Path, root: &Path, scene: &str, frames: &str, unused: &Path) -> f64 {
    let mut client = dap::Client::start_with(zephyr, root);
    client.launch(json!({
        "program": scene,
        "args": ["--frames", frames, "--no-config"],
        "cwd": root,
    }));
    let set = client.ok(
        "setBreakpoints",
        json!({ "source": { "path": unused }, "breakpoints": [{ "line": 1 }] }),
    );
    assert_eq!(set["breakpoints"][0]["verified"], true);
    client.ok(
        "setExceptionBreakpoints",
        json!({ "filters": ["uncaught"] }),
    );
    client.ok("configurationDone", json!({}));
    let (code, client) = client.finish();
    assert_eq!(code, 0);
    mean_frame_ms(&client.output("stderr"))
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|r| r.parse().ok())
        .unwrap_or(7);
    let quick = args.iter().any(|a| a == "--quick");
    let frames = if quick { "30" } else { "600" };
    let zephyr = PathBuf::from(env!("CARGO_BIN_EXE_zephyr"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let unused = std::env::temp_dir().join(format!("zephyr-dap-bench-{}.lua", std::process::id()));
    std::fs::write(&unused, "local never = 1\nreturn never\n").expect("a scratch file");
    println!("# zephyr dap's cost ({rounds} rounds, medians of the runs' mean frame time)\n");
    println!("| scene | zephyr run | under zephyr dap, a breakpoint in an unused file | ratio |");
    println!("|---|---|---|---|");
    for scene in ["examples/scenes/demo.toml", "examples/scenes/turret.toml"] {
        let (mut without, mut with) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            without.push(plain(&zephyr, &root, scene, frames));
            with.push(debugged(&zephyr, &root, scene, frames, &unused));
        }
        let (without, with) = (median(without), median(with));
        println!(
            "| {scene} | {without:.3} ms | {with:.3} ms | {:.2}x |",
            with / without
        );
    }
    let _ = std::fs::remove_file(&unused);
}
