//! Behaviours driven from Rust: what `zephyr run scene.toml` does, without
//! the CLI.
//!
//! An engine spawns its entities, attaches script files to them (one
//! compiled chunk per file, one environment per instance), and calls
//! `Behaviours::frame` once per frame: time, `on_start`, `on_update` (the
//! serial ones on this thread, the parallel ones on the workers), physics,
//! the worker jobs' writes, and the destroy phase where `on_destroy` runs
//! before an entity is removed.
//!
//! `cargo run --release --example behaviours`
#![allow(clippy::print_stdout, clippy::print_stderr)] // an example's job is to show what happens

use zephyr::runtime::world::glam::DVec3;
use zephyr::runtime::world::{Key, RigidBody, World};
use zephyr::runtime::{Behaviours, ScriptSource, ScriptingConfig, ScriptingSystem};

/// A crate that drifts with its velocity and reports once a second. Its
/// `on_update` runs in the parallel phase: it may read any entity, and its
/// writes are applied after the phase, in attach order.
const DRIFTER: &str = r#"
local get_position, set_position = zephyr.transform.get_position, zephyr.transform.set_position
local get_velocity = zephyr.physics.get_velocity
function on_update(self, dt)
    local x, y, z = get_position(self)
    local vx, vy, vz = get_velocity(self)
    set_position(self, x + vx * dt, y + vy * dt, z + vz * dt)
end
"#;

/// The player: walks with W, and while Space is held destroys a crate
/// every half second. Runs on the main thread.
const PLAYER: &str = r#"
function on_start(self)
    print("player starts at frame " .. zephyr.time.frame())
end
function on_update(self, dt)
    if zephyr.input.is_key_down(Key.W) then
        zephyr.transform.translate(self, 0, 0, -2 * dt)
    end
    if zephyr.input.is_key_down(Key.Space) and zephyr.time.frame() % 30 == 0 then
        local target = zephyr.entity.find("crate " .. (zephyr.time.frame() // 30))
        if target then zephyr.entity.destroy(target) end
    end
end
function report(self)
    local x, y, z = zephyr.transform.get_position(self)
    return string.format("player at z = %.2f", z)
end
"#;

/// What every crate does when it goes: it still exists and reads as it was.
const CRATE_END: &str = r#"
function on_destroy(self)
    local x = zephyr.transform.get_position(self)
    print(zephyr.entity.get_name(self) .. " destroyed at x = " .. string.format("%.2f", x))
end
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut system = ScriptingSystem::new(ScriptingConfig {
        workers: 2,
        print: Some(zephyr::runtime::api::line_sink(|line: &[u8]| {
            println!("  lua: {}", String::from_utf8_lossy(line))
        })),
        ..ScriptingConfig::default()
    })?;
    let mut behaviours = Behaviours::new();

    // The scene: a player and eight crates. Sources are usually files
    // (`ScriptSource::from_file`); instances of one source share its chunk.
    let player = {
        let mut world = system.world().write();
        let e = world.create()?;
        world.set_name(e, Some("Player".into()))?;
        e
    };
    behaviours.attach(&system, player, &ScriptSource::new("player.lua", PLAYER))?;
    let drifter = ScriptSource::new("drifter.lua", DRIFTER);
    let crate_end = ScriptSource::new("crate_end.lua", CRATE_END);
    for i in 1..=8 {
        let e = {
            let mut world = system.world().write();
            let e = world.create()?;
            world.set_name(e, Some(format!("crate {i}")))?;
            world.insert_body(
                e,
                RigidBody {
                    velocity: DVec3::new(1.0, 0.0, 0.0),
                    ..RigidBody::default()
                },
            )?;
            e
        };
        // Two behaviours on one entity: one parallel, one serial.
        behaviours.attach_parallel(&system, e, &drifter)?;
        behaviours.attach(&system, e, &crate_end)?;
    }
    system.cvars().set_from_string("phys_gravity", "0")?;
    println!(
        "{} behaviours, {} of them parallel",
        behaviours.len(),
        behaviours.list().filter(|b| b.parallel).count()
    );

    // Frames: the host applies input, then runs the frame.
    for frame in 1..=120 {
        {
            let mut world = system.world().write();
            let input = world.input_mut();
            input.set_key(Key::W, frame <= 60);
            input.set_key(Key::Space, frame > 60);
        }
        let report = behaviours.frame(&mut system, 1.0 / 60.0);
        for error in &report.errors {
            eprintln!("error: {error}");
        }
        if frame % 60 == 0 {
            let summary =
                behaviours.call(&system, behaviours.of_entity(player)[0], "report", ())?;
            println!(
                "frame {frame}: {} ({} updates, {} destroyed, {:.2} ms in scripts)",
                summary[0],
                report.updated,
                report.destroyed,
                report.script_time.as_secs_f64() * 1e3
            );
        }
    }

    // The end: every remaining behaviour's on_destroy, entities still there.
    let end = behaviours.detach_all(&system);
    println!(
        "end: {} on_destroy calls, {} entities left",
        end.destroyed,
        system.world_ref::<World>().map_or(0, |world| world.len())
    );
    assert!(system.world().read().exists(player));
    Ok(())
}
