//! Fuzzing without a fuzzer: property tests that feed every text format the
//! engine reads (console command lines, cvar values, scene TOML, input
//! replays, the action queue's message codecs, Lua values turned into
//! components) with random and half-valid input, and require no panic and
//! the formats' own invariants.
//!
//! Each target runs twice: a smoke run of a few thousand cases in every
//! `cargo test`, and an `#[ignore]`d long run of `ZEPHYR_FUZZ_CASES` cases
//! (default 10,000,000) on demand:
//!
//! ```text
//! cargo test --release --test fuzz -- --ignored --test-threads 1
//! ```
//!
//! FUZZING.md has the figures of the last long run.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use zephyr_cli::{Replay, Scene};
use zephyr_cvar::{CVarDef, CVarKind, CVarRegistry, CVarValue, Console};
use zephyr_runtime::{
    ScriptingConfig, ScriptingSystem, decode_cvar_lua, decode_script_result, encode_cvar_lua,
    encode_script_result_message,
};

/// Cases of a long run: `ZEPHYR_FUZZ_CASES`, default ten million.
fn long_cases() -> u32 {
    std::env::var("ZEPHYR_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000)
}

const SMOKE: u32 = 2_000;

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Text built from `tokens` (the format's own words and separators) mixed
/// with arbitrary characters: half-valid input reaches deeper than noise.
fn text_from(tokens: &'static [&'static str]) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(tokens).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
        1 => "[ -~]{0,6}",
    ];
    prop_oneof![
        4 => prop::collection::vec(piece, 0..24).prop_map(|p| p.concat()),
        1 => any::<String>(),
    ]
}

// Console command lines ---------------------------------------------------------

const CONSOLE_WORDS: &[&str] = &[
    "set",
    "reset",
    "toggle",
    "echo",
    "help",
    "cvarlist",
    "get",
    "lua",
    "r_fov",
    "r_vsync",
    "name",
    "sv_cheats",
    "90",
    "true",
    "-1e308",
    "nan",
    "\"",
    "\\\"",
    "\\",
    ";",
    "\n",
    " ",
    "//",
    "\t",
    "block",
    "{",
    "}",
    "é",
    "\0",
];

fn console_grammar(cases: u32) {
    let cvars = Arc::new(CVarRegistry::new());
    cvars
        .register(CVarDef::new("r_fov", 75.0).range(30.0, 120.0))
        .unwrap();
    cvars.register(CVarDef::new("r_vsync", true)).unwrap();
    cvars.register(CVarDef::new("name", "player")).unwrap();
    let console = Console::new(cvars.clone());
    console
        .register_multiline_command(
            "block",
            "block <text>",
            |t| t.matches('{').count() > t.matches('}').count(),
            |_, _| Ok(()),
        )
        .unwrap();
    runner(cases)
        .run(&text_from(CONSOLE_WORDS), |line| {
            // Parsing and running never panic, and a line that parses
            // parses the same again.
            if let Ok(first) = console.parse(&line) {
                prop_assert_eq!(console.parse(&line).ok(), Some(first));
            }
            let _ = console.check(&line);
            let _ = console.execute(&line);
            // Whatever ran, the cvars hold values of their types.
            let fov = cvars.get_f64("r_fov").unwrap();
            prop_assert!((30.0..=120.0).contains(&fov), "r_fov = {fov}");
            Ok(())
        })
        .unwrap();
}

#[test]
fn console_grammar_smoke() {
    console_grammar(SMOKE);
}

#[test]
#[ignore = "long: run with --ignored (FUZZING.md)"]
fn console_grammar_fuzz() {
    console_grammar(long_cases());
}

// Cvar values -------------------------------------------------------------------

const VALUE_WORDS: &[&str] = &[
    "0",
    "1",
    "-",
    "+",
    ".",
    "e",
    "E",
    "inf",
    "nan",
    "0x",
    "1e309",
    "true",
    "false",
    "yes",
    "on",
    " ",
    "9223372036854775807",
    "9223372036854775808",
    "_",
    "é",
];

