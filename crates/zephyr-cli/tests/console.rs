//! The live console and saved settings, through the binary: commands piped
//! into a paced run, `zephyr console`, config.cfg and autoexec.cfg.

mod common;

use common::{files, zephyr, zephyr_with_input};

const GAME: &str = "\
cvar.register('game_volume', 0.5, 'Master volume', cvar.ARCHIVE)
console.register('spawn_crate', function() print('crate spawned') end, 'Spawns a crate')
function on_start() print('volume at start: ' .. cvar.get('game_volume')) end
function on_update(dt) end
";

/// A paced run (no --frames: it would run for ever) reads commands from a
/// pipe, runs them between frames and ends at `quit`.
#[test]
fn commands_piped_into_a_paced_run_run_between_frames_and_quit_ends_it() {
    let dir = files(&[("game.lua", GAME)]);
    let run = zephyr_with_input(
        dir.path(),
        &["run", "game.lua", "--config", "config.cfg"],
        "set game_volume 0.75\n\
         get game_volume\n\
         lua answer = 6 * 7\n\
         = answer, 'text'\n\
         lua function twice(x)\n  return 2 * x\nend\n\
         = twice(answer)\n\
         help\n\
         spawn_crate\n\
         nosuch_command\n\
         quit\n",
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let out = &run.stdout;
    assert!(out.contains("game_volume = 0.75"), "{out}");
    assert!(out.contains("42\ttext"), "{out}");
    assert!(
        out.contains("\n84\n"),
        "a multi-line chunk then its use: {out}"
    );
    assert!(
        out.contains("spawn_crate: Spawns a crate"),
        "help names registered commands: {out}"
    );
    assert!(out.contains("quit: asks the host"), "{out}");
    assert!(
        out.contains("lua <code>: runs Lua code; typed at this console, on the main thread"),
        "help says where a typed `lua` runs: {out}"
    );
    assert!(out.contains("crate spawned"), "{out}");
    assert!(
        run.stderr.contains("unknown command 'nosuch_command'"),
        "errors go to stderr: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("game_volume = "),
        "output is not logged: {}",
        run.stderr
    );
}

/// `zephyr console` opens on an empty world and ends with its input.
#[test]
fn the_console_runs_on_an_empty_world_until_its_input_ends() {
    let dir = files(&[]);
    let run = zephyr_with_input(
        dir.path(),
        &["console"],
        "= zephyr.scene.get_name()\nlua e = zephyr.entity.create()\nlua zephyr.entity.set_name(e, 'Box')\n= zephyr.entity.find('Box') == e\n",
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "console\ntrue\n", "{}", run.stderr);
}

/// `= expr` says which entity an id is (scripts still see the integer);
/// a behaviour's error names its entity the same way.
#[test]
fn the_console_shows_which_entity_an_id_is() {
    let dir = files(&[]);
    let run = zephyr_with_input(
        dir.path(),
        &["console"],
        "lua a = zephyr.entity.create()
lua b = zephyr.entity.create()
         lua zephyr.entity.set_name(b, 'Box')
lua zephyr.entity.destroy(a)
         = b, math.type(b), a, 7
",
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout, "4294967297\tinteger\t4294967296\t7\t-- entity 1:1 \"Box\"\n",
        "{}",
        run.stderr
    );
    let scene = files(&[
        (
            "scene.toml",
            "name = \"s\"\n[[entities]]\n[[entities]]\nname = \"Barrel\"\nscript = \"boom.lua\"\n",
        ),
        ("boom.lua", "function on_update(self) error('boom') end"),
    ]);
    let run = zephyr(scene.path(), &["run", "scene.toml", "--frames", "1"]);
    assert!(
        run.stderr
            .contains("boom.lua:1: boom (callback on_update, entity 1:1 \"Barrel\")"),
        "{}",
        run.stderr
    );
}

/// `--no-console` reads nothing: a batch run with stdin open to a pipe
/// that says `quit` runs all its frames.
#[test]
fn no_console_reads_nothing() {
    let dir = files(&[(
        "count.lua",
        "n = 0 function on_update() n = n + 1 end function on_destroy() print('frames: ' .. n) end",
    )]);
    let run = zephyr_with_input(
        dir.path(),
        &["run", "count.lua", "--frames", "50", "--no-console"],
        "quit\n",
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.stdout.contains("frames: 50"), "{}", run.stdout);
}

/// The settings round trip: a change is saved at exit as `seta` lines; the
/// next run loads it, reports a corrupted line with its number and loads
/// the rest; autoexec.cfg runs after the scripts load; host_writeconfig
/// writes at once.
#[test]
fn archived_cvars_are_saved_loaded_and_a_corrupted_line_is_reported() {
    let dir = files(&[("game.lua", GAME)]);
    let first = zephyr_with_input(
        dir.path(),
        &["run", "game.lua", "--config", "cfg.cfg"],
        "set game_volume 0.8\nquit\n",
    );
    assert_eq!(first.status, 0, "{}", first.stderr);
    assert!(
        first.stderr.contains("settings saved to cfg.cfg"),
        "{}",
        first.stderr
    );
    let saved = std::fs::read_to_string(dir.path().join("cfg.cfg")).unwrap();
    assert!(saved.contains("seta game_volume \"0.8\""), "{saved}");
    assert!(
        !saved.contains("phys_gravity"),
        "only ARCHIVE cvars: {saved}"
    );

    // Corrupt one line; keep a setting of a cvar this game does not have.
    std::fs::write(
        dir.path().join("cfg.cfg"),
        "// saved\nseta broken\nseta game_volume \"0.8\"\nseta other_mod_speed \"3\"\n",
    )
    .unwrap();
    let second = zephyr(
        dir.path(),
        &["run", "game.lua", "--frames", "2", "--config", "cfg.cfg"],
    );
    assert_eq!(second.status, 0, "{}", second.stderr);
    assert!(
        second.stdout.contains("volume at start: 0.8"),
        "{}",
        second.stdout
    );
    assert!(second.stderr.contains("cfg.cfg:2:"), "{}", second.stderr);
    assert!(
        !second.stderr.contains("other_mod_speed"),
        "a saved setting of another game is kept, not warned about: {}",
        second.stderr
    );
    // Nothing changed: the file is left alone.
    assert!(
        !second.stderr.contains("settings saved"),
        "{}",
        second.stderr
    );

    // autoexec.cfg beside the config runs once the scripts have loaded;
    // host_writeconfig writes at once, keeping the other game's setting.
    std::fs::write(
        dir.path().join("autoexec.cfg"),
        "echo autoexec ran\nset game_volume 0.25\nnot_a_command\nlua if true then\n",
    )
    .unwrap();
    let third = zephyr_with_input(
        dir.path(),
        &["run", "game.lua", "--config", "cfg.cfg"],
        "host_writeconfig\nquit\n",
    );
    assert_eq!(third.status, 0, "{}", third.stderr);
    assert!(third.stdout.contains("autoexec ran"), "{}", third.stdout);
    assert!(third.stdout.contains("wrote cfg.cfg"), "{}", third.stdout);
    assert!(third.stderr.contains("autoexec.cfg:3:"), "{}", third.stderr);
    // A chunk left unfinished at the end of the file is run, and its error told.
    assert!(
        third.stderr.contains("[lua from autoexec.cfg:4]:1:"),
        "{}",
        third.stderr
    );
    let saved = std::fs::read_to_string(dir.path().join("cfg.cfg")).unwrap();
    assert!(saved.contains("seta game_volume \"0.25\""), "{saved}");
    assert!(saved.contains("seta other_mod_speed \"3\""), "{saved}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file left behind");
}

/// A config file that cannot be read is an error naming it; one in a
/// folder that does not exist cannot be saved, and says so.
#[test]
fn an_unwritable_config_is_reported_by_name() {
    let dir = files(&[("game.lua", GAME)]);
    let run = zephyr_with_input(
        dir.path(),
        &["run", "game.lua", "--config", "no/such/dir/config.cfg"],
        "set game_volume 0.9\nquit\n",
    );
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("no/such/dir/config.cfg"),
        "{}",
        run.stderr
    );
}

