//! Every `console` and `cvar` function refuses bad arguments with a Lua error
//! naming the function and the argument, on the main thread and on workers,
//! and never panics.

use zephyr_runtime::cvar::CVarDef;
use zephyr_runtime::{ScriptErrorKind, ScriptingConfig, ScriptingSystem};

/// (function, [bad argument lists, as Lua source], expected words).
const MATRIX: &[(&str, &[&str], &str)] = &[
    (
        "console.log",
        &["", "1, 'x'", "'loud', 'x'", "'info'"],
        "argument",
    ),
    (
        "console.execute",
        &["", "nil", "{}", "42"],
        "argument 1 (command)",
    ),
    (
        "console.register",
        &["", "1, 'H'", "'cmd', 42", "'cmd', nil", "'cmd', 'H', {}"],
        "argument",
    ),
    ("cvar.get", &["", "nil", "{}", "'no_such_cvar'"], "cvar.get"),
    ("cvar.exists", &["", "true"], "argument 1 (name)"),
    (
        "cvar.set",
        &[
            "",
            "'r_fov'",
            "'r_fov', {}",
            "'r_fov', print",
            "{}, 1",
            "'r_fov', 'abc'",
        ],
        "cvar.set",
    ),
    (
        "cvar.register",
        &[
            "",
            "'x'",
            "'x', {}",
            "'x', 1, 2",
            "'x', 1, 'h', 'archive'",
            "'x', 1, 'h', 1.5",
        ],
        "argument",
    ),
    (
        "cvar.on_change",
        &["", "'r_fov', 42", "'r_fov', {}", "42, 'H'"],
        "argument",
    ),
    ("cvar.get_lua_handler", &["", "7"], "argument 1 (name)"),
];

fn system() -> ScriptingSystem {
    let system = ScriptingSystem::new(ScriptingConfig {
        workers: 2,
        ..ScriptingConfig::default()
    })
    .unwrap();
    system
        .cvars()
        .register(CVarDef::new("r_fov", 75.0))
        .unwrap();
    system
}

#[test]
fn bad_arguments_raise_errors_naming_the_function() {
    let mut system = system();
    system.execute("function H() end", "setup");
    for (function, cases, words) in MATRIX {
        for args in *cases {
            let source = format!("{function}({args})");
            // Main thread.
            let outcome = system.execute(&source, "matrix.lua");
            let error = outcome
                .error()
                .unwrap_or_else(|| panic!("{source} on the main thread should fail"));
            assert_eq!(error.kind, ScriptErrorKind::Runtime, "{source}: {error}");
            assert!(
                error.message.starts_with("matrix.lua:1: "),
                "{source}: {error}"
            );
            assert!(error.message.contains(function), "{source}: {error}");
            assert!(error.message.contains(words), "{source}: {error}");
            // Worker thread (main-thread-only functions move to the main
            // thread and fail there, during update()).
            let mut handle = system.enqueue_script(&source, None).unwrap();
            let outcome = loop {
                system.update();
                if let Some(outcome) = handle.try_outcome() {
                    break outcome.clone();
                }
                std::thread::yield_now();
            };
            let error = outcome
                .error()
                .unwrap_or_else(|| panic!("{source} on a worker should fail: {outcome}"));
            assert!(error.message.contains(function), "worker {source}: {error}");
        }
    }
}

#[test]
fn missing_argument_says_no_value_and_wrong_type_says_the_type() {
    let system = system();
    let out = system.execute("cvar.set('r_fov')", "m").to_string();
    assert_eq!(
        out.lines().next().unwrap(),
        "ERROR: m:1: cvar.set: argument 2 (value) must be a string, number or boolean, got no value"
    );
    let out = system.execute("cvar.set('r_fov', {})", "m").to_string();
    assert!(out.ends_with("got table"), "{out}");
}
