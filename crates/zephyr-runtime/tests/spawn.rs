//! Prefabs and spawning: entities with behaviours made by scripts (on the
//! main thread, in worker jobs, in parallel updates) and by the engine,
//! their `on_start` at the next start phase in spawn order, and the errors
//! that name the prefab, the key and the call site.

use std::sync::Arc;

use parking_lot::Mutex;
use zephyr_runtime::prefab::EntityTemplate;
use zephyr_runtime::world::glam::DVec3;
use zephyr_runtime::world::{World, WorldRead};
use zephyr_runtime::{Job, ScriptSource, Scripting, ScriptingConfig, StateConfig};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;
type Lines = Arc<Mutex<Vec<String>>>;

/// A bullet: says when it starts, flies along -Z, and destroys itself
/// when it hits something tagged `enemy` (or after 5 frames).
const BULLET: &str = "
local age = 0
function on_start(self)
    print('start ' .. zephyr.entity.get_name(self))
end
function on_update(self, dt)
    age = age + 1
    zephyr.transform.translate(self, 0, 0, -1)
    local x, y, z = zephyr.transform.get_position(self)
    local hit = zephyr.entity.within(x, y, z, 0.5, 'enemy')[1]
    if hit then
        zephyr.entity.destroy(hit)
        zephyr.entity.destroy(self)
    elseif age >= 5 then
        zephyr.entity.destroy(self)
    end
end
function on_destroy(self)
    print('gone ' .. zephyr.entity.get_name(self))
end";

fn scripting(workers: usize, dir: Option<&std::path::Path>) -> Result<(Scripting, Lines)> {
    let lines: Lines = Arc::default();
    let sink = lines.clone();
    let mut state = StateConfig::default();
    if let Some(dir) = dir {
        state.script_roots = vec![dir.to_path_buf()];
    }
    let scripting = Scripting::new(ScriptingConfig {
        workers,
        state,
        print: Some(zephyr_runtime::api::line_sink(move |line: &[u8]| {
            sink.lock().push(String::from_utf8_lossy(line).into_owned())
        })),
        ..ScriptingConfig::default()
    })?;
    scripting.add_prefab(
        "Bullet",
        EntityTemplate {
            tags: Some(vec!["bullet".into()]),
            script: Some(ScriptSource::new("bullet.lua", BULLET)),
            parallel: Some(true),
            ..EntityTemplate::default()
        },
    )?;
    scripting.add_prefab(
        "Enemy",
        EntityTemplate {
            tags: Some(vec!["enemy".into()]),
            ..EntityTemplate::default()
        },
    )?;
    Ok((scripting, lines))
}

/// A turret (a main-thread behaviour) spawning from its update: one bullet
/// per frame for six frames, from three places, each named.
const TURRET: &str = "
local shots = 0
function on_update(self, dt)
    shots = shots + 1
    if shots <= 6 then
        local b = zephyr.entity.spawn{prefab = 'Bullet', name = 'b' .. shots,
                                      position = {shots % 3, 0, 0}}
        assert(zephyr.entity.exists(b) and zephyr.entity.has_tag(b, 'bullet'))
    end
end";

fn turret_run(workers: usize) -> Result<Vec<String>> {
    let (mut scripting, lines) = scripting(workers, None)?;
    for x in 0..3 {
        scripting.spawn("Enemy", Some(DVec3::new(x as f64, 0.0, -3.0)))?;
    }
    let turret = scripting.world().write().create()?;
    scripting.attach(turret, &ScriptSource::new("turret.lua", TURRET))?;
    for frame in 0..12 {
        lines.lock().push(format!("-- frame {frame}"));
        let report = scripting.frame(1.0 / 60.0);
        assert!(report.is_clean(), "{report:?}");
    }
    let left = scripting.world().read().tagged("enemy")?.len();
    lines.lock().push(format!("enemies left: {left}"));
    Ok(lines.lock().clone())
}

