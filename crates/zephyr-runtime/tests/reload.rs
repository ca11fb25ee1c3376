//! Hot reload through the Rust API: new code in place, state kept,
//! `on_reload`, modules, and failures that leave the old code running.

use std::path::Path;

use zephyr_runtime::{Behaviours, ScriptSource, ScriptingConfig, ScriptingSystem, StateConfig};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn system(dir: &Path) -> Result<ScriptingSystem> {
    Ok(ScriptingSystem::new(ScriptingConfig {
        workers: 2,
        state: StateConfig {
            script_roots: vec![dir.to_path_buf()],
            ..StateConfig::default()
        },
        ..ScriptingConfig::default()
    })?)
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn frames(system: &mut ScriptingSystem, behaviours: &mut Behaviours, n: usize) {
    for _ in 0..n {
        let report = behaviours.frame(system, 1.0 / 60.0);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }
}

fn get(
    system: &ScriptingSystem,
    behaviours: &Behaviours,
    id: zephyr_runtime::BehaviourId,
) -> String {
    match behaviours.call(system, id, "get", ()) {
        Ok(values) => values
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        Err(e) => format!("error: {e}"),
    }
}

const V1: &str = "count = count or 0
function on_update(self, dt) count = count + 1 end
function get() return 'v1', count, reloads or 0 end
";

#[test]
fn a_reload_replaces_functions_and_keeps_each_instances_state() -> Result {
    let dir = tempfile::tempdir()?;
    write(dir.path(), "mover.lua", V1);
    let mut system = system(dir.path())?;
    let mut behaviours = Behaviours::new();
    let path = dir.path().join("mover.lua");
    let script = ScriptSource::from_file(&path, "mover.lua")?;
    let a = system.world().write().create()?;
    let b = system.world().write().create()?;
    let first = behaviours.attach(&system, a, &script)?;
    frames(&mut system, &mut behaviours, 3);
    // A second instance attached later has its own, smaller count.
    let second = behaviours.attach_parallel(&system, b, &script)?;
    frames(&mut system, &mut behaviours, 2);
    assert_eq!(get(&system, &behaviours, first), "v1 5 0");
    assert_eq!(get(&system, &behaviours, second), "v1 2 0");

    write(
        dir.path(),
        "mover.lua",
        "count = count or 0
         function on_update(self, dt) count = count + 10 end
         function get() return 'v2', count, reloads end
         function on_reload(self) reloads = (reloads or 0) + 1 end",
    );
    let report = behaviours.reload(&system, &path);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.scripts, ["mover.lua"]);
    assert_eq!(report.instances, 2);
    assert_eq!(get(&system, &behaviours, first), "v2 5 1");
    assert_eq!(get(&system, &behaviours, second), "v2 2 1");
    // The new on_update runs, on the main thread and on the workers.
    frames(&mut system, &mut behaviours, 1);
    assert_eq!(get(&system, &behaviours, first), "v2 15 1");
    assert_eq!(get(&system, &behaviours, second), "v2 12 1");

    // A version that does not compile is reported once, not per instance.
    write(dir.path(), "mover.lua", "function get(");
    let report = behaviours.reload(&system, &path);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(report.instances, 0);
    assert_eq!(get(&system, &behaviours, second), "v2 12 1");
    Ok(())
}

