//! The game API: every function of the reference, its return conventions,
//! the reference's own snippets, and worker-thread semantics.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use zephyr_runtime::world::glam::DVec2;
use zephyr_runtime::world::{Key, World, WorldRead};
use zephyr_runtime::{Limits, Outcome, ScriptingConfig, ScriptingSystem, StateConfig};

type Lines = Arc<Mutex<Vec<String>>>;

fn system_with(workers: usize, budget: u64) -> (ScriptingSystem, Lines) {
    let printed: Lines = Arc::default();
    let sink = printed.clone();
    let system = ScriptingSystem::new(ScriptingConfig {
        workers,
        state: StateConfig {
            limits: Limits {
                instructions: budget,
                ..Limits::default()
            },
            ..StateConfig::default()
        },
        print: Some(zephyr_runtime::api::line_sink(move |line: &[u8]| {
            sink.lock().push(String::from_utf8_lossy(line).into_owned())
        })),
        ..ScriptingConfig::default()
    })
    .unwrap();
    (system, printed)
}

fn system(workers: usize) -> ScriptingSystem {
    system_with(workers, zephyr_runtime::DEFAULT_INSTRUCTION_BUDGET).0
}

fn run(system: &ScriptingSystem, source: &str) -> String {
    system.execute(source, "main").to_string()
}

fn settle(system: &mut ScriptingSystem) {
    while system.jobs_in_flight() > 0 {
        system.update();
    }
}

const REFERENCE_FUNCTIONS: &[&str] = &[
    "zephyr.entity.create",
    "zephyr.entity.destroy",
    "zephyr.entity.exists",
    "zephyr.entity.find",
    "zephyr.entity.get_name",
    "zephyr.entity.set_name",
    "zephyr.transform.get_position",
    "zephyr.transform.set_position",
    "zephyr.transform.get_rotation",
    "zephyr.transform.set_rotation",
    "zephyr.transform.get_scale",
    "zephyr.transform.set_scale",
    "zephyr.transform.translate",
    "zephyr.transform.rotate",
    "zephyr.transform.look_at",
    "zephyr.transform.forward",
    "zephyr.transform.right",
    "zephyr.transform.up",
    "zephyr.input.is_key_down",
    "zephyr.input.is_mouse_button_down",
    "zephyr.input.get_mouse_position",
    "zephyr.time.delta",
    "zephyr.time.elapsed",
    "zephyr.time.frame",
    "zephyr.light.get_color",
    "zephyr.light.set_color",
    "zephyr.light.get_intensity",
    "zephyr.light.set_intensity",
    "zephyr.light.get_range",
    "zephyr.light.set_range",
    "zephyr.particles.set_rate",
    "zephyr.particles.set_color",
    "zephyr.particles.set_active",
    "zephyr.particles.get_rate",
    "zephyr.particles.get_color",
    "zephyr.particles.get_active",
    "zephyr.physics.get_velocity",
    "zephyr.physics.set_velocity",
    "zephyr.physics.add_force",
    "zephyr.physics.add_impulse",
    "zephyr.math.vec3",
    "zephyr.math.distance",
    "zephyr.math.lerp",
    "zephyr.math.clamp",
    "zephyr.math.normalize",
    "zephyr.math.dot",
    "zephyr.math.cross",
    "zephyr.scene.get_name",
    "ecs.createEntity",
    "ecs.addComponent",
    "ecs.getComponent",
    "input.isKeyPressed",
    "input.getMousePos",
    "console.log",
    "console.execute",
    "cvar.set",
    "cvar.get",
    "cvar.on_change",
    "cvar.get_lua_handler",
];

