//! The `zephyr` binary, run as a user would: stdout, stderr and exit status.

use std::process::Command;

mod common;
use common::{Run, files, zephyr};

#[test]
fn script_mode_numbers_frames_and_time() {
    let dir = files(&[(
        "game.lua",
        "print('load', zephyr.time.frame(), zephyr.time.delta(), zephyr.time.elapsed(), zephyr.scene.get_name())
         function on_update(dt)
             print('frame', zephyr.time.frame(), dt, zephyr.time.elapsed())
         end",
    )]);
    let run = zephyr(
        dir.path(),
        &["run", "game.lua", "--frames", "3", "--dt", "0.5"],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "load\t0\t0.0\t0.0\tgame\nframe\t1\t0.5\t0.5\nframe\t2\t0.5\t1.0\nframe\t3\t0.5\t1.5\n"
    );
    assert!(run.stderr.contains("frames: 3"), "{}", run.stderr);
    assert!(run.stderr.contains("errors: 0"), "{}", run.stderr);
}

#[test]
fn a_script_without_on_update_ends_after_its_chunk_and_one_update() {
    let dir = files(&[(
        "once.lua",
        "cvar.register('x', 1)
         cvar.on_change('x', function(n, o, v) print('changed', o, v) end)
         cvar.set('x', 2)
         console.execute('lua print(\"from a worker\")')
         print('chunk done')",
    )]);
    let run = zephyr(dir.path(), &["run", "once.lua"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    // update() calls handlers for pending changes first, then applies worker output.
    assert_eq!(run.stdout, "chunk done\nchanged\t1\t2\nfrom a worker\n");
    assert!(run.stderr.contains("frames: 0"));
}

#[test]
fn quit_ends_the_run_after_its_frame() {
    let dir = files(&[(
        "q.lua",
        "function on_update() print(zephyr.time.frame()) if zephyr.time.frame() == 2 then console.execute('quit') end end",
    )]);
    let run = zephyr(dir.path(), &["run", "q.lua"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "1\n2\n");
}

#[test]
fn set_gives_cvars_before_anything_runs() {
    let dir = files(&[(
        "s.lua",
        "cvar.register('mod_speed', 1.5)
         print(cvar.get('mod_speed'), cvar.get('phys_gravity'))",
    )]);
    let run = zephyr(
        dir.path(),
        &[
            "run",
            "s.lua",
            "--set",
            "mod_speed=4",
            "--set",
            "phys_gravity=-1",
        ],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "4.0\t-1.0\n");
    let bad = zephyr(dir.path(), &["run", "s.lua", "--set", "phys_gravity=down"]);
    assert_eq!(bad.status, 2);
    assert!(bad.stderr.contains("phys_gravity"), "{}", bad.stderr);
    let malformed = zephyr(dir.path(), &["run", "s.lua", "--set", "novalue"]);
    assert_eq!(malformed.status, 2);
}

#[test]
fn errors_name_file_line_callback_and_entity_and_strict_stops() {
    let dir = files(&[
        (
            "scene.toml",
            "name = \"t\"\n[[entities]]\nname = \"Player\"\nscript = \"scripts/player.lua\"\n",
        ),
        (
            "scripts/player.lua",
            "function on_update(self, dt)\n  local t = nil\n  print(zephyr.time.frame())\n  return t.x\nend\n",
        ),
    ]);
    let run = zephyr(dir.path(), &["run", "scene.toml", "--frames", "2"]);
    assert_eq!(run.status, 0, "without --strict the run goes on");
    assert_eq!(run.stdout, "1\n2\n");
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("attempt to index"))
        .unwrap_or_default();
    assert!(
        line.starts_with("scripts/player.lua:4: attempt to index a nil value (local 't') (callback on_update, entity "),
        "{}",
        run.stderr
    );
    assert!(line.ends_with("\"Player\")"), "{line}");
    assert!(run.stderr.contains("stack traceback"), "{}", run.stderr);
    assert!(run.stderr.contains("errors: 2"), "{}", run.stderr);

    let strict = zephyr(
        dir.path(),
        &["run", "scene.toml", "--frames", "2", "--strict"],
    );
    assert_eq!(strict.status, 1);
    assert_eq!(strict.stdout, "1\n");
}

#[test]
fn input_replay_drives_both_input_apis() {
    let dir = files(&[
        (
            "i.lua",
            "function on_update()
                 print(zephyr.time.frame(), zephyr.input.is_key_down(Key.W), input.isKeyPressed('Space'),
                       zephyr.input.is_mouse_button_down(0), zephyr.input.get_mouse_position())
             end",
        ),
        ("walk.input", "# replay\n2 key_down W\n3 key_down Space\n3 mouse_move 10 20\n4 key_up W\n4 button_down 0\n"),
    ]);
    let run = zephyr(
        dir.path(),
        &["run", "i.lua", "--frames", "4", "--input", "walk.input"],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "1\tfalse\tfalse\tfalse\t0.0\t0.0\n2\ttrue\tfalse\tfalse\t0.0\t0.0\n3\ttrue\ttrue\tfalse\t10.0\t20.0\n4\tfalse\ttrue\ttrue\t10.0\t20.0\n"
    );
}

#[test]
fn malformed_input_files_stop_before_frame_one() {
    let dir = files(&[
        ("i.lua", "function on_update() print('ran') end"),
        ("bad.input", "1 key_down W\n2 fly away\n"),
    ]);
    let run = zephyr(
        dir.path(),
        &["run", "i.lua", "--frames", "3", "--input", "bad.input"],
    );
    assert_eq!(run.status, 2);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("bad.input: line 2: expected"),
        "{}",
        run.stderr
    );
}

#[test]
fn entities_get_their_own_instances_and_callbacks_run_in_order() {
    let dir = files(&[
        (
            "scene.toml",
            "name = \"order\"\n\
             [[entities]]\nname = \"A\"\nscript = \"s.lua\"\n\
             [[entities]]\nname = \"B\"\nscript = \"s.lua\"\n\
             [[entities]]\nname = \"Doomed\"\nscript = \"doomed.lua\"\n",
        ),
        (
            "s.lua",
            "local count = 0
             function on_start(self) shared = (shared or 0) + 1 print('start', zephyr.entity.get_name(self), shared) end
             function on_update(self, dt) count = count + 1 print('update', zephyr.entity.get_name(self), count) end
             function on_destroy(self) print('destroy', zephyr.entity.get_name(self)) end",
        ),
        (
            "doomed.lua",
            "function on_update(self) if zephyr.time.frame() == 1 then zephyr.entity.destroy(self) end end
             function on_destroy(self) print('destroy doomed', zephyr.entity.exists(self), zephyr.transform.get_position(self)) end",
        ),
    ]);
    let run = zephyr(dir.path(), &["run", "scene.toml", "--frames", "2"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    // on_destroy runs before the entity goes: it still exists and reads.
    assert_eq!(
        run.stdout,
        "start\tA\t1\nstart\tB\t1\n\
         update\tA\t1\nupdate\tB\t1\ndestroy doomed\ttrue\t0.0\t0.0\t0.0\n\
         update\tA\t2\nupdate\tB\t2\n\
         destroy\tA\ndestroy\tB\n"
    );
}

#[test]
fn require_reads_beside_the_scene_only() {
    let dir = files(&[
        (
            "game/scene.toml",
            "name = \"r\"\n[[entities]]\nscript = \"main.lua\"\n",
        ),
        (
            "game/main.lua",
            "local m = require('lib.math2') print(m.double(21)) print(pcall(require, '..secret'))",
        ),
        (
            "game/lib/math2.lua",
            "return { double = function(x) return x * 2 end }",
        ),
        ("secret.lua", "return 'leaked'"),
    ]);
    let run = zephyr(dir.path(), &["run", "game/scene.toml", "--frames", "1"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some("42"));
    let refused = lines.next().unwrap_or_default();
    assert!(
        refused.starts_with("false\trequire: invalid module name '..secret'"),
        "{refused}"
    );
    let dofile = files(&[
        (
            "game/scene.toml",
            "name = \"r\"\n[[entities]]\nscript = \"main.lua\"\n",
        ),
        ("game/main.lua", "print(pcall(dofile, '../secret.lua'))"),
        ("secret.lua", "return 'leaked'"),
    ]);
    let run = zephyr(dofile.path(), &["run", "game/scene.toml", "--frames", "1"]);
    assert!(run.stdout.starts_with("false\t"), "{}", run.stdout);
    assert!(
        run.stdout.contains("outside the script roots"),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_scene_files_are_refused_before_anything_runs() {
    let cases: &[(&str, &str)] = &[
        (
            "name = \"x\"\n[[entities]]\npositon = [0, 0, 0]\n",
            "line 3: entities[0]: unknown field `positon`",
        ),
        (
            "name = \"x\"\n[[entities]]\n[[entities]]\nposition = \"here\"\n",
            "line 4: entities[1].position: invalid type",
        ),
        (
            "name = \"x\"\n[[entities]]\nname = \"P\"\nscript = \"missing.lua\"\n",
            "entities[0] (\"P\"): script 'missing.lua' cannot be read",
        ),
        (
            "name = \"x\"\n[[entities]]\nbody = { mass = 0 }\n",
            "entities[0]: mass must be greater than 0",
        ),
        (
            "name = \"x\"\n[[entities]]\nlight = { intensity = -1 }\n",
            "entities[0]: light intensity must not be negative",
        ),
        ("[[entities]]\nname = \"x\"\n", "missing field `name`"),
        (
            "name = \"x\"\n[cvars]\nr_table = { a = 1 }\n",
            "cvars.r_table",
        ),
        ("name = \"x\"\nextra = 1\n", "unknown field `extra`"),
    ];
    for (scene, expected) in cases {
        let dir = files(&[("scene.toml", scene), ("ok.lua", "print('ran')")]);
        let run = zephyr(dir.path(), &["run", "scene.toml", "--frames", "1"]);
        assert_eq!(run.status, 2, "{scene}: {}", run.stderr);
        assert_eq!(run.stdout, "", "nothing ran for {scene}");
        assert!(
            run.stderr.contains("scene.toml: ") && run.stderr.contains(expected),
            "{scene}: {}",
            run.stderr
        );
    }
}

#[test]
fn the_sandbox_is_on_by_default_and_trusted_opts_out() {
    // The safe profile keeps `io.write` and reading inside the roots; what
    // reaches the machine refuses, naming itself.
    let dir = files(&[(
        "t.lua",
        "print(pcall(os.getenv, 'HOME')) print(pcall(io.popen, 'ls')) print(io.type(io.stdout))",
    )]);
    let safe = zephyr(dir.path(), &["run", "t.lua"]).stdout;
    let lines: Vec<&str> = safe.lines().collect();
    assert!(
        lines[0].starts_with(
            "false\tos.getenv: reading the environment is left out of the safe profile"
        ),
        "{safe}"
    );
    assert!(
        lines[1].starts_with("false\tio.popen: running programs is left out"),
        "{safe}"
    );
    assert_eq!(lines[2], "file");
    let trusted = zephyr(dir.path(), &["run", "t.lua", "--trusted"]).stdout;
    assert!(trusted.starts_with("true\t"), "{trusted}");
}

#[test]
fn the_budget_stops_runaway_callbacks() {
    let dir = files(&[("spin.lua", "function on_update() while true do end end")]);
    let run = zephyr(
        dir.path(),
        &["run", "spin.lua", "--frames", "2", "--budget", "100000"],
    );
    assert_eq!(run.status, 0);
    assert!(
        run.stderr
            .contains("spin.lua:1: instruction budget of 100000 exceeded (callback on_update)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("errors: 2"), "{}", run.stderr);
}

#[test]
fn the_trace_file_is_chrome_json_with_frame_spans() {
    let dir = files(&[(
        "t.lua",
        "function on_update() console.execute('lua local x = 0 for i = 1, 100 do x = x + i end') end",
    )]);
    let run = zephyr(
        dir.path(),
        &[
            "run",
            "t.lua",
            "--frames",
            "3",
            "--workers",
            "2",
            "--trace",
            "trace.json",
        ],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(dir.path().join("trace.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let events = json.as_array().expect("an array of trace events");
    let named = |name: &str| events.iter().filter(|e| e["name"] == name).count();
    assert!(named("frame") >= 3, "{} frame events", named("frame"));
    assert!(
        named("on_update t.lua") >= 3,
        "a global behaviour's callbacks"
    );
    let jobs = events
        .iter()
        .filter(|e| {
            e["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("job [lua from t.lua:1]"))
        })
        .count();
    assert!(jobs >= 3, "worker job spans named for their chunk: {jobs}");
    let threads: std::collections::BTreeSet<_> =
        events.iter().filter_map(|e| e["tid"].as_u64()).collect();
    assert!(
        threads.len() >= 2,
        "spans from the main thread and the workers"
    );
}

/// The trace of the demo scene: spans named for what they are, arguments
/// as plain values, nothing named after a source path.
#[test]
fn the_demo_trace_names_its_spans() {
    let root = common::workspace_root();
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("demo.json");
    let run = zephyr(
        &root,
        &[
            "run",
            "examples/scenes/demo.toml",
            "--frames",
            "120",
            "--input",
            "examples/scenes/demo.input",
            "--trace",
            trace.to_str().unwrap(),
        ],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).expect("valid JSON");
    let events = json.as_array().expect("an array of trace events");
    let names: std::collections::BTreeSet<&str> =
        events.iter().filter_map(|e| e["name"].as_str()).collect();
    for wanted in [
        "frame",
        "update",
        "physics",
        "sync",
        "on_start Player",
        "on_update Player",
        "on_update Enemy",
        "on_destroy Player",
        "task Torch",
        "parallel phase",
        "parallel phase worker 1",
    ] {
        assert!(
            names.contains(wanted),
            "no span named {wanted:?} in {names:?}"
        );
    }
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("job [lua from scripts/enemy.lua:")),
        "the enemy's worker jobs: {names:?}"
    );
    for name in &names {
        assert!(
            !name.contains(".rs") && !["callback", "script", "task"].contains(name),
            "a trace name that says nothing: {name:?}"
        );
    }
    let player = events
        .iter()
        .find(|e| e["name"] == "on_update Player")
        .unwrap();
    assert_eq!(player["args"]["entity"], "Player");
    assert_eq!(player["args"]["file"], "scripts/player.lua");
}

#[test]
fn the_demo_scene_is_reproducible() {
    let root = common::workspace_root();
    let args = [
        "run",
        "examples/scenes/demo.toml",
        "--frames",
        "600",
        "--input",
        "examples/scenes/demo.input",
    ];
    let first = zephyr(&root, &args);
    let second = zephyr(&root, &args);
    assert_eq!(first.status, 0, "{}", first.stderr);
    assert!(
        first.stdout.contains("jump at frame 150"),
        "{}",
        first.stdout
    );
    assert!(first.stdout.contains("sparks at frame"), "{}", first.stdout);
    assert!(
        first.stdout.contains("enemy sees the player"),
        "{}",
        first.stdout
    );
    // Events (the parallel enemy emits, the torch listens) and tasks (the
    // torch's blinks, the timed waves) are in use.
    for line in [
        "torch: Enemy spotted the player at 11.6 m, raising the alarm (frame 1)",
        "torch: alarm blinks done (frame 37)",
        "torch: all quiet (frame 228)",
        "wave 3: 2 crates (frame 450)",
    ] {
        assert!(first.stdout.contains(line), "{line}\n{}", first.stdout);
    }
    assert_eq!(first.stdout, second.stdout, "byte-identical stdout");
    // The enemy is a parallel behaviour: the same with any worker count.
    for workers in ["1", "4"] {
        let mut with_workers = args.to_vec();
        with_workers.extend(["--workers", workers]);
        let other = zephyr(&root, &with_workers);
        assert_eq!(first.stdout, other.stdout, "--workers {workers}");
    }
}

#[test]
fn the_turret_scene_is_the_same_for_any_worker_count() {
    // Bullets are parallel prefab behaviours spawned by a task; they find
    // enemies with `within` and tags, destroy them and emit events that a
    // score keeper counts; enemies come in waves spawned at random places.
    let root = common::workspace_root();
    let args = [
        "run",
        "examples/scenes/turret.toml",
        "--frames",
        "600",
        "--seed",
        "7",
    ];
    let first = zephyr(&root, &args);
    assert_eq!(first.status, 0, "{}", first.stderr);
    let hits = first
        .stdout
        .lines()
        .filter(|l| l.contains(" hit Enemy"))
        .count();
    assert!(hits >= 10, "{}", first.stdout);
    assert!(
        first.stdout.contains(&format!("score: {hits} hits,")),
        "{}",
        first.stdout
    );
    assert!(first.stdout.contains("turret fired"), "{}", first.stdout);
    assert!(first.stderr.contains("errors: 0"), "{}", first.stderr);
    assert_eq!(zephyr(&root, &args).stdout, first.stdout, "a second run");
    for workers in ["1", "2", "4"] {
        let mut with_workers = args.to_vec();
        with_workers.extend(["--workers", workers]);
        let other = zephyr(&root, &with_workers);
        assert_eq!(first.stdout, other.stdout, "--workers {workers}");
    }
}

#[test]
fn a_bad_spawn_names_the_prefab_the_key_and_the_line() {
    let dir = files(&[
        (
            "scene.toml",
            "name = \"s\"\n[prefabs.Bullet]\ntags = [\"bullet\"]\n\
             [[entities]]\nname = \"Turret\"\nscript = \"turret.lua\"\n",
        ),
        (
            "turret.lua",
            "function on_update(self, dt)\n\
               local ok, err = pcall(function() zephyr.entity.spawn('Bulet') end)\n\
               print(err)\n\
               zephyr.entity.spawn{prefab = 'Bullet', light = {intensity = 'bright'}}\n\
             end\n",
        ),
    ]);
    let run = zephyr(dir.path(), &["run", "scene.toml", "--frames", "1"]);
    assert_eq!(
        run.stdout,
        "turret.lua:2: zephyr.entity.spawn: no prefab 'Bulet' (did you mean: Bullet?)\n"
    );
    assert!(
        run.stderr.contains(
            "turret.lua:4: zephyr.entity.spawn: prefab 'Bullet': key 'light.intensity' must be a \
             finite number, got string (callback on_update, entity 0:1 \"Turret\")"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("errors: 1"), "{}", run.stderr);
}

#[test]
fn scene_prefabs_and_tags_are_checked_before_anything_runs() {
    let cases: &[(&str, &str)] = &[
        (
            "name = \"x\"\n[[entities]]\nprefab = \"Bulet\"\n[prefabs.Bullet]\ntags = [\"b\"]\n",
            "entities[0]: no prefab 'Bulet' (did you mean: Bullet?)",
        ),
        (
            "name = \"x\"\n[prefabs.Bullet]\nscript = \"nope.lua\"\n",
            "prefabs.Bullet: script 'nope.lua' cannot be read",
        ),
        (
            "name = \"x\"\n[prefabs.Bullet]\nspeed = 3\n",
            "line 3: prefabs.Bullet: unknown field `speed`",
        ),
        (
            "name = \"x\"\n[prefabs.Bullet]\ntags = [\"\"]\n",
            "prefabs.Bullet: tag \"\" must not be empty",
        ),
        (
            "name = \"x\"\n[prefabs.A]\nprefab = \"B\"\n",
            "prefabs.A: a prefab cannot be made from another prefab",
        ),
        (
            "name = \"x\"\n[prefabs.Bullet]\nparallel = true\n",
            "prefabs.Bullet: 'parallel' needs a 'script'",
        ),
        (
            "name = \"x\"\n[[entities]]\ntags = \"enemy\"\n",
            "line 3: entities[0].tags: invalid type",
        ),
    ];
    for (scene, expected) in cases {
        let dir = files(&[("scene.toml", scene)]);
        let run = zephyr(dir.path(), &["run", "scene.toml", "--frames", "1"]);
        assert_eq!(run.status, 2, "{scene}: {}", run.stderr);
        assert!(
            run.stderr.contains("scene.toml: ") && run.stderr.contains(expected),
            "{scene}: {}",
            run.stderr
        );
    }
    // An entity made from a prefab takes its keys, its own replacing them.
    let dir = files(&[
        (
            "scene.toml",
            "name = \"x\"\n[prefabs.Crate]\nscript = \"crate.lua\"\ntags = [\"crate\"]\nposition = [1, 2, 3]\n\
             [[entities]]\nprefab = \"Crate\"\nname = \"A\"\n\
             [[entities]]\nprefab = \"Crate\"\nname = \"B\"\nposition = [4, 5, 6]\ntags = [\"crate\", \"big\"]\n",
        ),
        (
            "crate.lua",
            "function on_start(self) local x, y, z = zephyr.transform.get_position(self) \
             print(zephyr.entity.get_name(self), x, y, z, table.concat(zephyr.entity.get_tags(self), '+')) end",
        ),
    ]);
    let run = zephyr(dir.path(), &["run", "scene.toml", "--frames", "1"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "A\t1.0\t2.0\t3.0\tcrate\nB\t4.0\t5.0\t6.0\tcrate+big\n"
    );
}

#[test]
fn check_knows_the_api() {
    let dir = files(&[
        (
            "scene.toml",
            "name = \"lint\"\n[prefabs.Bullet]\nscript = \"scripts/bullet.lua\"\n\
             [[entities]]\nname = \"Turret\"\nscript = \"scripts/turret.lua\"\n",
        ),
        ("scripts/bullet.lua", "function on_update(self, dt) end\n"),
        ("scripts/util.lua", "return {}\n"),
        (
            "scripts/turret.lua",
            "local util = require(\"scripts.util\")\n\
             local nope = require(\"scripts.utl\")\n\
             function on_updte(self, dt)\n\
               zephyr.transform.set_postion(self, 1, 2, 3)\n\
               if zephyr.input.is_key_down(Key.Sapce) then cvar.gett('x') end\n\
               zephyr.entity.spawn(\"Bulet\")\n\
               zephyr.entity.spawn{prefab = \"Bullett\", position = {0, 0, 0}}\n\
               zephyr.entity.spawn(\"Bullet\")\n\
             end\n\
             function onStart(self) end\n\
             function on_start(self, dt) end\n\
             function on_destroy(self) zephyr.task.spawn(print) zephyr.entity.spawn{prefab = 'Bullet', tagz = {}} end\n\
             local mine = { transform = {} }\n\
             print(mine.transform.whatever, util)\n\
             local function on_reload(self) end\n",
        ),
        (
            "alone.lua",
            "-- on its own: a main script or some scene's behaviour\n\
             function on_update(self, dt) end\n\
             local zephyr = { mine = 1 }\n\
             print(zephyr.mine, Mouse.Left, zephyr_like)\n",
        ),
    ]);
    let run = zephyr(dir.path(), &["check", "scene.toml", "alone.lua"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    let expected = [
        "scripts/turret.lua:2: require: no module 'scripts.utl' in the script roots (.) (did you mean: scripts.util?)",
        "scripts/turret.lua:3: function 'on_updte' is not a callback and is never called by the engine (did you mean: on_update?)",
        "scripts/turret.lua:4: zephyr.transform has no field 'set_postion' (did you mean: set_position, set_rotation, get_position?)",
        "scripts/turret.lua:5: Key has no field 'Sapce' (did you mean: Space?)",
        "scripts/turret.lua:5: cvar has no field 'gett' (did you mean: get, set?)",
        "scripts/turret.lua:6: zephyr.entity.spawn: scene.toml declares no prefab 'Bulet' (did you mean: Bullet?)",
        "scripts/turret.lua:7: zephyr.entity.spawn: scene.toml declares no prefab 'Bullett' (did you mean: Bullet?)",
        "scripts/turret.lua:10: function 'onStart' is not a callback and is never called by the engine (did you mean: on_start?)",
        "scripts/turret.lua:11: on_start(self, dt) declares 2 parameters; a scene's behaviour is called on_start(self)",
        "scripts/turret.lua:12: zephyr.entity.spawn: a spawn table has no key 'tagz' (did you mean: tags?)",
        "scripts/turret.lua:15: 'on_reload' is declared local, so the engine never calls it (callbacks are global: drop the `local`)",
    ];
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines, expected, "{}", run.stdout);
    // The examples and the demo: nothing to say.
    let root = common::workspace_root();
    let mut args = vec![
        "check".to_owned(),
        "examples/scenes/demo.toml".into(),
        "examples/scenes/turret.toml".into(),
    ];
    for folder in ["examples/scenes/scripts", "examples/scenes/turret"] {
        let mut scripts: Vec<String> = std::fs::read_dir(root.join(folder))
            .unwrap()
            .flatten()
            .map(|e| format!("{folder}/{}", e.file_name().to_string_lossy()))
            .collect();
        scripts.sort();
        args.extend(scripts);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = zephyr(&root, &args);
    assert_eq!((run.status, run.stdout.as_str()), (0, ""), "{}", run.stderr);
}

#[test]
fn check_reports_problems_as_file_line_message() {
    let dir = files(&[
        ("good.lua", "print('fine')"),
        ("bad.lua", "local x = = 1"),
        (
            "scene.toml",
            "name = \"x\"\n[[entities]]\nscript = \"broken.lua\"\n",
        ),
        ("broken.lua", "function f(\n"),
        ("bad_scene.toml", "name = \"x\"\n[[entities]]\nwat = 1\n"),
    ]);
    let ok = zephyr(dir.path(), &["check", "good.lua"]);
    assert_eq!((ok.status, ok.stdout.as_str()), (0, ""));
    let run = zephyr(
        dir.path(),
        &[
            "check",
            "good.lua",
            "bad.lua",
            "scene.toml",
            "bad_scene.toml",
        ],
    );
    assert_eq!(run.status, 1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(lines[0].starts_with("bad.lua:1: "), "{}", lines[0]);
    assert!(lines[1].contains("broken.lua:2: "), "{}", lines[1]);
    assert!(
        lines[2].starts_with("bad_scene.toml:3: entities[0]: unknown field `wat`"),
        "{}",
        lines[2]
    );
}

#[test]
fn bad_usage_exits_with_2() {
    let dir = files(&[]);
    assert_eq!(zephyr(dir.path(), &["run"]).status, 2);
    assert_eq!(zephyr(dir.path(), &["fly"]).status, 2);
    assert_eq!(zephyr(dir.path(), &["run", "x.txt"]).status, 2);
    assert_eq!(zephyr(dir.path(), &["run", "missing.lua"]).status, 2);
    assert_eq!(zephyr(dir.path(), &["run", "x.lua", "--dt", "0"]).status, 2);
    assert_eq!(zephyr(dir.path(), &["--help"]).status, 0);
}

#[test]
fn ctrl_c_ends_a_paced_run_cleanly_after_the_current_frame() {
    let dir = files(&[("loop.lua", "function on_update() end")]);
    let child = Command::new(env!("CARGO_BIN_EXE_zephyr"))
        .current_dir(dir.path())
        .args(["run", "loop.lua"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("frames: "),
        "the summary is printed: {stderr}"
    );
}

#[test]
fn command_output_and_print_go_to_stdout_and_logs_to_stderr() {
    let dir = files(&[(
        "l.lua",
        "console.log('warn', 'careful') console.execute('echo echoed') print('out')",
    )]);
    let run = zephyr(dir.path(), &["run", "l.lua"]);
    assert_eq!(run.stdout, "echoed\nout\n");
    // Log lines read as the host's own warnings do.
    assert!(run.stderr.contains("warning: careful"), "{}", run.stderr);
    assert!(!run.stderr.contains("echoed"), "{}", run.stderr);
    assert!(
        !run.stderr.contains('\u{1b}'),
        "no colour codes when stderr is not a terminal"
    );
}

#[test]
fn entity_scripts_can_register_handlers_by_name() {
    let dir = files(&[
        (
            "scene.toml",
            "name = \"h\"\n[[entities]]\nname = \"A\"\nscript = \"a.lua\"\n",
        ),
        (
            "a.lua",
            "function OnFov(name, old, new) print('handler', name, old, new) end
             function on_start(self)
                 cvar.register('fov', 75.0)
                 cvar.on_change('fov', 'OnFov')
                 console.register('hello', 'OnFov')
             end
             function on_update(self) if zephyr.time.frame() == 1 then cvar.set('fov', 90) end end",
        ),
    ]);
    let run = zephyr(dir.path(), &["run", "scene.toml", "--frames", "3"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "handler\tfov\t75.0\t90.0\n");
}

#[test]
fn a_script_that_fails_to_load_exits_2_naming_file_line_and_entity() {
    let dir = files(&[
        ("syntax.lua", "print('never')\nlocal x = = 1\n"),
        (
            "raises.lua",
            "print('chunk runs')\nerror('boom')\nfunction on_update() end",
        ),
        (
            "scene.toml",
            "name = \"t\"\n[[entities]]\nname = \"Ok\"\nscript = \"ok.lua\"\n\
             [[entities]]\nname = \"Player\"\nscript = \"scripts/player.lua\"\n",
        ),
        ("ok.lua", "function on_update() print('frame ran') end"),
        ("scripts/player.lua", "\n\nlocal t = nil\nprint(t.x)\n"),
    ]);
    let syntax = zephyr(dir.path(), &["run", "syntax.lua", "--frames", "2"]);
    assert_eq!(syntax.status, 2, "{}", syntax.stderr);
    assert!(syntax.stderr.contains("syntax.lua:2:"), "{}", syntax.stderr);
    assert_eq!(syntax.stdout, "");

    let raises = zephyr(dir.path(), &["run", "raises.lua", "--frames", "2"]);
    assert_eq!(raises.status, 2, "{}", raises.stderr);
    assert!(
        raises.stderr.contains("raises.lua:2: boom"),
        "{}",
        raises.stderr
    );
    assert_eq!(raises.stdout, "chunk runs\n", "no frame ran");

    let scene = zephyr(dir.path(), &["run", "scene.toml", "--frames", "2"]);
    assert_eq!(scene.status, 2, "{}", scene.stderr);
    let line = scene.stderr.lines().next().unwrap_or_default();
    assert!(
        line.starts_with("error: scene.toml: entities[1] (\"Player\"): scripts/player.lua:4: attempt to index a nil value"),
        "{}",
        scene.stderr
    );
    assert!(!scene.stdout.contains("frame ran"), "{}", scene.stdout);
}

#[test]
fn a_scene_without_scripts_runs_its_frames() {
    let dir = files(&[(
        "drop.toml",
        "name = \"drop\"\n[[entities]]\nname = \"Ball\"\nposition = [0, 10, 0]\nbody = { mass = 1 }\n",
    )]);
    let run = zephyr(dir.path(), &["run", "drop.toml", "--frames", "60"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.stderr.contains("frames: 60"), "{}", run.stderr);
}

#[test]
fn script_files_may_start_with_a_bom_or_a_hash_line() {
    let dir = files(&[
        ("bom.lua", "\u{feff}print('bom ok')\nerror('line two')"),
        (
            "shebang.lua",
            "#!/usr/bin/env lua\nprint('shebang ok')\nerror('line three')",
        ),
    ]);
    let bom = zephyr(dir.path(), &["run", "bom.lua"]);
    assert_eq!(bom.stdout, "bom ok\n", "{}", bom.stderr);
    assert!(bom.stderr.contains("bom.lua:2: line two"), "{}", bom.stderr);
    let shebang = zephyr(dir.path(), &["run", "shebang.lua"]);
    assert_eq!(shebang.stdout, "shebang ok\n", "{}", shebang.stderr);
    assert!(
        shebang.stderr.contains("shebang.lua:3: line three"),
        "{}",
        shebang.stderr
    );
    let check = zephyr(dir.path(), &["check", "bom.lua", "shebang.lua"]);
    assert_eq!((check.status, check.stdout.as_str()), (0, ""));
}

#[test]
fn parallel_entities_run_on_the_workers_with_the_same_output() {
    let mut scene = String::from("name = \"swarm\"\n");
    for i in 0..40 {
        scene.push_str(&format!(
            "[[entities]]\nname = \"e{i}\"\nposition = [{i}, 0, 0]\nscript = \"mover.lua\"\nparallel = true\n"
        ));
    }
    scene.push_str("[[entities]]\nname = \"lonely\"\nparallel = true\n");
    let bad = scene.clone();
    let good = scene.replace("[[entities]]\nname = \"lonely\"\nparallel = true\n", "");
    let dir = files(&[
        ("good.toml", &good),
        ("bad.toml", &bad),
        (
            "mover.lua",
            "function on_update(self, dt)
                 zephyr.transform.translate(self, dt, 0, 0)
                 if zephyr.time.frame() % 30 == 0 then
                     print(zephyr.entity.get_name(self), zephyr.transform.get_position(self))
                 end
             end",
        ),
    ]);
    let refused = zephyr(dir.path(), &["run", "bad.toml", "--frames", "1"]);
    assert_eq!(refused.status, 2);
    assert!(
        refused
            .stderr
            .contains("entities[40] (\"lonely\"): 'parallel' needs a 'script'"),
        "{}",
        refused.stderr
    );
    let runs: Vec<Run> = ["1", "2", "4"]
        .iter()
        .map(|w| {
            zephyr(
                dir.path(),
                &["run", "good.toml", "--frames", "60", "--workers", w],
            )
        })
        .collect();
    assert_eq!(runs[0].status, 0, "{}", runs[0].stderr);
    assert_eq!(runs[0].stdout.lines().count(), 80, "{}", runs[0].stdout);
    assert!(
        runs[0]
            .stdout
            .starts_with("e0\t0.5\t0.0\t0.0\ne1\t1.5\t0.0\t0.0\n"),
        "{}",
        runs[0].stdout
    );
    for run in &runs[1..] {
        assert_eq!(
            run.stdout, runs[0].stdout,
            "same output for any worker count"
        );
    }
}

#[test]
fn a_closed_output_pipe_is_no_panic() {
    let dir = files(&[(
        "noisy.lua",
        "function on_update() for i = 1, 200 do print('line ' .. i) end error('and an error') end",
    )]);
    // Both streams into a pipe that is closed after the first line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_zephyr"))
        .current_dir(dir.path())
        .args(["run", "noisy.lua", "--frames", "50"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run zephyr");
    drop(child.stdout.take());
    drop(child.stderr.take());
    let status = child.wait().expect("wait").code();
    assert_eq!(status, Some(0), "not 101 (a panic)");
}

#[test]
fn one_behaviour_cannot_change_the_libraries_another_sees() {
    let dir = files(&[
        (
            "scene.toml",
            "name = \"leak\"\n[[entities]]\nname = \"A\"\nscript = \"a.lua\"\n[[entities]]\nname = \"B\"\nscript = \"b.lua\"\n",
        ),
        (
            "a.lua",
            "function on_update() local _, t = pairs(string) pcall(rawset, t, 'upper', function() return 'pwned' end) end",
        ),
        ("b.lua", "function on_update() print(string.upper('x')) end"),
    ]);
    let run = zephyr(dir.path(), &["run", "scene.toml", "--frames", "2"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "X\nX\n");
}

#[test]
fn latin1_bytes_and_boms_load_in_scripts_and_modules_in_both_profiles() {
    let dir = tempfile::tempdir().unwrap();
    // 'é' as one Latin-1 byte (0xE9): not UTF-8, but any byte is fine in a
    // Lua string literal.
    std::fs::write(
        dir.path().join("latin.lua"),
        b"local s = '\xe9t\xe9'\nlocal m = require('mod')\nlocal f = assert(loadfile('bom.lua'))\n\
          print(#s, s:byte(1), m.tag, f())\n\
          local ok, trace = xpcall(function() error('deep') end, debug.traceback)\n\
          print(ok, trace:match('^latin.lua:5: deep\\nstack traceback:') ~= nil)\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("mod.lua"),
        b"\xef\xbb\xbfreturn { tag = '\xff' == '\\255' }",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bom.lua"),
        b"\xef\xbb\xbf#!/ignored\nreturn 'bom module'",
    )
    .unwrap();
    for profile in [&[][..], &["--trusted"][..]] {
        let mut args = vec!["run", "latin.lua"];
        args.extend_from_slice(profile);
        let run = zephyr(dir.path(), &args);
        assert_eq!(run.status, 0, "{profile:?}: {}", run.stderr);
        assert_eq!(
            run.stdout, "3\t233\ttrue\tbom module\nfalse\ttrue\n",
            "{profile:?}: {}",
            run.stderr
        );
    }
    let check = zephyr(dir.path(), &["check", "latin.lua", "mod.lua", "bom.lua"]);
    assert_eq!(
        (check.status, check.stdout.as_str()),
        (0, ""),
        "{}",
        check.stderr
    );
}

#[test]
fn was_pressed_is_true_for_exactly_the_frame_of_the_press() {
    let dir = files(&[
        (
            "edge.lua",
            "function on_update(dt)
               local i = zephyr.input
               print(zephyr.time.frame(), i.is_key_down(Key.Space), i.was_pressed(Key.Space),
                     i.was_released(Key.Space), i.was_mouse_button_pressed(Mouse.Left),
                     i.is_mouse_button_down(Mouse.Left), input.isKeyPressed('Space'))
             end",
        ),
        (
            "edge.input",
            "2 key_down Space\n2 button_down 0\n3 key_down Space\n4 key_up Space\n5 key_down Space\n5 key_up Space\n",
        ),
    ]);
    let run = zephyr(
        dir.path(),
        &["run", "edge.lua", "--frames", "6", "--input", "edge.input"],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "1\tfalse\tfalse\tfalse\tfalse\tfalse\tfalse\n\
         2\ttrue\ttrue\tfalse\ttrue\ttrue\ttrue\n\
         3\ttrue\tfalse\tfalse\tfalse\ttrue\ttrue\n\
         4\tfalse\tfalse\ttrue\tfalse\ttrue\tfalse\n\
         5\tfalse\ttrue\ttrue\tfalse\ttrue\tfalse\n\
         6\tfalse\tfalse\tfalse\tfalse\ttrue\tfalse\n"
    );
}

#[test]
fn a_typo_in_an_engine_name_is_an_error_naming_the_nearest_names() {
    let dir = files(&[(
        "typo.lua",
        "print(select(2, pcall(function() return Key.Sapce end)))
         print(select(2, pcall(function() return cvar.gett end)))
         print(rawget(zephyr, 'no_such_module'), Key.Space, Mouse.Right)
         zephyr.transform.set_postion(1, 2, 3, 4)",
    )]);
    let run = zephyr(dir.path(), &["run", "typo.lua"]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "typo.lua:1: Key has no field 'Sapce' (did you mean: Space?)\n\
         typo.lua:2: cvar has no field 'gett' (did you mean: get, set?)\n\
         nil\tSpace\t1\n"
    );
    assert!(
        run.stderr.contains(
            "typo.lua:4: zephyr.transform has no field 'set_postion' (did you mean: set_position"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn the_seed_makes_math_random_reproducible_and_is_in_the_summary() {
    let dir = files(&[(
        "dice.lua",
        "print(math.random(6), math.random(6), math.random(6), math.random())",
    )]);
    let a = zephyr(dir.path(), &["run", "dice.lua", "--seed", "7"]);
    let b = zephyr(
        dir.path(),
        &["run", "dice.lua", "--seed", "7", "--workers", "1"],
    );
    let c = zephyr(dir.path(), &["run", "dice.lua", "--seed", "8"]);
    let default = zephyr(dir.path(), &["run", "dice.lua"]);
    assert_eq!(a.status, 0, "{}", a.stderr);
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
    assert!(a.stderr.contains("seed: 7"), "{}", a.stderr);
    assert!(default.stderr.contains("seed: 24301"), "{}", default.stderr);
    assert_eq!(
        default.stdout,
        zephyr(dir.path(), &["run", "dice.lua"]).stdout
    );
}

/// `zephyr types` writes the editor definitions (the checked-in
/// `types/zephyr.lua` is its output); a path it cannot write is named.
#[test]
fn types_writes_the_editor_definitions() {
    let dir = files(&[]);
    let run = zephyr(dir.path(), &["types", "-o", "zephyr.lua"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let written = std::fs::read_to_string(dir.path().join("zephyr.lua")).unwrap();
    let root = common::workspace_root();
    let checked_in = std::fs::read_to_string(root.join("types/zephyr.lua")).unwrap();
    assert_eq!(written, checked_in);
    assert!(written.starts_with("---@meta"));
    let stdout = zephyr(dir.path(), &["types"]);
    assert_eq!(stdout.stdout, checked_in);
    let bad = zephyr(dir.path(), &["types", "-o", "no/such/dir/zephyr.lua"]);
    assert_eq!(bad.status, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("no/such/dir/zephyr.lua"),
        "{}",
        bad.stderr
    );
}

#[test]
fn the_prelude_runs_before_every_script_of_a_scene() {
    let run_with_prelude = |scene: &str| {
        let dir = files(&[
            ("scene.toml", scene),
            ("a.lua", "print('a', debug_mode)\nlocal x = nil\nx.y = 1"),
            ("b.lua", "print('b', debug_mode)"),
        ]);
        let args = [
            "run",
            "scene.toml",
            "--frames",
            "1",
            "--prelude",
            "debug_mode = 'on'",
        ];
        zephyr(dir.path(), &args)
    };
    let both = run_with_prelude(
        "name = \"p\"\n[[entities]]\nname = \"A\"\nscript = \"a.lua\"\n\
         [[entities]]\nname = \"B\"\nscript = \"b.lua\"\nparallel = true\n",
    );
    assert!(both.stdout.starts_with("a\ton\n"), "{}", both.stdout);
    // Line numbers stay: the error is on a.lua's line 3.
    assert!(both.stderr.contains("a.lua:3:"), "{}", both.stderr);
    // A parallel behaviour's script gets it too.
    let parallel = run_with_prelude(
        "name = \"p\"\n[[entities]]\nname = \"B\"\nscript = \"b.lua\"\nparallel = true\n",
    );
    assert_eq!(parallel.stdout, "b\ton\n", "{}", parallel.stderr);
}

#[test]
fn frames_runs_that_many_frames_for_a_script_without_on_update() {
    // No on_update and no task: --frames still runs its frames (a scene
    // without scripts does too).
    let dir = files(&[
        ("plain.lua", "print('loaded')"),
        (
            "late.lua",
            "zephyr.task.delay(0.05, function() print('task at frame', zephyr.time.frame()) end)",
        ),
    ]);
    let run = zephyr(
        dir.path(),
        &["run", "plain.lua", "--frames", "10", "--no-console"],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "loaded\n");
    assert!(run.stderr.contains("frames: 10\n"), "{}", run.stderr);
    let run = zephyr(
        dir.path(),
        &["run", "late.lua", "--frames", "10", "--no-console"],
    );
    assert_eq!(run.stdout, "task at frame\t3\n");
    assert!(run.stderr.contains("frames: 10\n"), "{}", run.stderr);
    // Without --frames, the run ends when nothing is left to do.
    let run = zephyr(dir.path(), &["run", "plain.lua", "--no-console"]);
    assert!(run.stderr.contains("frames: 0\n"), "{}", run.stderr);
}

#[test]
fn main_thread_only_calls_in_a_parallel_update_raise_errors_pcall_catches() {
    let dir = files(&[
        (
            "scene.toml",
            "name = \"p\"\n[[entities]]\nname = \"A\"\nscript = \"a.lua\"\nparallel = true\n",
        ),
        (
            "a.lua",
            "cvar.register('ro', 1, 'read-only', cvar.READ_ONLY)
             function on_update(self)
               print('on_change', pcall(cvar.on_change, 'sv_cheats', function() end))
               print('register', pcall(console.register, 'x', function() end))
               print('delay', pcall(zephyr.task.delay, 1, function() end))
               print('on', pcall(zephyr.events.on, 'x', function() end))
               print('set ro', pcall(cvar.set, 'ro', 2))
               print('send', pcall(zephyr.events.send, 999, 'x'))
               zephyr.events.emit('still', 1)
               print('end of callback')
             end",
        ),
    ]);
    let run = zephyr(
        dir.path(),
        &["run", "scene.toml", "--frames", "1", "--no-console"],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    // Called through pcall, a message has no position (as in stock Lua).
    let expected_prefixes = [
        "on_change\tfalse\tcvar.on_change must run on the main thread",
        "register\tfalse\tconsole.register must run on the main thread",
        "delay\tfalse\tzephyr.task.delay: tasks live on the main thread",
        "on\tfalse\tzephyr.events.on: subscriptions live on the main thread",
        "set ro\tfalse\tcvar.set: cvar 'ro' is read-only",
        "send\tfalse\tzephyr.events.send: entity 999 does not exist",
        "end of callback",
    ];
    assert_eq!(lines.len(), expected_prefixes.len(), "{}", run.stdout);
    for (line, prefix) in lines.iter().zip(expected_prefixes) {
        assert!(line.starts_with(prefix), "{line}\n{}", run.stdout);
    }
    assert!(run.stderr.contains("errors: 0"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("scripts run on workers: 1 (0 job(s), 1 parallel update(s))"),
        "{}",
        run.stderr
    );
}

#[test]
fn worker_jobs_check_writes_at_the_call_as_the_main_thread_does() {
    let dir = files(&[(
        "w.lua",
        "cvar.register('ro', 1, 'ro', cvar.READ_ONLY)
         print('main', pcall(cvar.set, 'ro', 2))
         console.execute([[lua print('worker', pcall(cvar.set, 'ro', 2))]])
         console.execute([[lua cvar.register('ro2', 1, 'x', cvar.READ_ONLY) print('same job', pcall(cvar.set, 'ro2', 2))]])
         console.execute([[lua print('send', pcall(zephyr.events.send, 999, 'x'))]])",
    )]);
    let run = zephyr(dir.path(), &["run", "w.lua", "--no-console"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("main\tfalse\tcvar.set: cvar 'ro' is read-only"),
        "{}",
        run.stdout
    );
    assert!(
        lines[1].starts_with("worker\tfalse\tcvar.set: cvar 'ro' is read-only"),
        "{}",
        run.stdout
    );
    assert!(
        lines[2].starts_with("same job\tfalse\tcvar.set: cvar 'ro2' is read-only"),
        "{}",
        run.stdout
    );
    assert!(
        lines[3].starts_with("send\tfalse\tzephyr.events.send: entity 999 does not exist"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("errors: 0"),
        "nothing reported later: {}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("scripts run on workers: 3 (3 job(s), 0 parallel update(s))"),
        "{}",
        run.stderr
    );
}