fn cvar_values(cases: u32) {
    let kinds = [
        CVarKind::Bool,
        CVarKind::Int,
        CVarKind::Float,
        CVarKind::String,
    ];
    runner(cases)
        .run(&(text_from(VALUE_WORDS), 0..4usize), |(text, k)| {
            // A value that parses prints as text that parses to itself.
            if let Ok(value) = CVarValue::parse("v", kinds[k], &text) {
                let again = CVarValue::parse("v", kinds[k], &value.to_string());
                prop_assert_eq!(again.ok(), Some(value));
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn cvar_values_smoke() {
    cvar_values(SMOKE);
}

#[test]
#[ignore = "long: run with --ignored (FUZZING.md)"]
fn cvar_values_fuzz() {
    cvar_values(long_cases());
}

// Scene TOML --------------------------------------------------------------------

const SCENE_WORDS: &[&str] = &[
    "name = \"s\"\n",
    "[[entities]]\n",
    "[cvars]\n",
    "name",
    "position",
    "rotation",
    "scale",
    "light",
    "particles",
    "body",
    "parallel",
    "script",
    "color",
    "mass",
    "velocity",
    "rate",
    "intensity",
    "range",
    "active",
    " = ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "1",
    "-2.5",
    "1e308",
    "nan",
    "inf",
    "true",
    "\"x\"",
    "\n",
    "phys_gravity",
    "=",
    "\"",
    "#",
    "[prefabs.B]\n",
    "prefab",
    "tags",
    "\"B\"",
];

fn scene_toml(cases: u32) {
    let path = std::path::Path::new("fuzz.toml");
    runner(cases)
        .run(&text_from(SCENE_WORDS), |text| {
            if let Ok(scene) = Scene::parse(path, &text) {
                // A scene that loads spawns, or says why not.
                let mut world = zephyr_world::World::new("fuzz");
                let _ = scene.spawn(&mut world);
                let _ = scene.cvars();
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn scene_toml_smoke() {
    scene_toml(SMOKE);
}

#[test]
#[ignore = "long: run with --ignored (FUZZING.md)"]
fn scene_toml_fuzz() {
    scene_toml(long_cases());
}

// Input replays -----------------------------------------------------------------

const INPUT_WORDS: &[&str] = &[
    "1 ",
    "0 ",
    "60 ",
    "18446744073709551615 ",
    "key_down ",
    "key_up ",
    "mouse_move ",
    "button_down ",
    "button_up ",
    "W",
    "Space",
    "Escape",
    "F12",
    "0",
    "3",
    "-1",
    "1e400",
    "nan",
    "\n",
    "#",
    " ",
    "\t",
];

fn input_replays(cases: u32) {
    runner(cases)
        .run(&text_from(INPUT_WORDS), |text| {
            if let Ok(replay) = Replay::parse(&text) {
                let mut input = zephyr_world::Input::default();
                for frame in 0..4 {
                    for event in replay.frame(frame) {
                        event.apply(&mut input);
                    }
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn input_replays_smoke() {
    input_replays(SMOKE);
}

#[test]
#[ignore = "long: run with --ignored (FUZZING.md)"]
fn input_replays_fuzz() {
    input_replays(long_cases());
}

// Message codecs ----------------------------------------------------------------

const CODEC_WORDS: &[&str] = &[
    "CVAR_LUA",
    "SCRIPT_RESULT",
    ":",
    "|",
    "\\",
    "\\|",
    "\\\\",
    "\\n",
    "ok",
    "error",
    "h",
    "r_fov",
    "1",
    "2",
    "\n",
    "\0",
];

fn message_codecs(cases: u32) {
    let fields = || "[a-z_]{1,8}".prop_map(String::from);
    runner(cases)
        .run(
            &(
                text_from(CODEC_WORDS),
                fields(),
                fields(),
                text_from(CODEC_WORDS),
                text_from(CODEC_WORDS),
            ),
            |(noise, handler, name, old, new)| {
                // Any text decodes or is refused, without a panic.
                let _ = decode_cvar_lua(&noise);
                let decoded = decode_script_result(&noise);
                // A decoded result re-encodes to text that decodes the same.
                let again = decode_script_result(&encode_script_result_message(&decoded));
                prop_assert_eq!(again, decoded);
                // Every encodable message decodes to its fields.
                if let Ok(message) = encode_cvar_lua(&handler, &name, &old, &new) {
                    let back = decode_cvar_lua(&message).expect("an encoded message decodes");
                    prop_assert_eq!(
                        (
                            back.handler.as_str(),
                            back.name.as_str(),
                            back.old.as_str(),
                            back.new.as_str()
                        ),
                        (handler.as_str(), name.as_str(), old.as_str(), new.as_str())
                    );
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn message_codecs_smoke() {
    message_codecs(SMOKE);
}

#[test]
#[ignore = "long: run with --ignored (FUZZING.md)"]
fn message_codecs_fuzz() {
    message_codecs(long_cases());
}

// Lua values as components ------------------------------------------------------

/// A Lua expression: numbers (odd ones too), strings, booleans, nil, and
/// tables of these, named or numbered, nested.
fn lua_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop::sample::select(
            &[
                "0",
                "1",
                "-1",
                "0.5",
                "1e308",
                "-1e308",
                "0/0",
                "1/0",
                "-1/0",
                "math.maxinteger",
                "math.mininteger",
                "true",
                "false",
                "nil",
                "'x'",
                "''",
                "'1'",
            ][..]
        )
        .prop_map(str::to_owned),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        any::<i64>().prop_map(|i| format!("{i}")),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        let key = prop::sample::select(
            &[
                "x",
                "y",
                "z",
                "w",
                "r",
                "g",
                "b",
                "position",
                "rotation",
                "scale",
                "color",
                "intensity",
                "range",
                "rate",
                "active",
                "mass",
                "velocity",
                "[1]",
                "[2]",
                "[3]",
                "[4]",
                "[0]",
                "[1.5]",
                "['']",
                "prefab",
                "name",
                "tags",
                "light",
                "particles",
                "body",
                "parallel",
                "script",
            ][..],
        );
        prop::collection::vec((prop::option::of(key), inner), 0..6).prop_map(|fields| {
            let body: Vec<String> = fields
                .into_iter()
                .map(|(k, v)| match k {
                    Some(k) => format!("{k} = {v}"),
                    None => v,
                })
                .collect();
            format!("{{{}}}", body.join(", "))
        })
    })
}

fn lua_components(cases: u32) {
    let system = ScriptingSystem::new(ScriptingConfig {
        workers: 1,
        ..ScriptingConfig::default()
    })
    .unwrap();
    let kinds = [
        "Transform",
        "PointLight",
        "ParticleEmitter",
        "RigidBody",
        "Health",
        "'nope'",
    ];
    runner(cases)
        .run(&(lua_value(), 0..kinds.len()), |(value, k)| {
            let kind = kinds[k].trim_matches('\'');
            let source = format!(
                "local e = ecs.createEntity()
                 local ok, err = pcall(ecs.addComponent, e, '{kind}', {value})
                 if ok then local _ = ecs.getComponent(e, '{kind}') end
                 zephyr.entity.destroy(e)
                 return ok or type(err) == 'string'"
            );
            let outcome = system.execute(&source, "fuzz");
            // A refusal is a clear error, never a crash or a Rust panic.
            prop_assert!(
                matches!(outcome.values(), [v] if v.to_string() == "true"),
                "{kind} {value}: {outcome}"
            );
            Ok(())
        })
        .unwrap();
}

/// `zephyr.entity.spawn` and the queries with random tables and values:
/// an entity or a clear error, never a panic.
fn lua_spawns(cases: u32) {
    let system = ScriptingSystem::new(ScriptingConfig {
        workers: 1,
        ..ScriptingConfig::default()
    })
    .unwrap();
    system
        .add_prefab(
            "B",
            zephyr_runtime::prefab::EntityTemplate {
                tags: Some(vec!["b".into()]),
                ..Default::default()
            },
        )
        .unwrap();
    let calls = [
        "zephyr.entity.spawn(V)",
        "zephyr.entity.spawn('B', V, V, V)",
        "zephyr.entity.within(V, V, V, V, V)",
        "zephyr.entity.find_all(V)",
        "zephyr.entity.add_tag(zephyr.entity.create(), V)",
    ];
    runner(cases)
        .run(
            &(lua_value(), lua_value(), 0..calls.len()),
            |(value, other, k)| {
                let call = calls[k].replacen('V', &value, 1).replace('V', &other);
                let source = format!(
                    "local ok, err = pcall(function() return {call} end)
                     return ok or (type(err) == 'string' and err:find('zephyr.entity.', 1, true) ~= nil)"
                );
                let outcome = system.execute(&source, "fuzz");
                prop_assert!(
                    matches!(outcome.values(), [v] if v.to_string() == "true"),
                    "{call}: {outcome}"
                );
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn lua_spawns_smoke() {
    lua_spawns(SMOKE);
}

#[test]
#[ignore = "long: run with --ignored (FUZZING.md)"]
fn lua_spawns_fuzz() {
    lua_spawns(long_cases());
}

#[test]
fn lua_components_smoke() {
    lua_components(SMOKE);
}

#[test]
#[ignore = "long: run with --ignored (FUZZING.md)"]
fn lua_components_fuzz() {
    lua_components(long_cases());
}