#[test]
fn spawned_behaviours_start_at_the_next_start_phase_in_spawn_order() -> Result {
    let lines = turret_run(2)?;
    // Frame 0: the turret's first update spawns b1; b1 starts in frame 1.
    let frame_1 = lines.iter().position(|l| l == "-- frame 1").unwrap();
    assert_eq!(lines[frame_1 + 1], "start b1");
    let starts: Vec<&String> = lines.iter().filter(|l| l.starts_with("start")).collect();
    assert_eq!(
        starts,
        [
            "start b1", "start b2", "start b3", "start b4", "start b5", "start b6"
        ]
    );
    // b3 (x = 0) hits the enemy at x = 0 on its third move; so do b1 and
    // b2 at x = 1 and 2; the later bullets find nothing and expire.
    assert!(lines.contains(&"gone b1".to_owned()), "{lines:#?}");
    assert_eq!(lines.last().unwrap(), "enemies left: 0");
    assert_eq!(lines.iter().filter(|l| l.starts_with("gone")).count(), 6);
    for workers in [1, 4] {
        assert_eq!(turret_run(workers)?, lines, "{workers} workers");
    }
    Ok(())
}

#[test]
fn worker_jobs_and_parallel_updates_spawn_in_order() -> Result {
    let run = |workers: usize| -> Result<Vec<String>> {
        let (mut scripting, lines) = scripting(workers, None)?;
        let spawner = "
            local n = 0
            function on_update(self, dt)
                n = n + 1
                if n == 1 then
                    local e = zephyr.entity.spawn('Bullet', 0, 0, 100)
                    zephyr.entity.set_name(e, zephyr.entity.get_name(self) .. '-child')
                end
            end";
        for i in 0..6 {
            let e = scripting.world().write().create()?;
            scripting.execute(&format!("zephyr.entity.set_name({e}, 'p{i}')"), "name.lua");
            scripting.attach_parallel(e, &ScriptSource::new("spawner.lua", spawner))?;
        }
        let job = scripting.enqueue(Job::new(
            "local e = zephyr.entity.spawn{prefab = 'Bullet', name = 'from-job', position = {0, 0, 50}}
             return zephyr.entity.exists(e) and zephyr.transform.get_position(e)",
        ))?;
        assert_eq!(scripting.wait(job).to_string(), "0.0");
        for _ in 0..3 {
            let report = scripting.frame(1.0 / 60.0);
            assert!(report.is_clean(), "{report:?}");
        }
        Ok(lines.lock().clone())
    };
    let one = run(1)?;
    assert_eq!(
        one.iter()
            .filter(|l| l.starts_with("start"))
            .collect::<Vec<_>>(),
        [
            "start from-job",
            "start p0-child",
            "start p1-child",
            "start p2-child",
            "start p3-child",
            "start p4-child",
            "start p5-child"
        ]
    );
    assert_eq!(run(2)?, one);
    assert_eq!(run(4)?, one);
    Ok(())
}

