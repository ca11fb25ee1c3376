//! `examples/own_world.rs`: an engine's own world (not hecs) under the
//! scripting system. Its transcript is the same for any worker count; its
//! `Health` component is read and written by field from the main thread,
//! worker jobs and parallel behaviours, with wrong fields and kinds refused.

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/own_world.rs"]
mod own_world;

use own_world::{Arena, Health};
use zephyr::runtime::api::{definitions, markdown};
use zephyr::runtime::{Behaviours, Job, ScriptSource, Scripting, ScriptingConfig, ScriptingSystem};
use zephyr::world::{EngineWorld, EntityId, WorldWrite, share};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

#[test]
fn the_arena_runs_the_same_for_one_two_and_four_workers() -> Result {
    let one = own_world::run(1)?;
    assert_eq!(one[0], "wave job returned 3.0\t3.0");
    assert!(
        one.iter().any(|l| l.starts_with("frame ")
            && l.contains("enemy")
            && l.ends_with("gone, sound 1")),
        "an enemy's on_destroy played the first sound: {one:#?}"
    );
    assert!(
        one.contains(&"Player (0.00, 0.00, 0.00) hp 8/10".to_owned()),
        "{one:#?}"
    );
    assert!(one.contains(&"sound 2: hurt at 0.5".to_owned()), "{one:#?}");
    for workers in [2, 4] {
        assert_eq!(own_world::run(workers)?, one, "{workers} workers");
    }
    Ok(())
}

/// A system over a fresh arena with one entity that has `Health`.
fn arena(workers: usize) -> Result<(ScriptingSystem, EntityId)> {
    let arena = share(Arena::default());
    let e = {
        let mut arena = arena.write();
        let e = arena.reserve_shared();
        arena.spawn(e)?;
        arena.set_health(e, Health { hp: 5.0, max: 10.0 })?;
        e
    };
    let config = ScriptingConfig {
        workers,
        packages: own_world::packages(),
        ..ScriptingConfig::default()
    };
    Ok((
        ScriptingSystem::with_parts(config, Default::default(), arena)?,
        e,
    ))
}

fn job(system: &mut ScriptingSystem, source: &str) -> Result<String> {
    let handle = system.enqueue(Job::new(source).chunk_name("job.lua"))?;
    let outcome = system.wait(handle);
    system.sync();
    Ok(outcome.to_string())
}

#[test]
fn an_engine_component_is_read_and_written_by_field_on_the_main_thread_and_in_jobs() -> Result {
    let (mut system, e) = arena(2)?;
    let health = |system: &ScriptingSystem| system.world_ref::<Arena>().unwrap().health(e).unwrap();
    assert_eq!(
        system
            .execute(
                &format!("Health.set_hp({e}, 7) return Health.hp({e}), Health.max({e})"),
                "main.lua"
            )
            .to_string(),
        "7.0\t10.0"
    );
    assert_eq!(health(&system), Some(Health { hp: 7.0, max: 10.0 }));
    // A worker job reads its own write before it is applied, then the
    // write lands at the sync.
    assert_eq!(
        job(
            &mut system,
            &format!(
                "local before = Health.hp({e}) Health.set_hp({e}, 2) return before, Health.hp({e})"
            )
        )?,
        "7.0\t2.0"
    );
    assert_eq!(health(&system), Some(Health { hp: 2.0, max: 10.0 }));
    Ok(())
}