#[test]
fn every_reference_function_exists() {
    let system = system(1);
    for path in REFERENCE_FUNCTIONS {
        assert_eq!(
            run(&system, &format!("return type({path})")),
            "function",
            "{path}"
        );
    }
    let keys = "return Key.A, Key.Z, Key.Space, Key.Escape, Key.Enter, Key.Left, Key.Right, Key.Up, Key.Down, Key.LeftShift, Key.LeftControl, Key.Tab";
    assert_eq!(
        run(&system, keys),
        "A\tZ\tSpace\tEscape\tEnter\tLeft\tRight\tUp\tDown\tLeftShift\tLeftControl\tTab"
    );
}

#[test]
fn return_conventions() {
    let system = system(1);
    let out = run(
        &system,
        "local e = zephyr.entity.create()
         zephyr.transform.set_position(e, 1, 2, 3)
         local n1 = select('#', zephyr.transform.get_position(e))
         local n2 = select('#', zephyr.transform.get_rotation(e))
         local n3 = select('#', zephyr.input.get_mouse_position())
         local found = zephyr.entity.find('Nobody')
         zephyr.entity.set_name(e, 'Player')
         local same = zephyr.entity.find('Player') == e
         local name = zephyr.entity.get_name(e)
         zephyr.entity.destroy(e)
         return n1, n2, n3, found, same, name, zephyr.entity.exists(e), zephyr.entity.get_name(e), zephyr.entity.find('Player')",
    );
    assert_eq!(out, "3\t3\t2\tnil\ttrue\tPlayer\tfalse\tnil\tnil");
    let out = run(
        &system,
        "return select('#', zephyr.entity.find('x')), math.type(zephyr.time.frame())",
    );
    assert_eq!(out, "1\tinteger");
}

#[test]
fn missing_entities_and_components_are_named() {
    let system = system(1);
    let out = run(
        &system,
        "local e = zephyr.entity.create() zephyr.entity.destroy(e) zephyr.transform.set_position(e, 1, 2, 3)",
    );
    assert!(
        out.starts_with("ERROR: main:1: zephyr.transform.set_position: entity "),
        "{out}"
    );
    assert!(out.contains(" does not exist"), "{out}");
    let out = run(&system, "zephyr.transform.set_position(42, 1, 2, 3)");
    assert!(
        out.starts_with("ERROR: main:1: zephyr.transform.set_position: entity 42 does not exist"),
        "{out}"
    );
    let out = run(
        &system,
        "local e = zephyr.entity.create() zephyr.light.set_intensity(e, 2)",
    );
    assert!(
        out.contains("zephyr.light.set_intensity: entity ")
            && out.contains(" has no PointLight component"),
        "{out}"
    );
    let out = run(
        &system,
        "local e = zephyr.entity.create() return zephyr.physics.get_velocity(e)",
    );
    assert!(out.contains("has no RigidBody component"), "{out}");
    let out = run(
        &system,
        "local e = zephyr.entity.create() zephyr.particles.set_active(e, true)",
    );
    assert!(out.contains("has no ParticleEmitter component"), "{out}");
    let out = run(
        &system,
        "local e = zephyr.entity.create() zephyr.transform.set_position(e, 0/0, 0, 0)",
    );
    assert!(
        out.contains("argument 2 (x) must be a finite number, got "),
        "{out}"
    );
}

