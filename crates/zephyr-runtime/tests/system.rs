//! The ScriptingSystem: update(), worker writes, CVar handlers, the console
//! and cvar modules.

use std::sync::Arc;

use parking_lot::Mutex;
use zephyr_runtime::cvar::{CVarDef, CVarFlags};
use zephyr_runtime::{Action, Job, Limits, Outcome, ScriptingConfig, ScriptingSystem, StateConfig};

type Lines = Arc<Mutex<Vec<String>>>;

fn system_with(workers: usize, state: StateConfig) -> (ScriptingSystem, Lines) {
    let printed: Lines = Arc::default();
    let sink = printed.clone();
    let system = ScriptingSystem::new(ScriptingConfig {
        workers,
        state,
        print: Some(zephyr_runtime::api::line_sink(move |line: &[u8]| {
            sink.lock().push(String::from_utf8_lossy(line).into_owned())
        })),
        ..ScriptingConfig::default()
    })
    .unwrap();
    system
        .cvars()
        .register(CVarDef::new("r_fov", 75.0).range(30.0, 150.0))
        .unwrap();
    system
        .cvars()
        .register(CVarDef::new("r_vsync", true))
        .unwrap();
    (system, printed)
}

fn system(workers: usize) -> (ScriptingSystem, Lines) {
    system_with(workers, StateConfig::default())
}

fn run(system: &ScriptingSystem, source: &str) -> String {
    system.execute(source, "main").to_string()
}

/// Enqueues, waits for the outcome, then runs `update()` once.
fn run_on_worker(system: &mut ScriptingSystem, source: &str) -> Outcome {
    let outcome = system.enqueue_script(source, None).unwrap().wait();
    system.update();
    outcome
}

#[test]
fn a_worker_write_changes_nothing_until_update_then_applies_once() {
    let (mut system, _) = system(2);
    let outcome = system
        .enqueue_script("cvar.set('r_fov', 90) return cvar.get('r_fov')", None)
        .unwrap()
        .wait();
    assert_eq!(
        outcome.to_string(),
        "90.0",
        "the script reads its own pending write"
    );
    assert_eq!(
        system.cvars().get_as_string("r_fov").as_deref(),
        Some("75.0")
    );
    let report = system.update();
    assert_eq!(report.commands_applied, 1);
    assert_eq!(
        system.cvars().get_as_string("r_fov").as_deref(),
        Some("90.0")
    );
    let changes = system.cvars().take_pending_changes();
    assert_eq!(changes.len(), 1, "applied exactly once");
    assert_eq!(system.update().commands_applied, 0);
}

#[test]
fn a_handler_defined_and_registered_on_a_worker_fires_after_update() {
    let (mut system, printed) = system(4);
    // Several workers, several handler-registering scripts.
    let handles: Vec<_> = ["r_fov", "r_vsync"]
        .iter()
        .map(|name| {
            let source = format!(
                "function On_{name}(name, old, new) print('changed', name, old, new) end
                 cvar.on_change('{name}', 'On_{name}')
                 return 'registered'"
            );
            system
                .enqueue(Job::new(source).chunk_name(format!("{name}.lua")))
                .unwrap()
        })
        .collect();
    for handle in handles {
        // The script moved to the main thread: its outcome comes after update().
        let mut handle = handle;
        while handle.try_outcome().is_none() {
            system.update();
        }
        assert_eq!(handle.wait().to_string(), "registered");
    }
    assert_eq!(system.cvar_handler("r_fov").as_deref(), Some("On_r_fov"));
    assert_eq!(
        run(&system, "return cvar.get_lua_handler('r_vsync')"),
        "On_r_vsync"
    );

    // A change from another worker script fires the handler in the main state.
    run_on_worker(
        &mut system,
        "cvar.set('r_fov', 90) cvar.set('r_vsync', false)",
    );
    let report = system.update();
    assert_eq!(report.handlers_called, 2, "{report:?}");
    assert_eq!(
        printed.lock().as_slice(),
        [
            "changed\tr_fov\t75.0\t90.0",
            "changed\tr_vsync\ttrue\tfalse"
        ]
    );
}