#[test]
fn spawn_errors_name_the_prefab_the_key_and_the_call_site() -> Result {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir(dir.path().join("scripts"))?;
    std::fs::write(
        dir.path().join("scripts/mine.lua"),
        "function on_start(self) print('mine started') end",
    )?;
    let (mut scripting, lines) = scripting(1, Some(dir.path()))?;
    let cases = [
        (
            "zephyr.entity.spawn('Bulet')",
            "zephyr.entity.spawn: no prefab 'Bulet' (did you mean: Bullet?)",
        ),
        (
            "zephyr.entity.spawn{prefab = 'Bullet', positon = {1, 2, 3}}",
            "zephyr.entity.spawn: a spawn table has no key 'positon' (did you mean: position?)",
        ),
        (
            "zephyr.entity.spawn{prefab = 'Bullet', position = 'here'}",
            "zephyr.entity.spawn: prefab 'Bullet': key 'position' must be {x, y, z} (three numbers), got string",
        ),
        (
            "zephyr.entity.spawn{position = {1, 2}}",
            "zephyr.entity.spawn: key 'position' must be {x, y, z} (three finite numbers)",
        ),
        (
            "zephyr.entity.spawn{prefab = 'Enemy', light = {intensity = -1}}",
            "zephyr.entity.spawn: prefab 'Enemy': light intensity must not be negative",
        ),
        (
            "zephyr.entity.spawn{light = {intensty = 1}}",
            "zephyr.entity.spawn: key 'light' has no key 'intensty' (did you mean: intensity?)",
        ),
        (
            "zephyr.entity.spawn{tags = {'a', 3}}",
            "zephyr.entity.spawn: key 'tags' must be an array of strings, and holds a number",
        ),
        (
            "zephyr.entity.spawn{parallel = true}",
            "zephyr.entity.spawn: 'parallel' needs a 'script'",
        ),
        (
            "zephyr.entity.spawn{script = 'scripts/nope.lua'}",
            "zephyr.entity.spawn: key 'script' names no script: cannot find 'scripts/nope.lua' in the script roots",
        ),
        (
            "zephyr.entity.spawn('Bullet', 1, 2)",
            "zephyr.entity.spawn: prefab 'Bullet': give the position as three numbers x, y, z, or none",
        ),
        (
            "zephyr.entity.spawn(42)",
            "zephyr.entity.spawn: argument 1 (prefab) must be a prefab name or a table of keys, got number",
        ),
        (
            "zephyr.entity.spawn{prefab = 'Bullet', name = 'ok'}\nzephyr.entity.spawn{prefab = 'Nope'}",
            "zephyr.entity.spawn: no prefab 'Nope'",
        ),
    ];
    for (source, message) in cases {
        let line = source.lines().count();
        let outcome = scripting.execute(source, "level.lua");
        let error = outcome.error().unwrap_or_else(|| panic!("{source}"));
        assert!(
            error
                .message
                .starts_with(&format!("level.lua:{line}: {message}")),
            "{source}:\n  got {}\n  want level.lua:{line}: {message}",
            error.message
        );
        // The same from a worker job.
        let job = scripting.enqueue(Job::new(source).chunk_name("job.lua"))?;
        let outcome = scripting.wait(job);
        let error = outcome.error().unwrap_or_else(|| panic!("{source}"));
        assert!(
            error
                .message
                .starts_with(&format!("job.lua:{line}: {message}")),
            "{}",
            error.message
        );
    }
    // The failed jobs' errors land in the next frame's report too.
    let report = scripting.frame(0.1);
    assert_eq!(report.update.errors.len(), cases.len(), "{report:?}");
    assert!(report.errors.is_empty(), "{report:?}");
    // A script by path, under the script roots.
    let outcome = scripting.execute(
        "return zephyr.entity.spawn{script = 'scripts/mine.lua', tags = {'mine'}}",
        "level.lua",
    );
    assert!(outcome.is_ok(), "{outcome}");
    let report = scripting.frame(0.1);
    assert!(report.is_clean(), "{report:?}");
    assert!(lines.lock().contains(&"mine started".to_owned()));
    // Bad prefabs are refused where they are declared.
    let bad = scripting.add_prefab(
        "Broken",
        EntityTemplate {
            scale: Some(DVec3::new(f64::NAN, 1.0, 1.0)),
            ..EntityTemplate::default()
        },
    );
    assert!(
        bad.unwrap_err()
            .to_string()
            .contains("prefab 'Broken': scale"),
        "names the prefab and the key"
    );
    Ok(())
}