#[test]
fn the_reference_snippets_run_on_the_main_thread() {
    let (system, printed) = system_with(1, 0);
    system.world().write().input_mut().set_key(Key::W, true);
    system.world().write().input_mut().set_key(Key::Space, true);
    system.advance_frame(0.5);
    let out = run(
        &system,
        r#"
        -- Movement
        local player = zephyr.entity.create()
        zephyr.entity.set_name(player, "Player")
        local speed, dt = 5.0, zephyr.time.delta()
        if zephyr.input.is_key_down(Key.W) then
            local fx, fy, fz = zephyr.transform.forward(player)
            zephyr.transform.translate(player, fx * speed * dt, fy * speed * dt, fz * speed * dt)
        end
        local px, py, pz = zephyr.transform.get_position(player)

        -- Look at, then look at keeping roll
        local aircraft = zephyr.entity.create()
        zephyr.transform.set_rotation(aircraft, 0, 0, 0.5)
        zephyr.transform.look_at(aircraft, 10, 0, 0, true)
        local _, _, kept_roll = zephyr.transform.get_rotation(aircraft)
        zephyr.transform.look_at(player, 0, 0, 10)
        local _, _, reset_roll = zephyr.transform.get_rotation(player)
        local fx, fy, fz = zephyr.transform.forward(player)

        -- Dynamic lighting
        local torch = zephyr.entity.create()
        ecs.addComponent(torch, "PointLight", { color = {r = 1, g = 0.5, b = 0} })
        local t = zephyr.time.elapsed()
        zephyr.light.set_intensity(torch, 0.8 + math.sin(t * 10) * 0.2)
        zephyr.light.set_color(torch, 1.0, 0.5 + math.sin(t) * 0.5, 0.0)

        -- Particles on impact
        local sparks = zephyr.entity.create()
        ecs.addComponent(sparks, "ParticleEmitter", { active = false })
        zephyr.particles.set_active(sparks, true)
        zephyr.particles.set_rate(sparks, 100)
        zephyr.particles.set_color(sparks, 1.0, 0.8, 0.2)

        -- Jump
        ecs.addComponent(player, "RigidBody", { mass = 2 })
        if zephyr.input.is_key_down(Key.Space) then
            zephyr.physics.add_impulse(player, 0, 10, 0)
        end
        local vx, vy, vz = zephyr.physics.get_velocity(player)

        print(string.format("pos %.3f %.3f %.3f", px, py, pz))
        print(string.format("roll kept %.3f reset %.3f forward %.3f %.3f %.3f", kept_roll, reset_roll, fx, fy, fz))
        print(string.format("light %.3f rate %d active %s vel %.1f", zephyr.light.get_intensity(torch),
            zephyr.particles.get_rate(sparks), tostring(zephyr.particles.get_active(sparks)), vy))
        print(zephyr.scene.get_name())
        "#,
    );
    assert_eq!(out, "OK");
    assert_eq!(
        printed.lock().as_slice(),
        [
            "pos 0.000 0.000 -2.500",
            "roll kept 0.500 reset 0.000 forward 0.000 0.000 1.000",
            "light 0.608 rate 100 active true vel 5.0",
            "untitled",
        ]
    );
}

#[test]
fn reference_snippets_print_the_expected_values() {
    let (system, printed) = system_with(1, 0);
    system.world().write().input_mut().set_key(Key::W, true);
    system
        .world_mut::<World>()
        .expect("Zephyr's world")
        .set_scene_name("arena");
    system.advance_frame(0.5);
    let out = run(
        &system,
        r#"
        local player = zephyr.entity.create()
        local fx, fy, fz = zephyr.transform.forward(player)
        zephyr.transform.translate(player, fx * 5 * zephyr.time.delta(), 0, fz * 5 * zephyr.time.delta())
        print(zephyr.transform.get_position(player))
        local plane = zephyr.entity.create()
        zephyr.transform.set_rotation(plane, 0, 0, 0.5)
        zephyr.transform.look_at(plane, 10, 0, 0, true)
        print(string.format("%.6f", select(3, zephyr.transform.get_rotation(plane))))
        zephyr.transform.look_at(plane, 0, 0, -10)
        print(string.format("%.6f", select(3, zephyr.transform.get_rotation(plane))))
        print(zephyr.scene.get_name(), zephyr.time.frame(), zephyr.time.elapsed())
        "#,
    );
    assert_eq!(out, "OK");
    assert_eq!(
        printed.lock().as_slice(),
        ["0.0\t0.0\t-2.5", "0.500000", "0.000000", "arena\t1\t0.5"]
    );
}

