//! Behaviours: scripts attached to entities, their lifecycle, isolation,
//! errors, and the frame that runs them.

use std::sync::Arc;

use parking_lot::Mutex;
use zephyr_runtime::world::EntityId;
use zephyr_runtime::{
    Behaviours, FrameReport, Limits, ScriptSource, ScriptValue, ScriptingConfig, ScriptingSystem,
    StateConfig,
};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A system with one worker whose `print` lines are collected.
fn system() -> Result<(ScriptingSystem, Arc<Mutex<Vec<String>>>)> {
    system_with(StateConfig::default())
}

fn system_with(state: StateConfig) -> Result<(ScriptingSystem, Arc<Mutex<Vec<String>>>)> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let system = ScriptingSystem::new(ScriptingConfig {
        workers: 1,
        state,
        print: Some(zephyr_runtime::api::line_sink(move |line: &[u8]| {
            sink.lock().push(String::from_utf8_lossy(line).into_owned())
        })),
        ..ScriptingConfig::default()
    })?;
    Ok((system, lines))
}

fn named(system: &ScriptingSystem, name: &str) -> EntityId {
    let mut world = system.world().write();
    let e = world.create().expect("an entity");
    zephyr_runtime::world::WorldWrite::set_name(&mut *world, e, Some(name.into())).unwrap();
    e
}

fn take(lines: &Mutex<Vec<String>>) -> Vec<String> {
    std::mem::take(&mut *lines.lock())
}

fn no_errors(report: &FrameReport) {
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(
        report.update.errors.is_empty(),
        "{:?}",
        report.update.errors
    );
}

const LIFECYCLE: &str = r#"
    local name
    function on_start(self)
        name = zephyr.entity.get_name(self)
        print("start " .. name .. " frame " .. zephyr.time.frame())
    end
    function on_update(self, dt)
        print("update " .. name .. " " .. dt)
        if name == "B" and zephyr.time.frame() == 2 then zephyr.entity.destroy(self) end
    end
    function on_destroy(self)
        local x = zephyr.transform.get_position(self)
        print("destroy " .. name .. " exists " .. tostring(zephyr.entity.exists(self)) .. " x " .. x)
    end
"#;

#[test]
fn callbacks_run_in_attach_order_and_on_destroy_precedes_removal() -> Result {
    let (mut system, lines) = system()?;
    let script = ScriptSource::new("life.lua", LIFECYCLE);
    let mut behaviours = Behaviours::new();
    let (a, b) = (named(&system, "A"), named(&system, "B"));
    behaviours.attach(&system, a, &script)?;
    behaviours.attach(&system, b, &script)?;
    assert_eq!(behaviours.len(), 2);

    no_errors(&behaviours.frame(&mut system, 0.5));
    assert_eq!(
        take(&lines),
        [
            "start A frame 1",
            "start B frame 1",
            "update A 0.5",
            "update B 0.5"
        ]
    );

    let report = behaviours.frame(&mut system, 0.25);
    no_errors(&report);
    assert_eq!(report.destroyed, 1);
    assert_eq!(
        take(&lines),
        [
            "update A 0.25",
            "update B 0.25",
            "destroy B exists true x 0.0"
        ]
    );
    assert!(!system.world().read().exists(b), "removed after on_destroy");
    assert_eq!(behaviours.len(), 1);
    assert!(behaviours.of_entity(b).is_empty());

    // A behaviour attached later starts at the next frame, after the others.
    let c = named(&system, "C");
    behaviours.attach(&system, c, &script)?;
    no_errors(&behaviours.frame(&mut system, 0.5));
    assert_eq!(
        take(&lines),
        ["start C frame 3", "update A 0.5", "update C 0.5"]
    );

    // The end of a run: on_destroy in attach order, entities still there.
    let report = behaviours.detach_all(&system);
    no_errors(&report);
    assert_eq!(
        take(&lines),
        ["destroy A exists true x 0.0", "destroy C exists true x 0.0"]
    );
    assert!(behaviours.is_empty());
    assert!(system.world().read().exists(a) && system.world().read().exists(c));
    // Released: a destroy is immediate again.
    zephyr_runtime::world::WorldWrite::despawn(&mut *system.world().write(), a)?;
    assert!(!system.world().read().exists(a));
    Ok(())
}