/// The terminal path (rustyline): run under `script`, which gives the
/// console a pseudo-terminal. Each line is typed once the console has gone
/// quiet (it has drawn its prompt), since line editing discards input typed
/// ahead of it. Tab completes a cvar name; a chunk spans two lines; `quit`
/// ends. Skipped (with a notice) where `script` is missing.
#[test]
#[allow(clippy::print_stderr)] // the notice when the test is skipped
fn the_console_edits_lines_on_a_terminal() {
    use std::io::{Read as _, Write as _};
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("notice: `script` (util-linux) not found: the terminal test is skipped");
        return;
    }
    let dir = files(&[]);
    let command = format!(
        "{} console --config {}",
        env!("CARGO_BIN_EXE_zephyr"),
        dir.path().join("pty.cfg").display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("HOME", dir.path())
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run script");
    let output = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let sink = output.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buffer) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buffer[..n]);
        }
    });
    // Waits until the output has not grown for a while (at most 10 s).
    let quiet = |output: &Mutex<Vec<u8>>| {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut last = usize::MAX;
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(250));
            let now = output.lock().unwrap().len();
            if now == last && now > 0 {
                return;
            }
            last = now;
        }
    };
    let mut stdin = child.stdin.take().unwrap();
    for line in [
        "set phys_gr\t -3\n",
        "get phys_gravity\n",
        "lua function f()\n",
        "return 41 end\n",
        "= f() + 1\n",
        "quit\n",
    ] {
        quiet(&output);
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let raw = String::from_utf8_lossy(&output.lock().unwrap()).into_owned();
    // Without the terminal's control sequences.
    let mut text = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else if c != '\r' {
            text.push(c);
        }
    }
    assert!(
        text.contains("set phys_gravity -3"),
        "Tab completed the cvar:\n{text}"
    );
    assert!(text.contains("phys_gravity = -3.0"), "{text}");
    assert!(text.contains("42"), "a chunk over two lines:\n{text}");
    assert!(
        dir.path().join(".zephyr_history").exists(),
        "history is saved:\n{text}"
    );
}