#[test]
fn a_worker_move_changes_nothing_until_update_then_applies_exactly_once() {
    let mut system = system(2);
    let e = run(&system, "player = zephyr.entity.create() return player");
    let outcome = system
        .enqueue_script(
            &format!("zephyr.transform.translate({e}, 1, 0, 0) zephyr.transform.translate({e}, 0, 2, 0) return zephyr.transform.get_position({e})"),
            None,
        )
        .unwrap()
        .wait();
    assert_eq!(
        outcome.to_string(),
        "1.0\t2.0\t0.0",
        "the worker reads its own writes"
    );
    assert_eq!(
        run(&system, "return zephyr.transform.get_position(player)"),
        "0.0\t0.0\t0.0"
    );
    let report = system.update();
    assert_eq!(report.commands_applied, 2);
    assert_eq!(
        run(&system, "return zephyr.transform.get_position(player)"),
        "1.0\t2.0\t0.0"
    );
    system.update();
    assert_eq!(
        run(&system, "return zephyr.transform.get_position(player)"),
        "1.0\t2.0\t0.0"
    );
}

#[test]
fn worker_created_entities_have_ids_at_once() {
    let mut system = system(2);
    let outcome = system
        .enqueue_script(
            "local e = ecs.createEntity()
             zephyr.entity.set_name(e, 'Spawned')
             ecs.addComponent(e, 'Health', { hp = 10, tags = { 'a', 'b' } })
             zephyr.transform.set_position(e, 4, 5, 6)
             return e, zephyr.entity.find('Spawned') == e, zephyr.entity.exists(e), ecs.getComponent(e, 'Health').hp",
            None,
        )
        .unwrap()
        .wait();
    let values = outcome.values().to_vec();
    let id = values[0].to_string();
    assert_eq!(outcome.to_string(), format!("{id}\ttrue\ttrue\t10"));
    assert_eq!(
        run(&system, &format!("return zephyr.entity.exists({id})")),
        "false"
    );
    system.update();
    assert_eq!(
        run(
            &system,
            &format!(
                "return zephyr.entity.find('Spawned') == {id}, zephyr.transform.get_position({id})"
            )
        ),
        "true\t4.0\t5.0\t6.0"
    );
    assert_eq!(
        run(
            &system,
            &format!("return ecs.getComponent({id}, 'Health').tags[2]")
        ),
        "b"
    );
}

#[test]
fn worker_reads_see_the_world_as_enqueued() {
    let mut system = system(1);
    let e = run(&system, "box = zephyr.entity.create() return box");
    let handle = system
        .enqueue_script(&format!("return zephyr.transform.get_position({e})"), None)
        .unwrap();
    // A main-thread change after the enqueue is not seen by that script.
    run(&system, "zephyr.transform.set_position(box, 9, 9, 9)");
    assert_eq!(handle.wait().to_string(), "0.0\t0.0\t0.0");
    let later = system
        .enqueue_script(&format!("return zephyr.transform.get_position({e})"), None)
        .unwrap();
    assert_eq!(later.wait().to_string(), "9.0\t9.0\t9.0");
    settle(&mut system);
}

/// A canonical dump: entities in creation order, ids left out (hecs may
/// hand out different ids when workers reserve them in another order).
fn dump(system: &ScriptingSystem) -> String {
    let snapshot = system
        .world_ref::<World>()
        .expect("Zephyr's world")
        .snapshot();
    snapshot
        .records()
        .iter()
        .map(|(_, r)| {
            format!(
                "{:?} {:?} {:?} {:?} {:?} {:?}\n",
                r.name, r.transform, r.light, r.emitter, r.body, r.data
            )
        })
        .collect()
}

