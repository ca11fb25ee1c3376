//! One script, start to finish: the reference's `script_demo`.
//!
//! 1. Build a `ScriptingSystem` (pool of sandboxed states, action queue,
//!    runner on worker threads, and the main thread's own state).
//! 2. Register a cvar and, on the main thread, a Lua handler for it.
//! 3. Enqueue a script on a worker; its callback runs on the worker, its
//!    writes wait for the main thread.
//! 4. Run a few frames: each calls `update()`, which applies the worker's
//!    writes and calls the CVar handler.
//!
//! Run it with `cargo run --release --example script_demo`.
#![allow(clippy::print_stdout)] // an example's job is to show what happens

use zephyr::cvar::{CVarDef, CVarFlags};
use zephyr::runtime::{Job, ScriptingConfig, ScriptingSystem};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Scripts' `print` goes to stdout here; by default it goes to the console.
    let mut system = ScriptingSystem::new(ScriptingConfig {
        workers: 2,
        print: Some(zephyr::runtime::api::line_sink(|line: &[u8]| {
            println!("  [lua] {}", String::from_utf8_lossy(line))
        })),
        ..ScriptingConfig::default()
    })?;
    system.cvars().register(
        CVarDef::new("r_fov", 75.0)
            .help("Field of view in degrees")
            .flags(CVarFlags::ARCHIVE)
            .range(30.0, 120.0),
    )?;

    println!("main thread: define and register the r_fov handler");
    let outcome = system.execute(
        r#"
        function OnFOVChanged(name, old, new)
            print(name .. ": " .. old .. " -> " .. new)
        end
        cvar.on_change("r_fov", "OnFOVChanged")
        "#,
        "init.lua",
    );
    println!("  init.lua: {outcome}");

    println!("worker: enqueue a script that prints, changes r_fov and returns 2 + 2");
    let handle = system.enqueue(
        Job::new("print('Hello from worker')\ncvar.set('r_fov', 90)\nreturn 2 + 2")
            .chunk_name("worker.lua")
            .on_complete(|outcome| {
                println!(
                    "  callback on {:?}: {outcome}",
                    std::thread::current().name().unwrap_or("?")
                )
            }),
    )?;
    let outcome = handle.wait();
    println!("  handle: {outcome}");
    println!(
        "  r_fov before update(): {}",
        system.cvars().get_as_string("r_fov").unwrap_or_default()
    );

    for frame in 1..=3 {
        let report = system.update();
        println!(
            "frame {frame}: update() applied {} write(s), finished {} script(s), called {} handler(s); r_fov = {}",
            report.commands_applied,
            report.scripts_finished,
            report.handlers_called,
            system.cvars().get_as_string("r_fov").unwrap_or_default()
        );
    }

    println!("a failing script reports its chunk and line:");
    let failed = system
        .enqueue(Job::new("local player = nil\nreturn player.health").chunk_name("broken.lua"))?;
    println!("  {}", failed.wait());
    Ok(())
}
