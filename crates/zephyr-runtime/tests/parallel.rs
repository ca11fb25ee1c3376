//! Parallel behaviours: `on_update` on the workers, reads of the live world,
//! writes applied in attach order, the same world for any worker count.

use std::fmt::Write as _;
use std::sync::Arc;

use parking_lot::Mutex;
use zephyr_runtime::world::glam::DVec3;
use zephyr_runtime::world::{RigidBody, World, WorldWrite};
use zephyr_runtime::{Behaviours, ScriptSource, ScriptingConfig, ScriptingSystem};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;
type Lines = Arc<Mutex<Vec<String>>>;

fn system(workers: usize) -> Result<(ScriptingSystem, Lines)> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let system = ScriptingSystem::new(ScriptingConfig {
        workers,
        print: Some(zephyr_runtime::api::line_sink(move |line: &[u8]| {
            sink.lock().push(String::from_utf8_lossy(line).into_owned())
        })),
        ..ScriptingConfig::default()
    })?;
    Ok((system, lines))
}

/// Moves itself by its velocity, steers toward the previous entity's
/// position (a read of another entity), prints now and then.
const SWARM: &str = "
local get_position, set_position = zephyr.transform.get_position, zephyr.transform.set_position
local get_velocity, set_velocity = zephyr.physics.get_velocity, zephyr.physics.set_velocity
local steps, leader, index = 0, nil, nil
function on_start(self)
    index = tonumber(string.sub(zephyr.entity.get_name(self), 2))
    leader = zephyr.entity.find('e' .. (index - 1)) or self
end
function on_update(self, dt)
    steps = steps + 1
    local x, y, z = get_position(self)
    local vx, vy, vz = get_velocity(self)
    local lx, ly, lz = get_position(leader)
    set_velocity(self, vx + (lx - x) * 0.01, vy, vz + (lz - z) * 0.01)
    vx, vy, vz = get_velocity(self) -- read your own write
    set_position(self, x + vx * dt, y + vy * dt, z + vz * dt)
    if steps % 100 == 0 and index % 97 == 0 then print(index .. ' ' .. steps .. ' ' .. x) end
end";

/// Entities `e0`, `e1`, ... each following the one before.
fn scene(
    workers: usize,
    count: usize,
    parallel: bool,
    source: &str,
) -> Result<(ScriptingSystem, Behaviours, Lines)> {
    let (system, lines) = system(workers)?;
    let mut behaviours = Behaviours::new();
    let script = ScriptSource::new("swarm.lua", source);
    for i in 0..count {
        let e = {
            let mut world = system.world_mut::<World>().expect("Zephyr's world");
            let e = world.create();
            world.set_name(e, Some(format!("e{i}")))?;
            let t = world.transform_mut(e)?;
            t.position = DVec3::new(i as f64, 0.0, (i % 7) as f64);
            world.insert_body(
                e,
                RigidBody {
                    velocity: DVec3::new(0.5, 0.0, -((i % 3) as f64)),
                    ..RigidBody::default()
                },
            )?;
            e
        };
        if parallel {
            behaviours.attach_parallel(&system, e, &script)?;
        } else {
            behaviours.attach(&system, e, &script)?;
        }
    }
    Ok((system, behaviours, lines))
}

/// The world as text: every entity in creation order with its transform and
/// body, floats in full.
fn dump(system: &ScriptingSystem) -> String {
    let snapshot = system
        .world_ref::<World>()
        .expect("Zephyr's world")
        .snapshot();
    let mut out = String::new();
    for (id, record) in snapshot.records() {
        let t = record.transform;
        let v = record.body.map(|b| b.velocity).unwrap_or_default();
        let _ = writeln!(out, "{id} {:?} {:?} {:?}", t.position, t.rotation, v);
    }
    out
}

fn run(
    workers: usize,
    count: usize,
    frames: usize,
    parallel: bool,
    source: &str,
) -> Result<(String, Vec<String>)> {
    let (mut system, mut behaviours, lines) = scene(workers, count, parallel, source)?;
    for _ in 0..frames {
        let report = behaviours.frame(&mut system, 1.0 / 60.0);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert!(
            report.update.errors.is_empty(),
            "{:?}",
            report.update.errors
        );
    }
    let printed = lines.lock().clone();
    Ok((dump(&system), printed))
}

#[test]
fn a_parallel_scene_ends_in_the_same_world_for_any_worker_count() -> Result {
    let (count, frames) = (10_000, 300);
    let (one, printed) = run(1, count, frames, true, SWARM)?;
    assert!(!printed.is_empty(), "prints travel as recorded writes");
    for workers in [2, 4] {
        let (other, other_printed) = run(workers, count, frames, true, SWARM)?;
        assert!(one == other, "{workers} workers: the world differs");
        assert_eq!(printed, other_printed, "{workers} workers: output differs");
    }
    Ok(())
}