#[test]
fn wrong_fields_and_kinds_are_refused_naming_the_component_and_the_field() -> Result {
    let (mut system, e) = arena(1)?;
    let typo = system
        .execute(&format!("return Health.hpp({e})"), "main.lua")
        .to_string();
    assert!(
        typo.contains("main.lua:1: Health has no field 'hpp' (did you mean: hp?)"),
        "{typo}"
    );
    let kind = system
        .execute(&format!("Health.set_hp({e}, 'lots')"), "main.lua")
        .to_string();
    assert!(
        kind.contains(
            "main.lua:1: Health.set_hp: argument 2 (hp) must be a finite number, got string"
        ),
        "{kind}"
    );
    let worker = job(&mut system, &format!("Health.set_max({e}, true)"))?;
    assert!(
        worker.contains("job.lua:1:")
            && worker.contains("Health.set_max")
            && worker.contains("max"),
        "{worker}"
    );
    // An entity without the component: the world's refusal, at the call.
    let bare = {
        let mut arena = system.world_mut::<Arena>().unwrap();
        let bare = arena.reserve_shared();
        arena.spawn(bare)?;
        bare
    };
    let missing = system
        .execute(&format!("return Health.hp({bare})"), "main.lua")
        .to_string();
    assert!(
        missing.contains("main.lua:1:")
            && missing.contains(&format!("entity {bare} has no Health component")),
        "{missing}"
    );
    assert_eq!(
        system.world_ref::<Arena>().unwrap().health(e)?,
        Some(Health { hp: 5.0, max: 10.0 })
    );
    Ok(())
}

#[test]
fn parallel_behaviours_read_their_own_field_writes_and_apply_them_in_order() -> Result {
    for workers in [1, 2, 4] {
        let (mut system, e) = arena(workers)?;
        let mut behaviours = Behaviours::new();
        let script = ScriptSource::new(
            "heal.lua",
            "function on_update(self, dt)
                 Health.set_hp(self, Health.hp(self) + 1)
                 if Health.hp(self) > Health.max(self) then Health.set_hp(self, Health.max(self)) end
             end",
        );
        behaviours.attach_parallel(&system, e, &script)?;
        for _ in 0..8 {
            let report = behaviours.frame(&mut system, 0.1);
            assert!(report.errors.is_empty(), "{:?}", report.errors);
        }
        assert_eq!(
            system.world_ref::<Arena>().unwrap().health(e)?,
            Some(Health {
                hp: 10.0,
                max: 10.0
            }),
            "{workers} workers"
        );
    }
    Ok(())
}

#[test]
fn a_main_thread_only_engine_function_is_refused_in_a_parallel_update_naming_itself() -> Result {
    let (mut system, e) = arena(2)?;
    let mut behaviours = Behaviours::new();
    let script = ScriptSource::new(
        "noisy.lua",
        "function on_update(self) audio.play('step') end",
    );
    behaviours.attach_parallel(&system, e, &script)?;
    let report = behaviours.frame(&mut system, 0.1);
    let error = report
        .errors
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        error.contains("noisy.lua:1:") && error.contains("audio.play"),
        "{error}"
    );
    assert!(system.world_ref::<Arena>().unwrap().sounds.is_empty());
    Ok(())
}

#[test]
fn the_docs_and_editor_types_declare_the_engine_component() {
    let packages = own_world::packages();
    let types = definitions(&packages);
    assert!(types.contains("Health = {}"), "{types}");
    assert!(
        types.contains("function Health.set_hp(entity, hp) end"),
        "{types}"
    );
    assert!(types.contains("---@return number hp"), "{types}");
    let docs = markdown(&packages);
    assert!(docs.contains("## `Health`"), "{docs}");
    assert!(
        docs.contains("`set_max(entity: entity, max: number)`"),
        "{docs}"
    );
    assert!(docs.contains("Hit points when full."), "{docs}");
}

#[test]
fn an_engine_command_for_another_world_type_is_refused_naming_both() -> Result {
    // The arena's packages over Zephyr's own world: `game.damage` writes
    // through a command for `Arena`.
    let system = ScriptingSystem::new(ScriptingConfig {
        packages: own_world::packages(),
        ..ScriptingConfig::default()
    })?;
    let e = system.world().write().create()?;
    let refused = system
        .execute(&format!("game.damage({e}, 1)"), "main.lua")
        .to_string();
    assert!(
        refused.contains("main.lua:1: game.damage: the command is written for a world of type")
            && refused.contains("own_world::Arena")
            && refused.contains("zephyr_world::world::World"),
        "{refused}"
    );
    Ok(())
}