fn batch_script(i: usize) -> String {
    format!(
        "local hub = zephyr.entity.find('Hub')
         local x, y, z = zephyr.transform.get_position(hub)
         zephyr.transform.translate(hub, {i}, 1, 0)
         zephyr.physics.add_impulse(hub, 0, 0, {i})
         local n = 0 for k = 1, {spin} do n = n + k end
         local e = zephyr.entity.create()
         zephyr.entity.set_name(e, 'child{i}')
         zephyr.transform.set_position(e, x, y, z)
         zephyr.transform.look_at(e, {i}, 1, -5)
         ecs.addComponent(e, 'Order', {{ index = {i}, seen_x = x }})
         cvar.set('r_counter', {i})
         if {i} % 5 == 0 then zephyr.entity.destroy(e) end",
        spin = (24 - i) * 500
    )
}

fn fresh_world(workers: usize) -> ScriptingSystem {
    let system = system(workers);
    system
        .cvars()
        .register(zephyr_runtime::cvar::CVarDef::new("r_counter", 0))
        .unwrap();
    run(
        &system,
        "local hub = zephyr.entity.create() zephyr.entity.set_name(hub, 'Hub') ecs.addComponent(hub, 'RigidBody', {})",
    );
    system
}

fn assert_same(reference: &mut Option<String>, state: String, workers: usize) {
    match reference {
        None => *reference = Some(state),
        Some(expected) => assert_eq!(&state, expected, "{workers} workers"),
    }
}

#[test]
fn the_same_batch_ends_in_the_same_world_with_1_2_and_4_workers() {
    let mut reference = None;
    for workers in [1, 2, 4] {
        for _ in 0..8 {
            let mut system = fresh_world(workers);
            let handles: Vec<_> = (0..24)
                .map(|i| system.enqueue_script(&batch_script(i), None).unwrap())
                .collect();
            // Frames go by while the scripts run; each update() applies
            // whatever prefix of the batch has finished.
            while system.jobs_in_flight() > 0 {
                system.update();
                std::thread::yield_now();
            }
            drop(handles);
            let state = format!(
                "{}counter={:?}",
                dump(&system),
                system.cvars().get_as_string("r_counter")
            );
            assert_same(&mut reference, state, workers);
        }
    }
}

#[test]
fn frames_ending_in_sync_are_reproducible_with_main_thread_writes_between() {
    let mut reference = None;
    for workers in [1, 2, 4] {
        for _ in 0..4 {
            let mut system = fresh_world(workers);
            for frame in 0..6 {
                run(
                    &system,
                    &format!(
                        "zephyr.transform.translate(zephyr.entity.find('Hub'), 0, 0, {frame})"
                    ),
                );
                for i in 0..4 {
                    let _ = system
                        .enqueue_script(&batch_script(frame * 4 + i), None)
                        .unwrap();
                }
                system.sync();
            }
            assert_same(&mut reference, dump(&system), workers);
        }
    }
}

#[test]
fn a_long_worker_script_never_blocks_the_main_thread() {
    let (mut system, _) = system_with(1, 0);
    run(&system, "player = zephyr.entity.create()");
    let mut handle = system
        .enqueue_script("local n = 0 for i = 1, 1e8 do n = n + i end return n", None)
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    for frame in 0..20 {
        run(
            &system,
            &format!("zephyr.transform.set_position(player, {frame}, 0, 0)"),
        );
        system.update();
    }
    assert!(
        handle.try_outcome().is_none(),
        "the main thread ran 20 frames of world writes while the worker script was still running"
    );
    drop(system); // cancels nothing: the running script finishes; the test only checks it did not block
}