/// A behaviour that only reads and writes its own entity.
const MOVER: &str = "
function on_update(self, dt)
    local x, y, z = zephyr.transform.get_position(self)
    local vx, vy, vz = zephyr.physics.get_velocity(self)
    zephyr.transform.set_position(self, x + vx * dt, y + vy * dt, z + vz * dt)
end";

#[test]
fn self_contained_behaviours_end_the_same_in_parallel_and_serially() -> Result {
    let (serial, _) = run(2, 10_000, 300, false, MOVER)?;
    let (parallel, _) = run(2, 10_000, 300, true, MOVER)?;
    assert!(serial == parallel, "parallel and serial worlds differ");
    Ok(())
}

#[test]
fn parallel_updates_read_the_world_as_the_phase_began_plus_their_own_writes() -> Result {
    let (mut system, lines) = system(2)?;
    let mut behaviours = Behaviours::new();
    // On the lane threads however small the phase (see the last test).
    behaviours.set_parallel_threshold(std::time::Duration::ZERO);
    let script = ScriptSource::new(
        "pair.lua",
        "function on_update(self)
             local name = zephyr.entity.get_name(self)
             local other = zephyr.entity.find(name == 'A' and 'B' or 'A')
             zephyr.transform.translate(self, 1, 0, 0)
             print(name .. ' ' .. zephyr.transform.get_position(self) .. ' ' .. zephyr.transform.get_position(other))
         end",
    );
    for name in ["A", "B"] {
        let e = {
            let mut world = system.world().write();
            let e = world.create().expect("an entity");
            world.set_name(e, Some(name.into()))?;
            e
        };
        behaviours.attach_parallel(&system, e, &script)?;
    }
    assert!(behaviours.list().all(|info| info.parallel));
    for _ in 0..2 {
        let report = behaviours.frame(&mut system, 0.1);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(report.updated, 2);
    }
    // Each sees its own move at once and the other's only after the phase;
    // output in attach order.
    assert_eq!(
        *lines.lock(),
        ["A 1.0 0.0", "B 1.0 0.0", "A 2.0 1.0", "B 2.0 1.0"]
    );
    Ok(())
}

#[test]
fn a_main_thread_only_call_in_a_parallel_update_fails_with_its_name() -> Result {
    let (mut system, lines) = system(2)?;
    let mut behaviours = Behaviours::new();
    // On the lane threads however small the phase (see the last test).
    behaviours.set_parallel_threshold(std::time::Duration::ZERO);
    let e = system.world().write().create()?;
    behaviours.attach_parallel(
        &system,
        e,
        &ScriptSource::new(
            "hook.lua",
            "function on_update(self) print('before') cvar.on_change('sv_cheats', function() end) end",
        ),
    )?;
    let report = behaviours.frame(&mut system, 0.1);
    assert_eq!(report.errors.len(), 1);
    let text = report.errors[0].to_string();
    assert!(
        text.contains("hook.lua:1: cvar.on_change must run on the main thread, and a parallel behaviour's on_update runs on a worker"),
        "{text}"
    );
    assert!(text.contains("(callback on_update, entity "), "{text}");
    assert!(
        lines.lock().is_empty(),
        "a failed parallel update's writes are dropped"
    );
    Ok(())
}

#[test]
fn a_lane_left_without_instances_reports_nothing_stale() -> Result {
    let (mut system, lines) = system(2)?;
    let mut behaviours = Behaviours::new();
    // On the lane threads however small the phase (see the last test).
    behaviours.set_parallel_threshold(std::time::Duration::ZERO);
    let script = ScriptSource::new(
        "fail.lua",
        "function on_update(self) print('tick ' .. zephyr.entity.get_name(self)) if zephyr.entity.get_name(self) == 'B' then error('b fails') end end",
    );
    let mut ids = Vec::new();
    for name in ["A", "B"] {
        let e = {
            let mut world = system.world().write();
            let e = world.create().expect("an entity");
            world.set_name(e, Some(name.into()))?;
            e
        };
        ids.push(e);
        // Dealt in attach order: A to lane 0, B to lane 1.
        behaviours.attach_parallel(&system, e, &script)?;
    }
    let report = behaviours.frame(&mut system, 0.1);
    assert_eq!((report.updated, report.errors.len()), (2, 1));
    // B is destroyed: it still runs this frame, and goes in its destroy phase.
    system.world().write().despawn(ids[1])?;
    let report = behaviours.frame(&mut system, 0.1);
    assert_eq!((report.updated, report.errors.len()), (2, 1));
    // Now B's lane has nothing to run, and reports nothing from before.
    let report = behaviours.frame(&mut system, 0.1);
    assert_eq!(
        (report.updated, report.errors.len()),
        (1, 0),
        "{:?}",
        report.errors
    );
    // A failed update's print is dropped with its other writes.
    assert_eq!(*lines.lock(), ["tick A", "tick A", "tick A"]);
    Ok(())
}

