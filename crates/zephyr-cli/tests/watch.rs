//! `zephyr run --watch`: a behaviour script edited during a paced run is
//! reloaded in place, with its state; a broken edit keeps the old code
//! running and says why.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// `zephyr run scene.toml --watch` in `dir`, its output read line by line.
struct Watched {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    out: Receiver<String>,
    err: Receiver<String>,
}

impl Watched {
    fn start(dir: &std::path::Path) -> Watched {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zephyr"))
            .current_dir(dir)
            .args(["run", "scene.toml", "--watch", "--config", "test.cfg"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run zephyr");
        Watched {
            out: lines(child.stdout.take().unwrap()),
            err: lines(child.stderr.take().unwrap()),
            stdin: child.stdin.take().unwrap(),
            child,
        }
    }

    /// Types `quit` and requires a clean exit.
    fn quit(mut self, seen_err: &[String]) {
        self.stdin.write_all(b"quit\n").unwrap();
        drop(self.stdin);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "stderr:\n{}", seen_err.join("\n"));
    }
}

fn lines(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits (at most 15 s) for a line for which `wanted` is true, keeping
/// what came before it in `seen`.
fn wait_for(
    rx: &Receiver<String>,
    seen: &mut Vec<String>,
    wanted: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if wanted(&line) {
                    return line;
                }
            }
            Err(_) => break,
        }
    }
    panic!("timed out; seen so far:\n{}", seen.join("\n"));
}

fn number_after(line: &str, prefix: &str) -> u64 {
    line.strip_prefix(prefix)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {prefix:?} in {line:?}"))
}

#[test]
fn an_edited_behaviour_reloads_during_a_paced_run_and_keeps_its_state() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("scripts")).unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        "name = \"watch\"\n[[entities]]\nname = \"Mover\"\nscript = \"scripts/mover.lua\"\n",
    )
    .unwrap();
    let script = dir.path().join("scripts/mover.lua");
    std::fs::write(
        &script,
        "count = count or 0\n\
         function on_update(self, dt)\n\
           count = count + 1\n\
           if count % 10 == 0 then print('v1 ' .. count) end\n\
         end\n",
    )
    .unwrap();
    let watched = Watched::start(dir.path());
    let (out, err) = (&watched.out, &watched.err);
    let (mut seen_out, mut seen_err) = (Vec::new(), Vec::new());

    wait_for(out, &mut seen_out, |l| l.starts_with("v1 "));
    std::fs::write(
        &script,
        "count = count or 0\n\
         function on_update(self, dt)\n\
           count = count + 1\n\
           if count % 10 == 0 then print('v2 ' .. count) end\n\
         end\n\
         function on_reload(self) print('reloaded at ' .. count) end\n",
    )
    .unwrap();
    let reloaded = wait_for(out, &mut seen_out, |l| l.starts_with("reloaded at "));
    let at = number_after(&reloaded, "reloaded at ");
    assert!(at >= 10, "the count went on from v1: {reloaded}");
    let v2 = wait_for(out, &mut seen_out, |l| l.starts_with("v2 "));
    assert!(
        number_after(&v2, "v2 ") > at,
        "state kept across the reload: {v2}"
    );
    wait_for(err, &mut seen_err, |l| {
        l.contains("reloaded scripts/mover.lua")
    });

    // A broken edit: the error is printed and v2 keeps running.
    std::fs::write(&script, "function on_update(self, dt)\n  if then\nend\n").unwrap();
    let failed = wait_for(err, &mut seen_err, |l| l.contains("reload failed"));
    assert!(failed.contains("scripts/mover.lua:2:"), "{failed}");
    assert!(
        !seen_err.iter().any(|l| l.contains("(0 instance(s)")),
        "a failed reload is not announced as a reload: {seen_err:?}"
    );
    let before = seen_out.len();
    wait_for(out, &mut seen_out, |l| l.starts_with("v2 "));
    assert!(seen_out[before..].iter().all(|l| !l.starts_with("v1")));

    // Fixed again: it loads.
    std::fs::write(
        &script,
        "function on_update(self, dt)\n\
           count = count + 1\n\
           if count % 10 == 0 then print('v3 ' .. count) end\n\
         end\n",
    )
    .unwrap();
    let v3 = wait_for(out, &mut seen_out, |l| l.starts_with("v3 "));
    assert!(number_after(&v3, "v3 ") > at);

    watched.quit(&seen_err);
}

