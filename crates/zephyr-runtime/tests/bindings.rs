//! Errors the registry's type checks cannot catch: values of the right type
//! that the engine still refuses. Each names the function, on the main
//! thread and on workers. (Type errors are covered for every function by
//! `bad_input.rs`.)

use zephyr_runtime::cvar::CVarDef;
use zephyr_runtime::{ScriptErrorKind, ScriptingConfig, ScriptingSystem};

fn system(workers: usize) -> ScriptingSystem {
    ScriptingSystem::new(ScriptingConfig {
        workers,
        ..ScriptingConfig::default()
    })
    .unwrap()
}

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
    let mut system = system(2);
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
    let system = system(1);
    let out = system.execute("cvar.set('r_fov')", "m").to_string();
    assert_eq!(
        out.lines().next().unwrap(),
        "ERROR: m:1: cvar.set: argument 2 (value) must be a string, number or boolean, got nil"
    );
    let out = system.execute("cvar.set('r_fov', {})", "m").to_string();
    assert!(out.lines().next().unwrap().ends_with("got table"), "{out}");
}

/// Lua's own rule for number arguments, on both paths: a string that reads
/// as a number is that number (the typed per-entity accessors get it from
/// mlua's conversions, the general path applies it itself). A string that
/// does not read as a number stays an error (`bad_input.rs`).
#[test]
fn numeric_strings_are_numbers_on_the_typed_and_the_general_path() {
    let mut system = system(1);
    let script = "local e = zephyr.entity.create()
        local id = tostring(e)
        zephyr.transform.set_position(id, '1', '2.5', '0x10')  -- typed
        local x, y, z = zephyr.transform.get_position(id)      -- typed
        zephyr.transform.look_at(e, '1', '2.5', '-5')          -- general
        return x, y, z, zephyr.entity.exists(id),              -- general (entity)
            zephyr.input.is_mouse_button_down('0'),            -- general (integer)
            zephyr.math.lerp('2', 4, '0.5')                    -- general (number)";
    let expected = "1.0\t2.5\t16.0\ttrue\tfalse\t3.0";
    assert_eq!(system.execute(script, "m").to_string(), expected);
    let handle = system.enqueue_script(script, None).unwrap();
    assert_eq!(system.wait(handle).to_string(), expected);

    // A float string is not an entity id, on either path.
    for source in [
        "zephyr.transform.get_position('1.5')",
        "zephyr.entity.destroy('1.5')",
    ] {
        let out = system.execute(source, "m").to_string();
        assert!(
            out.contains(
                "argument 1 (entity) must be an entity id (a positive integer), got string"
            ),
            "{source}: {out}"
        );
    }
}

/// Entity ids are 64-bit hecs handles (generation << 32 | index). Once a
/// slot has been reused about two million times its ids pass 2^53, where an
/// f64 can no longer hold every integer: the typed path reads ids as i64, so
/// such an entity is still found, and its f64-rounded neighbour is not.
#[test]
fn entity_ids_keep_all_64_bits_through_the_typed_bindings() {
    use zephyr_runtime::world::{EntityId, World, WorldWrite};
    let mut system = system(1);
    let bits: i64 = (((1 << 21) + 1) << 32) | 1;
    assert_ne!(bits as f64 as i64, bits, "the id must not fit an f64");
    let id = EntityId::from_lua(bits).unwrap();
    {
        let mut world = system.world_mut::<World>().expect("Zephyr's world");
        let handle = id.entity().unwrap();
        world.ecs_mut().spawn_at(handle, ());
        world.spawn(id).unwrap();
    }
    let script = format!(
        "local e = {bits}
         zephyr.transform.set_position(e, 1, 2, 3)
         zephyr.transform.translate(e, 1, 0, 0)
         local x, y, z = zephyr.transform.get_position(e)
         return x, y, z, zephyr.entity.exists({rounded})",
        rounded = bits as f64 as i64,
    );
    assert_eq!(
        system.execute(&script, "m").to_string(),
        "2.0\t2.0\t3.0\tfalse"
    );
    system
        .world_mut::<World>()
        .expect("Zephyr's world")
        .transform_mut(id)
        .unwrap()
        .position = Default::default();
    let handle = system.enqueue_script(&script, None).unwrap();
    assert_eq!(system.wait(handle).to_string(), "2.0\t2.0\t3.0\tfalse");
    system.sync();
    assert_eq!(
        system
            .world()
            .read()
            .transform(id)
            .unwrap()
            .position
            .to_array(),
        [2.0, 2.0, 3.0],
        "the worker's writes land on the same entity"
    );
}