/// The parallel phase runs on the calling thread when its work is too
/// small to pay for waking the others (always, with `Duration::MAX`; the
/// first phase too, which measures the callbacks), on the lane threads
/// when it is not (always, with `Duration::ZERO`), and ends in the same
/// world with the same output every way, as with one worker.
#[test]
fn a_small_phase_runs_inline_and_ends_the_same_as_on_threads() -> Result {
    use std::time::Duration;
    let (count, frames) = (64, 120);
    let mut results = Vec::new();
    for threshold in [None, Some(Duration::MAX), Some(Duration::ZERO)] {
        let (mut system, mut behaviours, lines) = scene(2, count, true, SWARM)?;
        if let Some(threshold) = threshold {
            behaviours.set_parallel_threshold(threshold);
        }
        let mut threads = Vec::new();
        for _ in 0..frames {
            let report = behaviours.frame(&mut system, 1.0 / 60.0);
            assert!(report.is_clean(), "{:?}", report.errors);
            assert_eq!(report.updated_in_parallel, count);
            threads.push(report.parallel_threads);
        }
        match threshold {
            // The first phase has no measure of its callbacks yet.
            None => assert_eq!(threads[0], 1, "{threads:?}"),
            Some(Duration::MAX) => assert!(threads.iter().all(|&t| t == 1), "{threads:?}"),
            Some(_) => assert!(threads.iter().all(|&t| t == 2), "{threads:?}"),
        }
        results.push((dump(&system), lines.lock().clone()));
    }
    let (one, printed) = run(1, count, frames, true, SWARM)?;
    assert!(!printed.is_empty());
    for (world, output) in &results {
        assert!(*world == one, "the world differs from one worker's");
        assert_eq!(*output, printed);
    }
    Ok(())
}

/// Tags itself by index, then each frame steers toward the nearest other
/// hunter within reach of the other tag, and swaps its tag now and then:
/// queries of the live world, and tag writes, in the parallel phase.
const HUNTER: &str = "
local index, steps = nil, 0
function on_start(self)
    index = tonumber(string.sub(zephyr.entity.get_name(self), 2))
    zephyr.entity.add_tag(self, index % 2 == 0 and 'red' or 'blue')
end
function on_update(self, dt)
    steps = steps + 1
    local mine = zephyr.entity.has_tag(self, 'red') and 'red' or 'blue'
    local other = mine == 'red' and 'blue' or 'red'
    local x, y, z = zephyr.transform.get_position(self)
    local near = zephyr.entity.within(x, y, z, 6, other)
    local target = near[1]
    if target then
        local tx, ty, tz = zephyr.transform.get_position(target)
        zephyr.transform.set_position(self, x + (tx - x) * 0.1, y, z + (tz - z) * 0.1)
    end
    if steps % 37 == index % 37 then
        zephyr.entity.remove_tag(self, mine)
        zephyr.entity.add_tag(self, other)
        -- Read your own writes: the view sees the swap at once.
        assert(zephyr.entity.has_tag(self, other) and not zephyr.entity.has_tag(self, mine))
        local all = zephyr.entity.find_all(other)
        local found = false
        for _, e in ipairs(all) do found = found or e == self end
        assert(found, 'find_all sees this update\\'s own tag')
    end
    if steps % 50 == 0 and index % 101 == 0 then
        print(index .. ' ' .. steps .. ' ' .. #near .. ' ' .. #zephyr.entity.find_all('red'))
    end
end";

#[test]
fn tag_queries_in_parallel_updates_end_the_same_for_any_worker_count() -> Result {
    let (count, frames) = (2_000, 120);
    let (one, printed) = run(1, count, frames, true, HUNTER)?;
    assert!(printed.len() > 10, "{printed:?}");
    for workers in [2, 4] {
        let (other, other_printed) = run(workers, count, frames, true, HUNTER)?;
        assert!(one == other, "{workers} workers: the world differs");
        assert_eq!(printed, other_printed, "{workers} workers: output differs");
    }
    Ok(())
}