#[test]
fn an_arena_lent_frame_by_frame_runs_its_behaviours_and_jobs() -> Result {
    let script = ScriptSource::new(
        "heal.lua",
        "function on_update(self, dt)
             Health.set_hp(self, math.min(Health.hp(self) + 1, Health.max(self)))
         end",
    );
    for workers in [1, 2, 4] {
        // The engine keeps its arena; the system holds an empty one between
        // frames.
        let mut scripting = Scripting::with_world(
            ScriptingConfig {
                workers,
                packages: own_world::packages(),
                ..ScriptingConfig::default()
            },
            share(Arena::default()),
        )?;
        let mut mine = Arena::default();
        let e = mine.reserve_shared();
        mine.spawn(e)?;
        mine.set_health(e, Health { hp: 5.0, max: 8.0 })?;
        scripting.lend(&mut mine, |scripting| scripting.attach_parallel(e, &script))??;
        for _ in 0..2 {
            let report = scripting.lend(&mut mine, |scripting| scripting.frame(0.1))?;
            assert!(report.is_clean(), "{report:?}");
        }
        assert_eq!(mine.health(e)?, Some(Health { hp: 7.0, max: 8.0 }));
        assert!(
            !scripting.world().read().exists(e),
            "between frames: the placeholder"
        );
        // A job queued and waited for inside a lend reads the lent arena.
        let hp = scripting.lend(&mut mine, |scripting| {
            let job = scripting.enqueue(Job::new(format!("return Health.hp({e})")))?;
            Ok::<_, zephyr::runtime::Error>(scripting.wait(job).to_string())
        })??;
        assert_eq!(hp, "7.0", "{workers} workers");
        for _ in 0..3 {
            scripting.lend(&mut mine, |scripting| scripting.frame(0.1))?;
        }
        assert_eq!(mine.health(e)?, Some(Health { hp: 8.0, max: 8.0 }));
    }
    Ok(())
}

#[test]
fn lending_a_world_of_another_type_is_refused_naming_both() -> Result {
    let mut scripting = Scripting::new(ScriptingConfig::default())?;
    let mut arena = Arena::default();
    let refused = scripting.lend(&mut arena, |_| ()).unwrap_err().to_string();
    assert!(
        refused.contains("lend: the world lent is a") && refused.contains("own_world::Arena"),
        "{refused}"
    );
    Ok(())
}

#[test]
fn a_world_without_tags_or_places_says_so_and_spawns_still_work() -> Result {
    let (mut system, e) = arena(2)?;
    for (source, message) in [
        (
            "return zephyr.entity.find_all('enemy')",
            "main.lua:1: zephyr.entity.find_all: this world does not support tags",
        ),
        (
            "return zephyr.entity.within(0, 0, 0, 5)",
            "main.lua:1: zephyr.entity.within: this world does not support spatial queries",
        ),
        (
            &format!("zephyr.entity.add_tag({e}, 'enemy')"),
            "main.lua:1: zephyr.entity.add_tag: this world does not support tags",
        ),
    ] {
        let outcome = system.execute(source, "main.lua");
        let error = outcome
            .error()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        assert!(error.starts_with(message), "{source}: {outcome}");
    }
    // Reads that have an answer without tags: none.
    assert_eq!(
        system
            .execute(
                &format!("return zephyr.entity.has_tag({e}, 'x'), #zephyr.entity.get_tags({e})"),
                "main.lua"
            )
            .to_string(),
        "false\t0"
    );
    // A spawn without tags works on any world.
    let spawned = job(
        &mut system,
        "local s = zephyr.entity.spawn{position = {1, 2, 3}} return zephyr.entity.exists(s)",
    )?;
    assert_eq!(spawned, "true");
    Ok(())
}
