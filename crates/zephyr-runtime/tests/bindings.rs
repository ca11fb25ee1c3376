//! Errors the registry's type checks cannot catch: values of the right type
//! that the engine still refuses. Each names the function, on the main
//! thread and on workers. (Type errors are covered for every function by
//! `bad_input.rs`.)

use zephyr_runtime::cvar::CVarDef;
use zephyr_runtime::{ScriptErrorKind, ScriptingConfig, ScriptingSystem};

/// (source, words the error must contain).
const SEMANTIC: &[(&str, &str)] = &[
    (
        "console.log('loud', 'x')",
        "console.log: argument 1 (level) must be one of debug, info, warn, error, got 'loud'",
    ),
    (
        "console.execute('no_such_command')",
        "console.execute: unknown command 'no_such_command'",
    ),
    (
        "console.execute('set r_fov \"unterminated')",
        "console.execute: parse error",
    ),
    (
        "cvar.get('no_such_cvar')",
        "cvar.get: unknown cvar 'no_such_cvar'",
    ),
    (
        "cvar.set('r_fov', 'abc')",
        "cvar.set: cvar 'r_fov' expects a float, got 'abc'",
    ),
    (
        "cvar.set('r_fov', 'a\\0b')",
        "cvar.set: value for 'r_fov' contains a NUL byte",
    ),
    (
        "cvar.register('bad name', 1)",
        "cvar.register: invalid name 'bad name'",
    ),
    (
        "cvar.register('x', 1, 'h', 64)",
        "cvar.register: argument 4 (flags) must combine cvar.ARCHIVE",
    ),
    (
        "cvar.register('r_fov', 'wide')",
        "cvar.register: cvar 'r_fov' is already registered as float",
    ),
    (
        "zephyr.math.clamp(1, 2, 0)",
        "zephyr.math.clamp: min (2) is greater than max (0)",
    ),
    (
        "zephyr.input.is_mouse_button_down(9)",
        "zephyr.input.is_mouse_button_down: mouse button 9 does not exist",
    ),
];

#[test]
fn semantic_refusals_name_the_function_on_main_and_workers() {
    let mut system = ScriptingSystem::new(ScriptingConfig {
        workers: 2,
        ..ScriptingConfig::default()
    })
    .unwrap();
    system
        .cvars()
        .register(CVarDef::new("r_fov", 75.0))
        .unwrap();
    for (source, words) in SEMANTIC {
        let outcome = system.execute(source, "m.lua");
        let error = outcome
            .error()
            .unwrap_or_else(|| panic!("{source} should fail"));
        assert_eq!(error.kind, ScriptErrorKind::Runtime);
        assert!(
            error.message.starts_with("m.lua:1: "),
            "{source}: {}",
            error.message
        );
        assert!(error.message.contains(words), "{source}: {}", error.message);

        let handle = system.enqueue_script(source, None).unwrap();
        let outcome = system.wait(handle);
        let error = outcome
            .error()
            .unwrap_or_else(|| panic!("worker {source} should fail"));
        assert!(
            error.message.contains(words),
            "worker {source}: {}",
            error.message
        );
    }
}

#[test]
fn missing_argument_says_nil_and_wrong_type_says_the_type() {
    let system = ScriptingSystem::new(ScriptingConfig {
        workers: 1,
        ..ScriptingConfig::default()
    })
    .unwrap();
    let out = system.execute("cvar.set('r_fov')", "m").to_string();
    assert_eq!(
        out.lines().next().unwrap(),
        "ERROR: m:1: cvar.set: argument 2 (value) must be a string, number or boolean, got nil"
    );
    let out = system.execute("cvar.set('r_fov', {})", "m").to_string();
    assert!(out.lines().next().unwrap().ends_with("got table"), "{out}");
}