#[test]
fn a_spawn_destroyed_before_its_start_gets_no_callbacks() -> Result {
    let (mut scripting, lines) = scripting(1, None)?;
    let outcome = scripting.execute(
        "local e = zephyr.entity.spawn{prefab = 'Bullet', name = 'brief'}
         zephyr.entity.destroy(e)
         return zephyr.entity.exists(e)",
        "main.lua",
    );
    assert_eq!(outcome.to_string(), "false");
    assert!(scripting.frame(0.1).is_clean());
    assert!(scripting.behaviours().is_empty());
    assert!(lines.lock().is_empty(), "{:?}", lines.lock());
    // One destroyed after its start gets its on_destroy, as a scene's do.
    let e = scripting.spawn("Bullet", None)?;
    scripting.execute(&format!("zephyr.entity.set_name({e}, 'later')"), "main.lua");
    assert!(scripting.frame(0.1).is_clean());
    scripting.execute(&format!("zephyr.entity.destroy({e})"), "main.lua");
    assert!(scripting.frame(0.1).is_clean());
    assert_eq!(*lines.lock(), ["start later", "gone later"]);
    assert!(!scripting.world_ref::<World>().unwrap().exists(e));
    Ok(())
}

#[test]
fn a_reload_reaches_prefabs_so_later_spawns_run_the_new_version() -> Result {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("mine.lua");
    std::fs::write(&path, "function on_start(self) print('v1') end")?;
    let (mut scripting, lines) = scripting(1, Some(dir.path()))?;
    scripting.add_prefab(
        "Mine",
        EntityTemplate {
            script: Some(ScriptSource::from_file(&path, "mine.lua")?),
            ..EntityTemplate::default()
        },
    )?;
    // Spawned by name, and by path (the spawn script cache).
    scripting.execute(
        "zephyr.entity.spawn('Mine') zephyr.entity.spawn{script = 'mine.lua'}",
        "level.lua",
    );
    assert!(scripting.frame(0.1).is_clean());
    std::fs::write(&path, "function on_start(self) print('v2') end")?;
    let (behaviours, system) = scripting.parts_mut();
    let report = behaviours.reload(system, &path);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.scripts, ["mine.lua"]);
    scripting.execute(
        "zephyr.entity.spawn('Mine') zephyr.entity.spawn{script = 'mine.lua'}",
        "level.lua",
    );
    assert!(scripting.frame(0.1).is_clean());
    assert_eq!(*lines.lock(), ["v1", "v1", "v2", "v2"]);
    // The prefab takes every new version.
    std::fs::write(&path, "function on_start(self) print('v3') end")?;
    let fresh = scripting.system().prefab("Mine").expect("prefab");
    assert_eq!(
        fresh.script.as_ref().map(|s| s.text().to_vec()),
        Some(b"function on_start(self) print('v2') end".to_vec())
    );
    let (behaviours, system) = scripting.parts_mut();
    behaviours.reload(system, &path);
    let fresh = scripting.system().prefab("Mine").expect("prefab");
    assert!(String::from_utf8_lossy(fresh.script.as_ref().unwrap().text()).contains("v3"));
    Ok(())
}

#[test]
fn spawns_from_rust_fail_with_a_spawn_error_naming_the_prefab() -> Result {
    let (scripting, _) = scripting(1, None)?;
    match scripting.spawn("Bulet", None) {
        Err(zephyr_runtime::Error::Spawn(why)) => {
            assert_eq!(why, "no prefab 'Bulet' (did you mean: Bullet?)")
        }
        other => panic!("{other:?}"),
    }
    let far = DVec3::new(f64::NAN, 0.0, 0.0);
    let error = scripting.spawn("Enemy", Some(far)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot spawn: prefab 'Enemy': position must be finite (not NaN or infinite)"
    );
    let template = EntityTemplate {
        parallel: Some(true),
        ..EntityTemplate::default()
    };
    assert!(matches!(
        scripting.spawn_template(&template),
        Err(zephyr_runtime::Error::Spawn(why)) if why == "'parallel' needs a 'script'"
    ));
    Ok(())
}
