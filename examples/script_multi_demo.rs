//! Many scripts on several workers: the reference's `script_multi_demo`.
//!
//! Twenty scripts count primes in ranges on four workers while the main loop
//! keeps calling `update()` once per frame. Each script publishes its count
//! through a cvar write, which a Lua handler on the main thread sums. Worker
//! output reaches the screen in the order the scripts were enqueued, whatever
//! order they finish in. One runaway script is stopped by its instruction
//! budget, and the others carry on.
//!
//! Run it with `cargo run --release --example script_multi_demo`.
#![allow(clippy::print_stdout)] // an example's job is to show what happens

use std::time::{Duration, Instant};

use zephyr::cvar::CVarDef;
use zephyr::runtime::{Job, Limits, ScriptingConfig, ScriptingSystem, StateConfig};

const PRIME_SCRIPT: &str = r#"
local from, to = ...
local count = 0
for n = math.max(from, 2), to do
    local prime = true
    for d = 2, math.floor(math.sqrt(n)) do
        if n % d == 0 then prime = false break end
    end
    if prime then count = count + 1 end
end
print(string.format("primes in [%d, %d]: %d", from, to, count))
cvar.set("last_count", count)
return count
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut system = ScriptingSystem::new(ScriptingConfig {
        workers: 4,
        state: StateConfig {
            limits: Limits {
                instructions: 5_000_000,
                ..Limits::default()
            },
            ..StateConfig::default()
        },
        print: Some(zephyr::runtime::api::line_sink(|line: &[u8]| {
            println!("  [lua] {}", String::from_utf8_lossy(line))
        })),
        ..ScriptingConfig::default()
    })?;
    system
        .cvars()
        .register(CVarDef::new("last_count", 0).help("Primes found by the last job"))?;
    system.execute(
        r#"
        total = 0
        cvar.on_change("last_count", function(name, old, new)
            total = total + tonumber(new)
        end)
        "#,
        "init.lua",
    );

    let mut handles = Vec::new();
    for i in 0..20 {
        let (from, to) = (i * 5_000, (i + 1) * 5_000 - 1);
        // `...` in the chunk receives nothing, so bake the range in.
        let source = format!("return (function(...) {PRIME_SCRIPT} end)({from}, {to})");
        handles.push(system.enqueue(Job::new(source).chunk_name(format!("primes{i}.lua")))?);
    }
    handles.push(system.enqueue(Job::new("while true do end").chunk_name("runaway.lua"))?);
    println!(
        "enqueued {} scripts on {} workers",
        handles.len(),
        system.runner().workers()
    );

    let start = Instant::now();
    let mut frame = 0;
    let mut errors = Vec::new();
    while system.jobs_in_flight() > 0 {
        frame += 1;
        let report = system.update();
        errors.extend(report.errors);
        std::thread::sleep(Duration::from_millis(16)); // the rest of the frame
    }
    system.update(); // handlers for the last changes

    let runaway = handles.pop().map(|h| h.wait());
    let counts: Vec<i64> = handles
        .into_iter()
        .map(|h| h.wait().to_string().parse().unwrap_or(0))
        .collect();
    let total = system.execute("return total", "check");
    println!("done in {frame} frames ({:?})", start.elapsed());
    println!("sum of returned counts: {}", counts.iter().sum::<i64>());
    println!("sum seen by the last_count handler on the main thread: {total}");
    println!(
        "the runaway script: {}",
        runaway.map(|o| o.to_string()).unwrap_or_default()
    );
    println!("errors reported by update(): {errors:?}");
    Ok(())
}