#[test]
fn a_destroy_from_a_worker_job_or_from_on_destroy_runs_on_destroy_first() -> Result {
    let (mut system, lines) = system()?;
    let mut behaviours = Behaviours::new();
    let guard = named(&system, "Guard");
    let ward = named(&system, "Ward");
    let guard_script = ScriptSource::new(
        "guard.lua",
        "function on_destroy(self) print('guard down') zephyr.entity.destroy(zephyr.entity.find('Ward')) end",
    );
    let ward_script = ScriptSource::new(
        "ward.lua",
        "function on_destroy(self) print('ward down ' .. zephyr.entity.get_name(self)) end",
    );
    behaviours.attach(&system, guard, &guard_script)?;
    behaviours.attach(&system, ward, &ward_script)?;
    no_errors(&behaviours.frame(&mut system, 0.1));
    let job = system.enqueue_script(&format!("zephyr.entity.destroy({})", guard.to_lua()), None)?;
    drop(job);
    let report = behaviours.frame(&mut system, 0.1);
    no_errors(&report);
    assert_eq!(take(&lines), ["guard down", "ward down Ward"]);
    assert_eq!(report.destroyed, 2);
    assert!(!system.world().read().exists(guard));
    assert!(!system.world().read().exists(ward));
    assert!(behaviours.is_empty());
    Ok(())
}

#[test]
fn instances_of_one_file_share_its_compiled_chunk_but_not_their_state() -> Result {
    let (mut system, lines) = system()?;
    let script = ScriptSource::new(
        "counter.lua",
        "local count = 0
         function on_update(self, dt)
             count = count + 1
             seen = (seen or 0) + 1
             if zephyr.time.frame() == 3 then print(count .. ' ' .. seen) end
         end
         function get_count(self, times) return count * times end",
    );
    let mut behaviours = Behaviours::new();
    let before = system.main_state().chunk_cache_stats();
    let mut ids = Vec::new();
    for i in 0..100 {
        let e = named(&system, &format!("e{i}"));
        ids.push(behaviours.attach(&system, e, &script)?);
    }
    let stats = system.main_state().chunk_cache_stats();
    assert_eq!(stats.misses - before.misses, 1, "compiled once");
    assert_eq!(stats.hits - before.hits, 99);
    for _ in 0..3 {
        no_errors(&behaviours.frame(&mut system, 0.1));
    }
    // Each instance counted its own updates, in its own globals too.
    let printed = take(&lines);
    assert_eq!(printed.len(), 100);
    assert!(printed.iter().all(|l| l == "3 3"), "{printed:?}");
    // A named function, called with self first.
    let values = behaviours.call(&system, ids[7], "get_count", 10)?;
    assert_eq!(values, [ScriptValue::Integer(30)]);
    let missing = behaviours.call(&system, ids[7], "nope", ()).unwrap_err();
    assert!(
        missing.to_string().contains("defines no function 'nope'"),
        "{missing}"
    );
    // Nothing leaked into the main script's globals.
    assert_eq!(system.execute("return seen", "check").to_string(), "nil");
    Ok(())
}

#[test]
fn a_global_behaviour_gets_no_self_and_shares_the_main_globals() -> Result {
    let (mut system, lines) = system()?;
    let mut behaviours = Behaviours::new();
    let id = behaviours.attach_global(
        &system,
        &ScriptSource::new(
            "main.lua",
            "total = 0
             function on_start(...) print('start args ' .. select('#', ...)) end
             function on_update(dt) total = total + dt end",
        ),
    )?;
    let info = behaviours.list().next().expect("listed");
    assert_eq!((info.id, info.entity, info.has_update), (id, None, true));
    for _ in 0..4 {
        no_errors(&behaviours.frame(&mut system, 0.5));
    }
    assert_eq!(take(&lines), ["start args 0"]);
    assert_eq!(system.execute("return total", "check").to_string(), "2.0");
    Ok(())
}