#[test]
fn legacy_ecs_components_and_script_data() {
    let system = system(1);
    let out = run(
        &system,
        r#"
        local e = ecs.createEntity()
        ecs.addComponent(e, "Transform", {
            position = {x = 1, y = 2, z = 3},
            rotation = {x = 0, y = 0, z = 0, w = 1},
        })
        local t = ecs.getComponent(e, "Transform")
        ecs.addComponent(e, "PointLight", { intensity = 3 })
        local l = ecs.getComponent(e, "PointLight")
        ecs.addComponent(e, "RigidBody", { mass = 4, velocity = {x = 1, y = 0, z = 0} })
        local b = ecs.getComponent(e, "RigidBody")
        ecs.addComponent(e, "Stats", { hp = 10, name = "orc", alive = true, inv = { "axe", { qty = 2 } } })
        local s = ecs.getComponent(e, "Stats")
        s.hp = 0 -- a copy: the world keeps 10
        return t.position.x, t.position.z, t.scale.y, t.rotation.w, l.intensity, l.range, l.color.g,
               b.mass, b.velocity.x, ecs.getComponent(e, "Stats").hp, s.inv[2].qty, s.alive,
               ecs.getComponent(e, "ParticleEmitter"), ecs.getComponent(e, "Nope")
        "#,
    );
    assert_eq!(
        out,
        "1.0\t3.0\t1.0\t1.0\t3.0\t10.0\t1.0\t4.0\t1.0\t10\t2\ttrue\tnil\tnil"
    );

    let out = run(
        &system,
        "local e = ecs.createEntity() ecs.addComponent(e, 'Bad', { stats = { onHit = function() end } })",
    );
    assert!(
        out.contains("ecs.addComponent: argument 3 (component): a function")
            && out.contains("at 'stats.onHit'"),
        "{out}"
    );
    let out = run(
        &system,
        "local e = ecs.createEntity() ecs.addComponent(e, 'Transform', { positon = {} })",
    );
    assert!(out.contains("unknown field 'positon'"), "{out}");
    let out = run(
        &system,
        "local e = ecs.createEntity() ecs.addComponent(e, 'RigidBody', { mass = 0 })",
    );
    assert!(out.contains("mass must be greater than 0"), "{out}");
    let out = run(
        &system,
        "local t = {} t.self = t local e = ecs.createEntity() ecs.addComponent(e, 'Loop', t)",
    );
    assert!(out.contains("nested deeper than"), "{out}");
    let out = run(&system, "return ecs.getComponent(424242, 'Transform')");
    assert!(
        out.contains("ecs.getComponent: entity 424242 does not exist"),
        "{out}"
    );
}

#[test]
fn input_modules_read_the_host_input() {
    let system = system(1);
    {
        let mut world = system.world().write();
        let input = world.input_mut();
        input.set_key(Key::W, true);
        input.set_mouse_button(1, true).unwrap();
        input.set_mouse_position(DVec2::new(320.0, 200.5)).unwrap();
    }
    assert_eq!(
        run(
            &system,
            "return input.isKeyPressed('W'), input.isKeyPressed('S'), zephyr.input.is_key_down(Key.W), zephyr.input.is_mouse_button_down(1), zephyr.input.is_mouse_button_down(0)"
        ),
        "true\tfalse\ttrue\ttrue\tfalse"
    );
    assert_eq!(run(&system, "return input.getMousePos()"), "320.0\t200.5");
    assert_eq!(
        run(&system, "return zephyr.input.get_mouse_position()"),
        "320.0\t200.5"
    );
    let out = run(&system, "return zephyr.input.is_mouse_button_down(7)");
    assert!(out.contains("mouse button 7 does not exist"), "{out}");
    let out = run(&system, "return input.isKeyPressed('Banana')");
    assert!(
        out.contains("input.isKeyPressed: argument 1 (key) must be a key name from the Key table"),
        "{out}"
    );
}