#[test]
fn function_handlers_are_kept_in_the_main_state() {
    let (mut system, printed) = system(1);
    run(
        &system,
        "cvar.on_change('r_fov', function(name, old, new) print(name .. ':' .. old .. '->' .. new) end)",
    );
    let label = system.cvar_handler("r_fov").unwrap();
    assert!(label.starts_with("<function #1 main:1>"), "{label}");
    system.console().execute("set r_fov 100").unwrap();
    assert_eq!(system.update().handlers_called, 1);
    assert_eq!(printed.lock().as_slice(), ["r_fov:75.0->100.0"]);
    run(&system, "cvar.on_change('r_fov', nil)");
    system.console().execute("set r_fov 110").unwrap();
    assert_eq!(system.update().handlers_called, 0);
}

#[test]
fn registering_an_undefined_handler_fails_with_the_reason() {
    let (system, _) = system(1);
    let out = run(&system, "cvar.on_change('r_fov', 'OnMissing')");
    assert!(out.contains("handler 'OnMissing' is not defined"), "{out}");
    let out = run(
        &system,
        "NotAFunction = 3 cvar.on_change('r_fov', 'NotAFunction')",
    );
    assert!(
        out.contains("is a integer, not a function") || out.contains("not a function"),
        "{out}"
    );
    let out = run(&system, "function H() end cvar.on_change('nope', 'H')");
    assert!(out.contains("unknown cvar 'nope'"), "{out}");
}

#[test]
fn a_handler_removed_after_registration_is_reported_not_skipped() {
    let (mut system, _) = system(1);
    run(
        &system,
        "function OnFov() end cvar.on_change('r_fov', 'OnFov')",
    );
    run(&system, "OnFov = nil");
    system.console().execute("set r_fov 80").unwrap();
    let report = system.update();
    assert_eq!(report.handlers_called, 0);
    assert!(
        report.errors[0]
            .to_string()
            .contains("handler 'OnFov' cannot be called"),
        "{:?}",
        report.errors
    );
}

#[test]
fn handler_changes_are_processed_at_the_next_update() {
    let (mut system, printed) = system(1);
    run(
        &system,
        "function Bump(name, old, new) print(new) if tonumber(new) < 80 then cvar.set('r_fov', tonumber(new) + 1) end end
         cvar.on_change('r_fov', 'Bump')",
    );
    system.console().execute("set r_fov 76").unwrap();
    for expected in 1..=4 {
        system.update();
        assert_eq!(
            printed.lock().len(),
            expected,
            "one handler call per update"
        );
    }
    assert_eq!(printed.lock().as_slice(), ["76.0", "77.0", "78.0", "79.0"]);
}

#[test]
fn a_bad_value_changes_nothing_and_produces_no_event() {
    let (mut system, _) = system(1);
    for source in [
        "cvar.set('r_fov', 'wide')",
        "cvar.set('r_fov', 500)",
        "cvar.set('r_fov', 'a\\0b')",
        "cvar.set('r_vsync', 'maybe')",
        "cvar.set('missing', 1)",
    ] {
        let out = run(&system, source);
        assert!(
            out.starts_with("ERROR: main:1: cvar.set: "),
            "{source}: {out}"
        );
        let outcome = run_on_worker(&mut system, source);
        assert!(
            outcome.to_string().contains("cvar.set: "),
            "worker {source}: {outcome}"
        );
    }
    assert_eq!(
        system.cvars().get_as_string("r_fov").as_deref(),
        Some("75.0")
    );
    assert_eq!(system.cvars().pending_len(), 0);
    let out = run(&system, "cvar.set('r_fov', 'a\\0b')");
    assert!(out.contains("NUL"), "{out}");
}