#[test]
fn a_broken_version_leaves_the_old_one_running_and_a_fixed_one_loads() -> Result {
    let dir = tempfile::tempdir()?;
    write(dir.path(), "mover.lua", V1);
    let mut system = system(dir.path())?;
    let mut behaviours = Behaviours::new();
    let path = dir.path().join("mover.lua");
    let e = system.world().write().create()?;
    let id = behaviours.attach(&system, e, &ScriptSource::from_file(&path, "mover.lua")?)?;
    frames(&mut system, &mut behaviours, 2);

    // Does not compile.
    write(dir.path(), "mover.lua", "function get( return 'broken' end");
    let report = behaviours.reload(&system, &path);
    assert_eq!(report.instances, 0);
    assert!(
        report.scripts.is_empty(),
        "a script nothing reloaded is not named as reloaded: {:?}",
        report.scripts
    );
    assert_eq!(report.errors.len(), 1);
    let message = report.errors[0].to_string();
    assert!(message.contains("mover.lua:1:"), "{message}");
    assert!(message.contains("reloading mover.lua"), "{message}");
    frames(&mut system, &mut behaviours, 1);
    assert_eq!(get(&system, &behaviours, id), "v1 3 0");

    // Compiles, but its top-level code raises after defining things: the
    // environment is put back as it was.
    write(
        dir.path(),
        "mover.lua",
        "function get() return 'half' end\nfunction extra() return 1 end\nerror('boom')",
    );
    let report = behaviours.reload(&system, &path);
    assert_eq!(report.errors.len(), 1);
    assert!(
        report.errors[0].to_string().contains("mover.lua:3: boom"),
        "{}",
        report.errors[0]
    );
    assert_eq!(get(&system, &behaviours, id), "v1 3 0");
    assert!(
        behaviours.call(&system, id, "extra", ()).is_err(),
        "what the failed version defined is gone"
    );

    // on_reload raises: the same.
    write(
        dir.path(),
        "mover.lua",
        "function get() return 'v3' end\nfunction on_reload(self) error('nope') end",
    );
    let report = behaviours.reload(&system, &path);
    assert_eq!(report.errors.len(), 1);
    assert!(report.scripts.is_empty(), "{:?}", report.scripts);
    assert!(report.errors[0].to_string().contains("nope"));
    assert_eq!(get(&system, &behaviours, id), "v1 3 0");

    // Fixed: it loads.
    write(dir.path(), "mover.lua", &V1.replace("'v1'", "'v4'"));
    let report = behaviours.reload(&system, &path);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(get(&system, &behaviours, id), "v4 3 0");
    Ok(())
}