#[test]
fn math_helpers() {
    let system = system(1);
    assert_eq!(
        run(&system, "return zephyr.math.normalize(0, 0, 0)"),
        "0.0\t0.0\t0.0"
    );
    assert_eq!(
        run(&system, "return zephyr.math.normalize(0, 3, 4)"),
        "0.0\t0.6\t0.8"
    );
    assert_eq!(
        run(&system, "return zephyr.math.distance(0, 0, 0, 3, 4, 0)"),
        "5.0"
    );
    assert_eq!(
        run(&system, "return zephyr.math.lerp(10, 20, 0.25)"),
        "12.5"
    );
    assert_eq!(
        run(
            &system,
            "return zephyr.math.clamp(5, 0, 1), zephyr.math.clamp(-5, 0, 1)"
        ),
        "1.0\t0.0"
    );
    assert_eq!(
        run(&system, "return zephyr.math.dot(1, 2, 3, 4, 5, 6)"),
        "32.0"
    );
    assert_eq!(
        run(&system, "return zephyr.math.cross(1, 0, 0, 0, 1, 0)"),
        "0.0\t0.0\t1.0"
    );
    assert_eq!(
        run(
            &system,
            "local v = zephyr.math.vec3(1, 2, 3) return v.x, v.y, v.z"
        ),
        "1.0\t2.0\t3.0"
    );
    assert!(
        run(&system, "return zephyr.math.clamp(1, 2, 0)")
            .contains("min (2) is greater than max (0)")
    );
}

#[test]
fn physics_through_the_api_uses_the_gravity_cvar() {
    let system = system(1);
    system.console().execute("set phys_gravity -10").unwrap();
    run(
        &system,
        "ball = zephyr.entity.create() ecs.addComponent(ball, 'RigidBody', { mass = 2 }) zephyr.physics.add_force(ball, 4, 0, 0)",
    );
    system.advance_frame(0.5);
    system.step_physics();
    assert_eq!(
        run(&system, "return zephyr.physics.get_velocity(ball)"),
        "1.0\t-5.0\t0.0"
    );
    assert_eq!(
        run(&system, "return zephyr.transform.get_position(ball)"),
        "0.5\t-2.5\t0.0"
    );
    // The force was cleared: the next step only has gravity.
    system.advance_frame(0.5);
    system.step_physics();
    assert_eq!(
        run(&system, "return zephyr.physics.get_velocity(ball)"),
        "1.0\t-10.0\t0.0"
    );
}

#[test]
fn a_script_moved_to_the_main_thread_releases_its_reserved_ids() {
    let mut system = system(1);
    let mut handle = system
        .enqueue_script("local e = zephyr.entity.create() zephyr.entity.set_name(e, 'Once') function H() end cvar.on_change('phys_gravity', 'H')", None)
        .unwrap();
    while handle.try_outcome().is_none() {
        system.update();
    }
    assert!(matches!(handle.wait(), Outcome::Returned(_)));
    let world = system.world_ref::<World>().expect("Zephyr's world");
    assert_eq!(world.len(), 1, "created once, on the main thread");
    assert!(world.find("Once").is_some());
    assert_eq!(
        world.ecs().len(),
        1,
        "the worker attempt's reserved id was released"
    );
}

#[test]
fn typed_fast_bindings_still_give_the_registry_messages() {
    let system = system(1);
    // A caught error: a plain string naming the binding, the argument and
    // the caller's line.
    let out = run(
        &system,
        "local e = zephyr.entity.create()\nlocal ok, err = pcall(zephyr.transform.set_position, e, 'x', 1, 1)\nreturn ok, err",
    );
    assert_eq!(
        out,
        "false\tmain:2: zephyr.transform.set_position: argument 2 (x) must be a finite number, got string"
    );
    // Uncaught, with a missing argument.
    let out = run(
        &system,
        "local e = zephyr.entity.create()\nzephyr.physics.add_force(e, 1, 2)",
    );
    assert!(
        out.starts_with("ERROR: main:2: zephyr.physics.add_force: argument 4 (fz) must be a finite number, got nil"),
        "{out}"
    );
    // Numeric strings convert, as with Lua's own math functions.
    assert_eq!(run(&system, "return zephyr.math.lerp('2', 4, 0.5)"), "3.0");
}