#[test]
fn load_and_callback_errors_name_the_file_line_callback_and_entity() -> Result {
    let (mut system, _lines) = system()?;
    let mut behaviours = Behaviours::new();
    let player = named(&system, "Player");
    let syntax = behaviours
        .attach(
            &system,
            player,
            &ScriptSource::new("bad.lua", "\nlocal x = = 1"),
        )
        .unwrap_err();
    assert!(syntax.to_string().starts_with("bad.lua:2:"), "{syntax}");
    let text = syntax.to_string();
    assert!(
        text.contains("(loading, entity ") && text.ends_with("\"Player\")"),
        "{text}"
    );
    let raises = behaviours
        .attach(
            &system,
            player,
            &ScriptSource::new("boom.lua", "error('boom')"),
        )
        .unwrap_err();
    assert!(
        raises
            .to_string()
            .starts_with("boom.lua:1: boom (loading, entity "),
        "{raises}"
    );
    assert!(behaviours.is_empty(), "a failed load attaches nothing");

    behaviours.attach(
        &system,
        player,
        &ScriptSource::new(
            "player.lua",
            "function on_update(self)\n  local t = nil\n  return t.x\nend",
        ),
    )?;
    let report = behaviours.frame(&mut system, 0.1);
    assert_eq!(report.errors.len(), 1);
    let text = report.errors[0].to_string();
    assert!(
        text.starts_with(
            "player.lua:3: attempt to index a nil value (local 't') (callback on_update, entity "
        ),
        "{text}"
    );
    assert!(text.ends_with("\"Player\")"), "{text}");
    assert!(report.errors[0].error.traceback.is_some());
    // The next frame runs again.
    assert_eq!(behaviours.frame(&mut system, 0.1).errors.len(), 1);
    Ok(())
}

#[test]
fn each_callback_has_its_own_budget_and_stop_on_error_ends_the_frame() -> Result {
    let (mut system, lines) = system_with(StateConfig {
        limits: Limits {
            instructions: 100_000,
            ..Limits::default()
        },
        ..StateConfig::default()
    })?;
    let mut behaviours = Behaviours::new();
    let script = ScriptSource::new(
        "spin.lua",
        "function on_update(self) print('tick ' .. zephyr.entity.get_name(self)) if zephyr.entity.get_name(self) == 'A' then while true do end end end",
    );
    behaviours.attach(&system, named(&system, "A"), &script)?;
    behaviours.attach(&system, named(&system, "B"), &script)?;
    let report = behaviours.frame(&mut system, 0.1);
    assert_eq!(report.errors.len(), 1);
    assert!(
        report.errors[0]
            .to_string()
            .contains("instruction budget of 100000 exceeded"),
        "{}",
        report.errors[0]
    );
    assert_eq!(
        take(&lines),
        ["tick A", "tick B"],
        "B still runs, on a fresh budget"
    );

    behaviours.set_stop_on_error(true);
    let report = behaviours.frame(&mut system, 0.1);
    assert!(report.stopped);
    assert_eq!(
        take(&lines),
        ["tick A"],
        "the frame ends at the first error"
    );
    Ok(())
}

#[test]
fn detach_runs_on_destroy_and_keeps_the_entity() -> Result {
    let (mut system, lines) = system()?;
    let mut behaviours = Behaviours::new();
    let e = named(&system, "Lamp");
    let id = behaviours.attach(
        &system,
        e,
        &ScriptSource::new("lamp.lua", "function on_destroy(self) print('off') end"),
    )?;
    // Not started yet: detaching calls nothing.
    assert!(behaviours.detach(&system, id)?);
    assert!(take(&lines).is_empty());
    let id = behaviours.attach(
        &system,
        e,
        &ScriptSource::new("lamp.lua", "function on_destroy(self) print('off') end"),
    )?;
    no_errors(&behaviours.frame(&mut system, 0.1));
    assert!(behaviours.detach(&system, id)?);
    assert!(!behaviours.detach(&system, id)?, "already gone");
    assert_eq!(take(&lines), ["off"]);
    assert!(system.world().read().exists(e));
    zephyr_runtime::world::WorldWrite::despawn(&mut *system.world().write(), e)?;
    assert!(!system.world().read().exists(e), "no longer held");
    Ok(())
}