#[test]
fn a_required_module_is_reloaded_in_place_for_every_instance_that_uses_it() -> Result {
    let dir = tempfile::tempdir()?;
    write(
        dir.path(),
        "util.lua",
        "return { greet = function() return 'hi' end }",
    );
    write(
        dir.path(),
        "user.lua",
        "local util = require 'util'
         function get() return util.greet(), reloads or 0 end
         function on_reload(self) reloads = (reloads or 0) + 1 end",
    );
    write(
        dir.path(),
        "other.lua",
        "function get() return 'no util' end",
    );
    let mut system = system(dir.path())?;
    let mut behaviours = Behaviours::new();
    let e = system.world().write().create()?;
    let f = system.world().write().create()?;
    let user = behaviours.attach(
        &system,
        e,
        &ScriptSource::from_file(&dir.path().join("user.lua"), "user.lua")?,
    )?;
    let other = behaviours.attach(
        &system,
        f,
        &ScriptSource::from_file(&dir.path().join("other.lua"), "other.lua")?,
    )?;
    frames(&mut system, &mut behaviours, 1);
    assert_eq!(get(&system, &behaviours, user), "hi 0");

    write(
        dir.path(),
        "util.lua",
        "return { greet = function() return 'hello' end }",
    );
    let report = behaviours.reload(&system, &dir.path().join("util.lua"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.modules, ["util"]);
    assert_eq!(report.instances, 1, "only the instance that required it");
    assert_eq!(get(&system, &behaviours, user), "hello 1");
    assert_eq!(get(&system, &behaviours, other), "no util");

    // A module that no longer compiles keeps the old one.
    write(dir.path(), "util.lua", "return {");
    let report = behaviours.reload(&system, &dir.path().join("util.lua"));
    assert_eq!(report.errors.len(), 1);
    assert!(
        report.errors[0].to_string().contains("util.lua"),
        "{}",
        report.errors[0]
    );
    assert_eq!(get(&system, &behaviours, user), "hello 1");

    // A file that is neither: nothing.
    write(dir.path(), "notes.lua", "return 1");
    assert!(
        behaviours
            .reload(&system, &dir.path().join("notes.lua"))
            .is_empty()
    );
    Ok(())
}

/// The turret of issue 19: a task counting shots into a top-level local,
/// and a table of enemies in another.
const TURRET_V1: &str = "
local shots = 0
local enemies = {}
local burst = 3
function on_start(self)
    enemies[#enemies + 1] = 'Enemy 1'
    zephyr.task.every(0.1, function() shots = shots + 1 end)
end
function get() return 'v1', shots, #enemies, burst end
";

const TURRET_V2: &str = "
local shots = 0
local enemies = {}
local alarm = 'new'
function on_start(self) end
function get() return 'v2', shots, #enemies, alarm end
function on_reload(self) enemies[#enemies + 1] = 'Enemy 2' end
";

#[test]
fn a_reload_keeps_top_level_locals_and_the_old_task_counts_into_them() -> Result {
    let dir = tempfile::tempdir()?;
    write(dir.path(), "turret.lua", TURRET_V1);
    let mut system = system(dir.path())?;
    let mut behaviours = Behaviours::new();
    let path = dir.path().join("turret.lua");
    let turret = system.world().write().create()?;
    let id = behaviours.attach(
        &system,
        turret,
        &ScriptSource::from_file(&path, "turret.lua")?,
    )?;
    // 30 frames of 1/60 s: the 0.1 s task ran 4 times (at 0.1 .. 0.4 s,
    // give or take the frame it lands in).
    frames(&mut system, &mut behaviours, 30);
    let before = get(&system, &behaviours, id);
    let shots_before: u32 = before.split(' ').nth(1).unwrap().parse()?;
    assert!(shots_before >= 4, "{before}");
    assert!(before.ends_with(" 1 3"), "{before}");

    write(dir.path(), "turret.lua", TURRET_V2);
    let report = behaviours.reload(&system, &path);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        report.dropped_locals,
        [("turret.lua".to_owned(), "burst".to_owned())]
    );
    // Kept: the count and the table (on_reload added to the same table).
    assert_eq!(
        get(&system, &behaviours, id),
        format!("v2 {shots_before} 2 new")
    );
    // The old task keeps running with the old function, into the same
    // `shots` the new code reads.
    frames(&mut system, &mut behaviours, 30);
    let after = get(&system, &behaviours, id);
    let shots_after: u32 = after.split(' ').nth(1).unwrap().parse()?;
    assert!(shots_after >= shots_before + 4, "{before} -> {after}");
    Ok(())
}

#[test]
fn parallel_behaviours_keep_their_locals_too() -> Result {
    let dir = tempfile::tempdir()?;
    let v1 = "local steps = 0\nlocal speed = 1\nfunction on_update(self, dt) steps = steps + speed end\nfunction get() return steps end";
    write(dir.path(), "walker.lua", v1);
    let mut system = system(dir.path())?;
    let mut behaviours = Behaviours::new();
    let path = dir.path().join("walker.lua");
    let e = system.world().write().create()?;
    let id =
        behaviours.attach_parallel(&system, e, &ScriptSource::from_file(&path, "walker.lua")?)?;
    frames(&mut system, &mut behaviours, 5);
    assert_eq!(get(&system, &behaviours, id), "5");
    // A changed initial value is taken; the count is kept.
    write(
        dir.path(),
        "walker.lua",
        &v1.replace("speed = 1", "speed = 10"),
    );
    let report = behaviours.reload(&system, &path);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    frames(&mut system, &mut behaviours, 2);
    assert_eq!(get(&system, &behaviours, id), "25");
    Ok(())
}

#[test]
fn a_reloaded_module_keeps_its_top_level_locals() -> Result {
    let dir = tempfile::tempdir()?;
    write(
        dir.path(),
        "counter.lua",
        "local hits = 0\nlocal step = 1\nlocal old_only = true\nlocal M = {}\n\
         function M.hit() hits = hits + step return hits end\nreturn M",
    );
    write(
        dir.path(),
        "user.lua",
        "local counter = require 'counter'\n\
         function on_update(self, dt) counter.hit() end\n\
         function get() return counter.hit() end",
    );
    let mut system = system(dir.path())?;
    let mut behaviours = Behaviours::new();
    let e = system.world().write().create()?;
    let script = ScriptSource::from_file(&dir.path().join("user.lua"), "user.lua")?;
    let id = behaviours.attach(&system, e, &script)?;
    frames(&mut system, &mut behaviours, 4);
    assert_eq!(get(&system, &behaviours, id), "5");
    // The new version: `step` changed (taken), `hits` kept, `old_only`
    // dropped, and the function the behaviour holds is the new one.
    write(
        dir.path(),
        "counter.lua",
        "local hits = 0\nlocal step = 10\nlocal M = {}\n\
         function M.hit() hits = hits + step return hits end\nreturn M",
    );
    let report = behaviours.reload(&system, &dir.path().join("counter.lua"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.modules, ["counter"]);
    assert_eq!(
        report.dropped_locals,
        [("counter".to_owned(), "old_only".to_owned())]
    );
    assert_eq!(get(&system, &behaviours, id), "15");
    Ok(())
}