#[test]
fn worker_effects_apply_in_enqueue_order_whatever_order_they_finish() {
    for workers in [1, 2, 4] {
        let (mut system, printed) = system(workers);
        let handles: Vec<_> = (0..40)
            .map(|i| {
                // Earlier scripts work longer, so they tend to finish later.
                let spin = (40 - i) * 2000;
                let source = format!(
                    "local n = 0 for _ = 1, {spin} do n = n + 1 end print('job {i}') cvar.set('r_fov', {})",
                    40 + i
                );
                system.enqueue_script(&source, None).unwrap()
            })
            .collect();
        for handle in handles {
            handle.wait();
        }
        while system.jobs_in_flight() > 0 {
            system.update();
        }
        let expected: Vec<String> = (0..40).map(|i| format!("job {i}")).collect();
        assert_eq!(*printed.lock(), expected, "{workers} workers");
        let changes = system.cvars().take_pending_changes();
        let news: Vec<_> = changes.iter().map(|c| c.new.clone()).collect();
        let expected: Vec<String> = (40..80).map(|v| format!("{v}.0")).collect();
        assert_eq!(news, expected, "{workers} workers");
    }
}

#[test]
fn console_module_from_lua() {
    let (system, _) = system(1);
    assert_eq!(
        run(
            &system,
            "console.execute('set r_fov \"95\"; get r_fov // comment')"
        ),
        "OK"
    );
    assert_eq!(
        system.console().history().last().map(String::as_str),
        Some("r_fov = 95.0")
    );
    let out = run(
        &system,
        "local ok, err = pcall(console.execute, 'sett r_fov 3') return ok, err",
    );
    assert!(
        out.starts_with("false\tconsole.execute: unknown command 'sett'"),
        "{out}"
    );
    assert!(out.contains("did you mean: set"), "{out}");
    let out = run(&system, "return pcall(console.execute, 'set r_fov abc')");
    assert!(out.contains("expects a float"), "{out}");

    run(&system, "console.log('warn', 'low ammo')");
    assert_eq!(
        system.console().history().last().map(String::as_str),
        Some("[warn] low ammo")
    );
    let out = run(&system, "console.log('loud', 'x')");
    assert!(
        out.contains("must be one of debug, info, warn, error"),
        "{out}"
    );
}

#[test]
fn console_commands_registered_from_lua() {
    let (mut system, printed) = system(2);
    run(
        &system,
        "function Greet(who, punct) console.execute('echo hello ' .. who .. (punct or '')) end
         console.register('greet', 'Greet', 'greet <who>: says hello')",
    );
    system.console().execute("greet \"big bob\" !").unwrap();
    assert_eq!(
        system.console().history().last().map(String::as_str),
        Some("hello big bob!")
    );
    assert!(
        system
            .console()
            .commands()
            .iter()
            .any(|c| c.name == "greet" && c.help == "greet <who>: says hello")
    );

    // Registered from a worker: the script moves to the main thread.
    let mut handle = system
        .enqueue_script(
            "console.register('twice', function(x) print(x .. x) end)",
            None,
        )
        .unwrap();
    while handle.try_outcome().is_none() {
        system.update();
    }
    assert!(handle.wait().is_ok());
    system.console().execute("twice ab").unwrap();
    assert_eq!(printed.lock().as_slice(), ["abab"]);

    let out = run(&system, "console.register('set', function() end)");
    assert!(out.contains("built in"), "{out}");
    // A failing Lua command reports through the console error.
    run(
        &system,
        "console.register('boom', function() error('kaboom') end)",
    );
    let err = system.console().execute("boom").unwrap_err();
    assert!(err.to_string().contains("kaboom"), "{err}");
}

#[test]
fn worker_console_commands_are_checked_at_once_and_run_at_update() {
    let (mut system, _) = system(2);
    let out = system
        .enqueue_script("return pcall(console.execute, 'nosuchcmd')", None)
        .unwrap()
        .wait();
    assert!(
        out.to_string()
            .starts_with("false\tconsole.execute: unknown command"),
        "{out}"
    );
    let outcome = system
        .enqueue_script("console.execute('echo from worker')", None)
        .unwrap()
        .wait();
    assert!(outcome.is_ok());
    assert!(
        !system
            .console()
            .history()
            .contains(&"from worker".to_string())
    );
    system.update();
    assert_eq!(
        system.console().history().last().map(String::as_str),
        Some("from worker")
    );
}