#[test]
fn a_watched_reload_keeps_top_level_locals_and_names_the_dropped_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        "name = \"watch\"\n[[entities]]\nname = \"Mover\"\nscript = \"mover.lua\"\n",
    )
    .unwrap();
    let script = dir.path().join("mover.lua");
    std::fs::write(
        &script,
        "local count = 0\nlocal burst = 3\nlocal shots = 0\n\
         function on_start(self) zephyr.task.every(0.05, function() shots = shots + 1 end) end\n\
         function on_update(self, dt)\n\
           count = count + 1\n\
           if count % 10 == 0 then print('v1 ' .. count .. ' ' .. shots) end\n\
         end\n",
    )
    .unwrap();
    let watched = Watched::start(dir.path());
    let (out, err) = (&watched.out, &watched.err);
    let (mut seen_out, mut seen_err) = (Vec::new(), Vec::new());
    let v1 = wait_for(out, &mut seen_out, |l| l.starts_with("v1 "));
    std::fs::write(
        &script,
        "local count = 0\nlocal shots = 0\n\
         function on_start(self) end\n\
         function on_update(self, dt)\n\
           count = count + 1\n\
           if count % 10 == 0 then print('v2 ' .. count .. ' ' .. shots) end\n\
         end\n",
    )
    .unwrap();
    let dropped = wait_for(err, &mut seen_err, |l| l.contains("no longer declares"));
    assert!(
        dropped.contains("mover.lua no longer declares `local burst`"),
        "{dropped}"
    );
    let v2 = wait_for(out, &mut seen_out, |l| l.starts_with("v2 "));
    assert!(
        number_after(&v2, "v2 ") > number_after(&v1, "v1 "),
        "the local count went on: {v1} then {v2}"
    );
    // The old version's task (not cancelled by the reload) counts into the
    // same `shots` the new version prints.
    let shots = |line: &str| -> u64 { line.rsplit(' ').next().unwrap().parse().unwrap() };
    let later = wait_for(out, &mut seen_out, |l| l.starts_with("v2 ") && l != v2);
    assert!(
        shots(&later) > shots(&v2) && shots(&v2) >= shots(&v1),
        "{v1} / {v2} / {later}"
    );
    watched.quit(&seen_err);
}

#[test]
fn a_watched_module_reload_keeps_the_module_locals() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("scene.toml"),
        "name = \"watch\"\n[[entities]]\nname = \"User\"\nscript = \"user.lua\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("user.lua"),
        "local counter = require 'counter'\n\
         function on_update(self, dt) local line = counter.next() if line then print(line) end end\n",
    )
    .unwrap();
    let module = dir.path().join("counter.lua");
    let version = |tag: &str| {
        format!(
            "local n = 0\nlocal M = {{}}\n\
             function M.next() n = n + 1 if n % 10 == 0 then return '{tag} ' .. n end end\n\
             return M\n"
        )
    };
    std::fs::write(&module, version("m1")).unwrap();
    let watched = Watched::start(dir.path());
    let (out, err) = (&watched.out, &watched.err);
    let (mut seen_out, mut seen_err) = (Vec::new(), Vec::new());
    let m1 = wait_for(out, &mut seen_out, |l| l.starts_with("m1 "));
    std::fs::write(&module, version("m2")).unwrap();
    wait_for(err, &mut seen_err, |l| l.contains("reloaded counter"));
    let m2 = wait_for(out, &mut seen_out, |l| l.starts_with("m2 "));
    assert!(
        number_after(&m2, "m2 ") > number_after(&m1, "m1 "),
        "the module's local went on: {m1} then {m2}"
    );
    watched.quit(&seen_err);
}
