//! The game API on the default world: a few frames driven from Rust, with
//! scripts doing the reference's own snippets.
//!
//! Each frame the host (this `main`) sets the input and the time, runs the
//! frame's scripts on the main thread, steps physics, and calls `update()`.
//! The scripts: movement with `Key.W` and `forward`, look_at with and without
//! roll, a flickering torch, sparks switched on at an impact, a jump impulse,
//! and a camera that smoothly follows the player. A worker script reads the
//! world and moves a crate: its move lands at the frame's `update()`.
//!
//! Run it with `cargo run --release --example world_demo`.
#![allow(clippy::print_stdout)] // an example's job is to show what happens

use zephyr::runtime::{ScriptingConfig, ScriptingSystem};
use zephyr::world::Key;

const SETUP: &str = r#"
player = zephyr.entity.create()
zephyr.entity.set_name(player, "Player")
ecs.addComponent(player, "RigidBody", { mass = 70 })

camera = zephyr.entity.create()
zephyr.transform.set_position(camera, 0, 3, 8)

aircraft = zephyr.entity.create()
zephyr.transform.set_rotation(aircraft, 0, 0, 0.4) -- banked

torch = zephyr.entity.create()
ecs.addComponent(torch, "PointLight", { color = { r = 1, g = 0.6, b = 0.2 }, range = 8 })

sparks = zephyr.entity.create()
ecs.addComponent(sparks, "ParticleEmitter", { active = false })

crate = zephyr.entity.create()
zephyr.entity.set_name(crate, "Crate")
zephyr.transform.set_position(crate, 5, 0, -5)
on_ground = true
"#;

const FRAME: &str = r#"
local dt = zephyr.time.delta()

-- The ground is y = 0: landing on it is the impact that lights the sparks
local px, py, pz = zephyr.transform.get_position(player)
if py < 0 then
    zephyr.transform.set_position(player, px, 0, pz)
    local vx, _, vz = zephyr.physics.get_velocity(player)
    zephyr.physics.set_velocity(player, vx, 0, vz)
    py = 0
    if not on_ground then
        on_ground = true
        zephyr.particles.set_active(sparks, true)
        zephyr.particles.set_rate(sparks, 100)
        zephyr.particles.set_color(sparks, 1.0, 0.8, 0.2)
    end
end
if on_ground then
    zephyr.physics.add_force(player, 0, 70 * 9.81, 0) -- the ground holds the player up
end

-- Movement
local speed = 5.0
if zephyr.input.is_key_down(Key.W) then
    local fx, fy, fz = zephyr.transform.forward(player)
    zephyr.transform.translate(player, fx * speed * dt, fy * speed * dt, fz * speed * dt)
end

-- Jump
if zephyr.input.is_key_down(Key.Space) and on_ground then
    zephyr.physics.add_impulse(player, 0, 350, 0)
    on_ground = false
end

-- Look at the player: the camera resets roll, the aircraft keeps its bank
px, py, pz = zephyr.transform.get_position(player)
zephyr.transform.look_at(aircraft, px, py, pz, true)

-- Smooth follow
local cx, cy, cz = zephyr.transform.get_position(camera)
local t = zephyr.math.clamp(dt * 5.0, 0, 1)
zephyr.transform.set_position(camera,
    zephyr.math.lerp(cx, px, t), zephyr.math.lerp(cy, py + 3, t), zephyr.math.lerp(cz, pz + 8, t))
zephyr.transform.look_at(camera, px, py, pz)

-- Flickering torch
local e = zephyr.time.elapsed()
zephyr.light.set_intensity(torch, 0.8 + math.sin(e * 10) * 0.2)
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The system's world: Zephyr's own, here (an engine can bring its
    // own: see `own_world.rs`).
    let world = zephyr::world::share(zephyr::world::World::new("world_demo"));
    let config = ScriptingConfig {
        workers: 2,
        print: Some(zephyr::runtime::api::line_sink(|line: &[u8]| {
            println!("  [lua] {}", String::from_utf8_lossy(line))
        })),
        ..ScriptingConfig::default()
    };
    let mut system = ScriptingSystem::with_parts(config, Default::default(), world)?;
    system
        .execute(SETUP, "setup.lua")
        .error()
        .map_or(Ok(()), |e| Err(e.clone()))?;

    let dt = 1.0 / 10.0;
    for frame in 1..=16 {
        {
            let mut world = system.world().write();
            let input = world.input_mut();
            input.set_key(Key::W, frame <= 6);
            input.set_key(Key::Space, frame == 3);
        }
        system.advance_frame(dt);
        if let Some(error) = system.execute(FRAME, "frame.lua").error() {
            println!("frame {frame}: {error}");
        }
        if frame == 4 {
            // A worker reads the world and nudges the crate toward the player.
            let _ = system.enqueue_script(
                "local crate = zephyr.entity.find('Crate')
                 local px, _, pz = zephyr.transform.get_position(zephyr.entity.find('Player'))
                 local cx, _, cz = zephyr.transform.get_position(crate)
                 local nx, _, nz = zephyr.math.normalize(px - cx, 0, pz - cz)
                 zephyr.transform.translate(crate, nx, 0, nz)
                 print('worker: crate nudged toward the player')",
                None,
            )?;
        }
        system.step_physics();
        system.sync(); // this demo wants each frame reproducible
        let report = system.execute(
            "local function f(e) local x, y, z = zephyr.transform.get_position(e) return string.format('(%.2f, %.2f, %.2f)', x, y, z) end
             local _, _, roll = zephyr.transform.get_rotation(aircraft)
             return string.format('player %s camera %s crate %s | torch %.2f | sparks %s | aircraft roll %.2f',
                 f(player), f(camera), f(crate), zephyr.light.get_intensity(torch),
                 tostring(zephyr.particles.get_active(sparks)), roll)",
            "report.lua",
        );
        println!("frame {frame:2}: {report}");
    }
    println!(
        "scene: {}",
        system.execute("return zephyr.scene.get_name()", "scene")
    );
    Ok(())
}
