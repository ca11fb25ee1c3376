//! Reproducible randomness: `math.random` draws from one stream per
//! behaviour instance and per job, seeded from the host's seed and the
//! instance's or job's identity, so the numbers depend on the seed alone.

use std::sync::Arc;

use parking_lot::Mutex;
use zephyr_runtime::{
    Behaviours, Job, ScriptSource, ScriptingConfig, ScriptingSystem, StateConfig,
};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn system(workers: usize, seed: u64) -> Result<(ScriptingSystem, Arc<Mutex<Vec<String>>>)> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let system = ScriptingSystem::new(ScriptingConfig {
        workers,
        state: StateConfig {
            seed,
            ..StateConfig::default()
        },
        print: Some(zephyr_runtime::api::line_sink(move |line: &[u8]| {
            sink.lock().push(String::from_utf8_lossy(line).into_owned())
        })),
        ..ScriptingConfig::default()
    })?;
    Ok((system, lines))
}

/// 40 behaviours, half of them parallel, each moving by random steps for
/// 20 frames; and 40 jobs each returning a random number. The world's
/// positions, the printed lines and the jobs' numbers, as one text.
fn run(workers: usize, seed: u64) -> Result<String> {
    let (mut system, lines) = system(workers, seed)?;
    let walker = ScriptSource::new(
        "walker.lua",
        "local bias = math.random(-5, 5)
         function on_start(self) print(zephyr.entity.get_name(self), bias, math.random(100)) end
         function on_update(self, dt)
           zephyr.transform.translate(self, math.random() + bias, math.random(3), 0)
         end",
    );
    let mut behaviours = Behaviours::new();
    let mut entities = Vec::new();
    for i in 0..40 {
        let e = system.world().write().create()?;
        system.world().write().set_name(e, Some(format!("w{i}")))?;
        if i % 2 == 0 {
            behaviours.attach_parallel(&system, e, &walker)?;
        } else {
            behaviours.attach(&system, e, &walker)?;
        }
        entities.push(e);
    }
    for _ in 0..20 {
        let report = behaviours.frame(&mut system, 0.1);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }
    let handles: Vec<_> = (0..40)
        .map(|_| system.enqueue(Job::new("return math.random(1e9), math.random()")))
        .collect::<std::result::Result<_, _>>()?;
    let mut text = lines.lock().join("\n");
    for handle in handles {
        let outcome = system.wait(handle);
        text.push_str(&format!("\njob {:?}", outcome.values()));
    }
    let world = system.world().read();
    for e in entities {
        let p = world.transform(e)?.position;
        text.push_str(&format!("\n{} {} {}", p.x, p.y, p.z));
    }
    Ok(text)
}

#[test]
fn the_same_seed_gives_the_same_numbers_for_any_worker_count() -> Result {
    let one = run(1, 42)?;
    assert_eq!(run(2, 42)?, one);
    assert_eq!(run(4, 42)?, one);
    // And the instances do not all draw the same numbers.
    let biases: std::collections::BTreeSet<&str> = one
        .lines()
        .take(40)
        .map(|l| l.split('\t').nth(1).unwrap_or(""))
        .collect();
    assert!(biases.len() > 5, "{one}");
    Ok(())
}

#[test]
fn another_seed_gives_other_numbers() -> Result {
    assert_ne!(run(2, 42)?, run(2, 43)?);
    Ok(())
}

#[test]
fn randomseed_keeps_lua_s_meaning_within_a_stream() -> Result {
    let (system, _) = system(1, 1)?;
    let outcome = system.execute(
        "math.randomseed(1007)
         local a = math.random(0)
         math.randomseed(1007)
         local b = math.random(0)
         local x, y = math.randomseed()
         local c = math.random(0)
         math.randomseed(x, y)
         return a == b, a == 0x7a7040a5a323c9d6, c == math.random(0) or c, pcall(math.random, 3, 1)",
        "seed.lua",
    );
    let values: Vec<String> = outcome.values().iter().map(ToString::to_string).collect();
    assert_eq!(values[..2], ["true", "true"], "{outcome}");
    assert_eq!(values[3], "false", "{outcome}");
    assert!(values[4].contains("interval is empty"), "{outcome}");
    Ok(())
}