/// Every change of an archived cvar during a run is saved at its end,
/// wherever it was made: the main chunk, a callback, a cvar handler, a
/// worker job, the console. The next run reads it back.
#[test]
fn archived_changes_from_anywhere_in_a_run_are_saved() {
    for (name, script, input) in [
        (
            "main chunk",
            "cvar.register('ui_volume', 0.5, 'Volume', cvar.ARCHIVE)\ncvar.set('ui_volume', 0.75)",
            "quit\n",
        ),
        (
            "callback",
            "cvar.register('ui_volume', 0.5, 'Volume', cvar.ARCHIVE)\n\
             function on_update() if zephyr.time.frame() == 2 then cvar.set('ui_volume', 0.75) end end",
            "",
        ),
        (
            "handler",
            "cvar.register('ui_volume', 0.5, 'Volume', cvar.ARCHIVE)\n\
             cvar.register('trigger', 0, 'x')\n\
             cvar.on_change('trigger', function() cvar.set('ui_volume', 0.75) end)\n\
             cvar.set('trigger', 1)\nfunction on_update() end",
            "",
        ),
        (
            "worker job",
            "cvar.register('ui_volume', 0.5, 'Volume', cvar.ARCHIVE)\n\
             console.execute(\"lua cvar.set('ui_volume', 0.75)\")\nfunction on_update() end",
            "",
        ),
        (
            "console",
            "cvar.register('ui_volume', 0.5, 'Volume', cvar.ARCHIVE)\nfunction on_update() end",
            "set ui_volume 0.75\nquit\n",
        ),
    ] {
        let dir = files(&[("game.lua", script)]);
        let args: &[&str] = if input.is_empty() {
            &["run", "game.lua", "--frames", "3"]
        } else {
            &["run", "game.lua"]
        };
        let run = zephyr_with_input(dir.path(), args, input);
        assert_eq!(run.status, 0, "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains("settings saved to ./config.cfg"),
            "{name}: {}",
            run.stderr
        );
        let saved = std::fs::read_to_string(dir.path().join("config.cfg")).unwrap();
        assert!(saved.contains("seta ui_volume \"0.75\""), "{name}: {saved}");
        // The next run starts from it, and says where its settings came from.
        let next = zephyr(
            dir.path(),
            &["run", "game.lua", "--frames", "1", "--no-console"],
        );
        assert_eq!(next.status, 0, "{name}: {}", next.stderr);
        assert!(
            next.stderr
                .contains("settings: 1 value(s) loaded from ./config.cfg"),
            "{name}: {}",
            next.stderr
        );
    }
}