#[test]
fn lua_and_exec_console_commands() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("setup.cfg"),
        "set r_fov 120 // wide\necho configured\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("boot.lua"), "cvar.set('r_vsync', false)").unwrap();
    let (mut system, _) = system_with(
        2,
        StateConfig {
            script_roots: vec![dir.path().to_path_buf()],
            ..StateConfig::default()
        },
    );
    system.console().execute("exec setup.cfg").unwrap();
    assert_eq!(
        system.cvars().get_as_string("r_fov").as_deref(),
        Some("120.0")
    );
    assert_eq!(
        system.console().history().last().map(String::as_str),
        Some("configured")
    );

    system
        .console()
        .execute("exec boot.lua; lua cvar.set('r_fov', 60); print('x')")
        .unwrap();
    while system.jobs_in_flight() > 0 {
        system.update();
    }
    assert_eq!(system.cvars().get_bool("r_vsync"), Some(false));
    assert_eq!(
        system.cvars().get_as_string("r_fov").as_deref(),
        Some("60.0")
    );
    let err = system.console().execute("exec ../outside.cfg").unwrap_err();
    assert!(
        err.to_string().contains("outside the script roots"),
        "{err}"
    );
}

#[test]
fn scripts_register_their_own_cvars() {
    let (mut system, _) = system(2);
    run(
        &system,
        "cvar.register('mod_speed', 2.5, 'Player speed', cvar.ARCHIVE)
         cvar.register('mod_lives', 3)
         cvar.register('mod_god', false, 'God mode', cvar.CHEAT)
         cvar.register('mod_name', 'bob')",
    );
    let info = system.cvars().info("mod_speed").unwrap();
    assert_eq!(
        (info.kind.name(), info.help.as_str()),
        ("float", "Player speed")
    );
    assert!(info.flags.contains(CVarFlags::ARCHIVE));
    assert_eq!(system.cvars().info("mod_lives").unwrap().kind.name(), "int");
    assert_eq!(
        system.cvars().info("mod_name").unwrap().kind.name(),
        "string"
    );
    assert!(run(&system, "cvar.set('mod_god', true)").contains("cheat-protected"));
    assert!(
        run(&system, "cvar.register('mod_lives', 'many')").contains("already registered as int")
    );
    assert!(run(&system, "cvar.register('bad name', 1)").contains("invalid name"));
    assert!(run(&system, "cvar.register('mod_x', 1, nil, 99)").contains("argument 4 (flags)"));

    // From a worker: visible to the script at once, to the engine after update.
    let outcome = system
        .enqueue_script("cvar.register('mod_fast', 1.0) cvar.set('mod_fast', 2) return cvar.get('mod_fast'), cvar.exists('mod_fast')", None)
        .unwrap()
        .wait();
    assert_eq!(outcome.to_string(), "2.0\ttrue");
    assert!(!system.cvars().contains("mod_fast"));
    system.update();
    assert_eq!(
        system.cvars().get_as_string("mod_fast").as_deref(),
        Some("2.0")
    );
}

#[test]
fn worker_prints_reach_the_sink_in_order_at_update() {
    let (mut system, printed) = system(2);
    let outcome = run_on_worker(&mut system, "print('a', 1, nil) print('b')");
    assert!(outcome.is_ok());
    assert_eq!(printed.lock().as_slice(), ["a\t1\tnil", "b"]);
}

#[test]
fn an_external_cvar_lua_action_calls_its_handler() {
    let (mut system, printed) = system(1);
    run(&system, "function OnX(n, o, v) print(n, o, v) end");
    system
        .queue()
        .try_push(Action::CVarLua {
            handler: "OnX".into(),
            name: "r_fov".into(),
            old: "".into(),
            new: "1".into(),
        })
        .unwrap();
    assert_eq!(system.update().handlers_called, 1);
    assert_eq!(printed.lock().as_slice(), ["r_fov\t\t1"]);
}

#[test]
fn handler_budgets_stop_runaway_handlers() {
    let (mut system, _) = system_with(
        1,
        StateConfig {
            limits: Limits {
                instructions: 100_000,
                ..Limits::default()
            },
            ..StateConfig::default()
        },
    );
    run(
        &system,
        "function Spin() while true do end end cvar.on_change('r_fov', 'Spin')",
    );
    system.console().execute("set r_fov 80").unwrap();
    let report = system.update();
    assert!(
        report.errors[0].to_string().contains("instruction budget"),
        "{:?}",
        report.errors
    );
    assert_eq!(run(&system, "return 'still fine'"), "still fine");
}