#[test]
fn tags_and_places_find_entities_on_the_main_thread_and_in_worker_jobs() {
    let mut system = system(2);
    let setup = "
        local made = {}
        for i = 1, 30 do
            local e = zephyr.entity.create()
            zephyr.transform.set_position(e, i, 0, 0)
            if i % 3 == 0 then zephyr.entity.add_tag(e, 'enemy') end
            made[i] = e
        end
        zephyr.entity.add_tag(made[3], 'boss')
        zephyr.entity.set_name(made[3], 'Boss')
    ";
    assert_eq!(run(&system, setup), "OK");
    let query = "
        local out = {}
        local enemies = zephyr.entity.find_all('enemy')
        out[#out + 1] = #enemies
        local near = zephyr.entity.within(10.2, 0, 0, 2.5)
        for _, e in ipairs(near) do out[#out + 1] = zephyr.transform.get_position(e) end
        local tagged = zephyr.entity.within(10, 0, 0, 5, 'enemy')
        for _, e in ipairs(tagged) do out[#out + 1] = 'e' .. zephyr.transform.get_position(e) end
        local boss = zephyr.entity.find('Boss')
        out[#out + 1] = table.concat(zephyr.entity.get_tags(boss), '+')
        out[#out + 1] = tostring(zephyr.entity.has_tag(boss, 'boss'))
        return table.concat(out, ' ')
    ";
    // Nearest first: from 10.2, 10 (0.2) < 11 (0.8) < 9 (1.2) < 12 (1.8)
    // < 8 (2.2); tags in the order they were added.
    let expected = "10 10.0 11.0 9.0 12.0 8.0 e9.0 e12.0 e6.0 e15.0 enemy+boss true";
    assert_eq!(run(&system, query), expected);
    let handle = system.enqueue_script(query, None).unwrap();
    assert_eq!(system.wait(handle).to_string(), expected);

    // A worker reads its own writes: a moved, a spawned, a destroyed and a
    // re-tagged entity, before update() applies them.
    let writes = "
        local boss = zephyr.entity.find('Boss')
        zephyr.entity.remove_tag(boss, 'enemy')
        local e = zephyr.entity.create()
        zephyr.transform.set_position(e, 10.2, 0, 0)
        zephyr.entity.add_tag(e, 'enemy')
        zephyr.entity.destroy(zephyr.entity.within(15, 0, 0, 0.1)[1])
        local near = zephyr.entity.within(10.2, 0, 0, 5, 'enemy')
        local out = {}
        for _, n in ipairs(near) do out[#out + 1] = zephyr.transform.get_position(n) end
        return #zephyr.entity.find_all('enemy') .. ': ' .. table.concat(out, ' ')
    ";
    let handle = system.enqueue_script(writes, None).unwrap();
    let on_worker = system.wait(handle).to_string();
    assert_eq!(on_worker, "9: 10.2 9.0 12.0 6.0");
    settle(&mut system);
    let after = "
        local near = zephyr.entity.within(10.2, 0, 0, 5, 'enemy')
        local out = {}
        for _, n in ipairs(near) do out[#out + 1] = zephyr.transform.get_position(n) end
        return #zephyr.entity.find_all('enemy') .. ': ' .. table.concat(out, ' ')
    ";
    assert_eq!(
        run(&system, after),
        on_worker,
        "the main thread agrees once applied"
    );

    for (source, message) in [
        (
            "zephyr.entity.add_tag(zephyr.entity.create(), '')",
            "bad.lua:1: zephyr.entity.add_tag: tag \"\" must not be empty",
        ),
        (
            "zephyr.entity.within(0, 0, 0, -1)",
            "bad.lua:1: zephyr.entity.within: radius must not be negative",
        ),
        (
            "zephyr.entity.within(0, 0, 0)",
            "bad.lua:1: zephyr.entity.within: argument 4 (radius) must be a finite number, got nil",
        ),
        (
            "zephyr.entity.find_all({})",
            "bad.lua:1: zephyr.entity.find_all: argument 1 (tag) must be a string, got table",
        ),
    ] {
        let outcome = system.execute(source, "bad.lua");
        let error = outcome.error().unwrap_or_else(|| panic!("{source}"));
        assert_eq!(error.message, message);
    }
}