/// `--no-config` reads no settings file and writes none: a batch run that
/// an earlier console session cannot change.
#[test]
fn no_config_reads_and_writes_no_settings() {
    let dir = files(&[
        (
            "game.lua",
            "cvar.register('ui_volume', 0.5, 'Volume', cvar.ARCHIVE)\nprint(cvar.get('ui_volume'))\ncvar.set('ui_volume', 0.9)",
        ),
        ("config.cfg", "seta ui_volume \"0.75\"\n"),
        ("autoexec.cfg", "echo autoexec ran\n"),
    ]);
    let with = zephyr(dir.path(), &["run", "game.lua", "--no-console"]);
    assert_eq!(with.stdout.lines().next(), Some("0.75"), "{}", with.stdout);
    assert!(with.stdout.contains("autoexec ran"), "{}", with.stdout);
    std::fs::write(dir.path().join("config.cfg"), "seta ui_volume \"0.75\"\n").unwrap();
    let without = zephyr(
        dir.path(),
        &["run", "game.lua", "--no-console", "--no-config"],
    );
    assert_eq!(without.status, 0, "{}", without.stderr);
    assert_eq!(without.stdout, "0.5\n", "{}", without.stdout);
    assert!(!without.stderr.contains("settings"), "{}", without.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("config.cfg")).unwrap(),
        "seta ui_volume \"0.75\"\n",
        "the file is left as it was"
    );
    std::fs::write(dir.path().join("paced.lua"), "function on_update() end").unwrap();
    let refused = zephyr_with_input(
        dir.path(),
        &["run", "paced.lua", "--no-config"],
        "host_writeconfig\nquit\n",
    );
    assert!(
        refused
            .stderr
            .contains("this run reads and writes no settings (--no-config)"),
        "{}",
        refused.stderr
    );
}

/// A line of the config that does not load is a warning, and is kept,
/// commented, when the file is rewritten (and on every rewrite after).
#[test]
fn a_malformed_config_line_is_kept_when_the_file_is_rewritten() {
    let dir = files(&[
        (
            "game.lua",
            "cvar.register('ui_volume', 0.5, 'Volume', cvar.ARCHIVE)\ncvar.set('ui_volume', cvar.get('ui_volume') + 0.125)",
        ),
        (
            "config.cfg",
            "seta ui_volume \"0.25\"\nseta bad line here\n",
        ),
    ]);
    let first = zephyr(dir.path(), &["run", "game.lua", "--no-console"]);
    assert!(
        first.stderr.contains("warning: ./config.cfg:2:"),
        "{}",
        first.stderr
    );
    let saved = std::fs::read_to_string(dir.path().join("config.cfg")).unwrap();
    assert!(saved.contains("seta ui_volume \"0.375\""), "{saved}");
    assert!(
        saved.contains("// not loaded: seta bad line here\n"),
        "{saved}"
    );
    let second = zephyr(dir.path(), &["run", "game.lua", "--no-console"]);
    assert!(!second.stderr.contains("warning"), "{}", second.stderr);
    let saved = std::fs::read_to_string(dir.path().join("config.cfg")).unwrap();
    assert!(saved.contains("seta ui_volume \"0.5\""), "{saved}");
    assert!(
        saved.contains("// not loaded: seta bad line here\n"),
        "kept on the next rewrite too: {saved}"
    );
}

/// Warnings read one way, whoever gives them: the config loader's and a
/// preset the registry could not give its cvar.
#[test]
fn warnings_come_in_one_format() {
    let dir = files(&[
        (
            "game.lua",
            "cvar.register('ui_volume', 0.5, 'Volume', cvar.ARCHIVE)",
        ),
        ("config.cfg", "seta ui_volume \"loud\"\nnot a setting\n"),
    ]);
    let run = zephyr(dir.path(), &["run", "game.lua", "--no-console"]);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.to_lowercase().contains("warn"))
        .collect();
    assert_eq!(warnings.len(), 2, "{}", run.stderr);
    assert!(
        warnings
            .iter()
            .all(|w| w.starts_with("warning: ./config.cfg:")),
        "{}",
        run.stderr
    );
}