#[test]
fn dropping_the_system_cancels_scripts_waiting_for_the_main_thread() {
    let (system, _) = system(1);
    let handle = system
        .enqueue_script("function H() end cvar.on_change('r_fov', 'H')", None)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    drop(system);
    assert_eq!(handle.wait(), Outcome::Cancelled);
}

#[test]
fn main_globals_persist_and_call_handler_reaches_them() {
    let (system, _) = system(1);
    run(
        &system,
        "function Add(a, b) return tonumber(a) + tonumber(b) end",
    );
    let values = system.call_handler("Add", &["2", "3"]).unwrap();
    assert_eq!(values[0].to_string(), "5");
    let err = system.call_handler("Nope", &[]).unwrap_err();
    assert!(
        err.to_string().contains("handler 'Nope' not found"),
        "{err}"
    );
}

/// Replacing a handler lets go of the old one: a script that sets handlers
/// in a loop (or in every instance's on_start) does not grow the state.
#[test]
fn replaced_handlers_are_released() {
    let system = ScriptingSystem::new(ScriptingConfig {
        workers: 1,
        ..ScriptingConfig::default()
    })
    .unwrap();
    let churn = "for i = 1, 20000 do
                   cvar.on_change('sv_cheats', function() return i end)
                   console.register('churn', function() return i end)
                 end
                 collectgarbage()
                 collectgarbage()
                 return collectgarbage('count')";
    let first = system.execute(churn, "churn.lua");
    let second = system.execute(churn, "churn.lua");
    let kib = |o: &zephyr_runtime::Outcome| o.values()[0].to_string().parse::<f64>().unwrap();
    assert!(first.is_ok() && second.is_ok(), "{first} {second}");
    // 20,000 more closures kept would be megabytes; what is left is noise.
    assert!(
        kib(&second) < kib(&first) + 256.0,
        "{} KiB then {} KiB",
        kib(&first),
        kib(&second)
    );
    // The last handlers still work.
    assert!(system.console().execute("churn").is_ok());
}

#[test]
fn typed_getters_read_numbers_and_booleans_beside_the_text_of_cvar_get() {
    let (mut system, _) = system(2);
    run(
        &system,
        "cvar.register('mod_lives', 3) cvar.register('mod_name', 'bob')",
    );
    assert_eq!(
        run(
            &system,
            "return cvar.get_number('r_fov'), math.type(cvar.get_number('r_fov')),
                    cvar.get_number('mod_lives'), math.type(cvar.get_number('mod_lives')),
                    cvar.get_bool('r_vsync'), cvar.get('r_fov')"
        ),
        "75.0\tfloat\t3\tinteger\ttrue\t75.0"
    );
    let wrong = run(&system, "return cvar.get_number('mod_name')");
    assert!(
        wrong.contains("cvar.get_number: cvar 'mod_name' is of type string, not a number"),
        "{wrong}"
    );
    let wrong = run(&system, "return cvar.get_bool('r_fov')");
    assert!(
        wrong.contains("cvar.get_bool: cvar 'r_fov' is of type float, not a boolean"),
        "{wrong}"
    );
    assert!(run(&system, "return cvar.get_number('nope')").contains("nope"));
    assert!(run(&system, "return cvar.get_bool()").contains("argument 1 (name)"));

    // A worker reads its own pending writes and registrations, typed.
    let outcome = run_on_worker(
        &mut system,
        "cvar.set('r_fov', 100) cvar.set('r_vsync', false) cvar.register('mod_speed', 2.5)
         return cvar.get_number('r_fov'), cvar.get_bool('r_vsync'), cvar.get_number('mod_speed')",
    );
    assert_eq!(outcome.to_string(), "100.0\tfalse\t2.5");
    assert_eq!(
        run(
            &system,
            "return cvar.get_number('r_fov'), cvar.get_bool('r_vsync')"
        ),
        "100.0\tfalse"
    );
}