#[test]
fn an_entity_removed_by_engine_code_drops_its_behaviours() -> Result {
    let (mut system, lines) = system()?;
    let mut behaviours = Behaviours::new();
    let e = named(&system, "Crate");
    behaviours.attach(
        &system,
        e,
        &ScriptSource::new("c.lua", "function on_update() print('u') end"),
    )?;
    no_errors(&behaviours.frame(&mut system, 0.1));
    system.world().write().despawn_now(e)?;
    no_errors(&behaviours.frame(&mut system, 0.1));
    assert!(behaviours.is_empty());
    no_errors(&behaviours.frame(&mut system, 0.1));
    assert_eq!(take(&lines), ["u", "u"]);
    Ok(())
}

#[test]
fn attaching_to_a_missing_entity_is_an_error() -> Result {
    let (system, _lines) = system()?;
    let mut behaviours = Behaviours::new();
    let e = system.world().write().create()?;
    zephyr_runtime::world::WorldWrite::despawn(&mut *system.world().write(), e)?;
    let error = behaviours
        .attach(&system, e, &ScriptSource::new("x.lua", ""))
        .unwrap_err();
    assert!(error.to_string().contains("does not exist"), "{error}");
    Ok(())
}

#[test]
fn loaders_act_in_the_calling_instance_even_through_tail_calls() -> Result {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir(dir.path().join("lib"))?;
    // A module that ends in a tail call to require, and sets a global in the
    // environment of whoever requires it.
    std::fs::write(
        dir.path().join("lib/outer.lua"),
        "loaded_outer = (loaded_outer or 0) + 1\nreturn require('lib.inner')",
    )?;
    std::fs::write(dir.path().join("lib/inner.lua"), "return { tag = tag }")?;
    let (mut system, lines) = system_with(StateConfig {
        script_roots: vec![dir.path().to_path_buf()],
        ..StateConfig::default()
    })?;
    let script = ScriptSource::new(
        "user.lua",
        "tag = 'unset'
         function on_start(self)
             tag = zephyr.entity.get_name(self)
             local m = require('lib.outer')
             local f = load('return tag .. \"/\" .. tostring(loaded_outer)')
             print(m.tag .. ' ' .. f() .. ' ' .. tostring(getmetatable(_G) == nil))
             print, string = nil, nil -- only this instance loses them
         end",
    );
    let mut behaviours = Behaviours::new();
    for name in ["A", "B"] {
        let e = named(&system, name);
        behaviours.attach(&system, e, &script)?;
    }
    no_errors(&behaviours.frame(&mut system, 0.1));
    assert_eq!(take(&lines), ["A A/1 true", "B B/1 true"]);
    Ok(())
}

#[test]
fn a_lua_value_of_another_state_is_refused_by_call_without_a_panic() -> Result {
    let (system, _) = system()?;
    let mut behaviours = Behaviours::new();
    let e = system.world().write().create()?;
    let id = behaviours.attach(
        &system,
        e,
        &ScriptSource::new("echo.lua", "function echo(self, v) return type(v) end"),
    )?;
    let other = mlua::Lua::new();
    let foreign = other.create_table()?;
    let error = behaviours
        .call(&system, id, "echo", foreign)
        .expect_err("a table of another state");
    assert_ne!(error.error.kind, zephyr_runtime::ScriptErrorKind::Panic);
    assert!(
        error
            .to_string()
            .contains("argument 1 of 'echo' is a Lua value of another Lua state"),
        "{error}"
    );
    // Plain values and values of the behaviour's own state are fine.
    assert_eq!(
        behaviours.call(&system, id, "echo", "text")?[0].to_string(),
        "string"
    );
    let own = system.main_state().lua().create_table()?;
    assert_eq!(
        behaviours.call(&system, id, "echo", own)?[0].to_string(),
        "table"
    );
    Ok(())
}
