//! The front door: `Scripting` runs the frame's public stages in order,
//! physics only when asked, and a host can run the stages one by one with
//! its own work between them; every stage's failures land in one report.

use zephyr_runtime::prelude::*;
use zephyr_runtime::world::RigidBody;
use zephyr_runtime::world::glam::DVec3;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A scripting over Zephyr's world with one falling, scripted crate.
fn scene() -> Result<(Scripting, EntityId)> {
    let mut scripting = Scripting::new(ScriptingConfig {
        workers: 2,
        ..ScriptingConfig::default()
    })?;
    let e = {
        let mut world = scripting.world().write();
        let e = world.create()?;
        world.insert_body(
            e,
            RigidBody {
                velocity: DVec3::new(0.0, -1.0, 0.0),
                ..RigidBody::default()
            },
        )?;
        e
    };
    let script = "function on_update(self, dt) zephyr.transform.translate(self, 1, 0, 0) end";
    scripting.attach(e, &ScriptSource::new("slide.lua", script))?;
    Ok((scripting, e))
}

#[test]
fn the_default_frame_has_no_physics_and_the_physics_stage_is_one_call_away() -> Result {
    let (mut scripting, e) = scene()?;
    assert_eq!(scripting.stages(), Stage::FRAME);
    assert!(!scripting.stages().contains(&Stage::Physics));
    for _ in 0..2 {
        assert!(scripting.frame(0.5).is_clean());
    }
    let position = scripting.world().read().transform(e)?.position;
    assert_eq!(
        position,
        DVec3::new(2.0, 0.0, 0.0),
        "scripts ran, bodies did not"
    );
    scripting.set_stages(&Stage::FRAME_WITH_PHYSICS);
    assert!(scripting.frame(0.5).is_clean());
    let position = scripting.world().read().transform(e)?.position;
    assert_eq!(position.x, 3.0);
    assert!(position.y < 0.0, "the body fell: {position}");
    Ok(())
}

#[test]
fn a_host_running_the_stages_itself_gets_the_frame_with_its_own_work_between() -> Result {
    let (mut by_frame, a) = scene()?;
    let (mut by_stage, b) = scene()?;
    let mut host_saw = Vec::new();
    for _ in 0..3 {
        let whole = by_frame.frame(0.25);
        let mut report = FrameReport::default();
        for stage in Stage::FRAME {
            by_stage.run_stage(stage, 0.25, &mut report);
            if stage == Stage::Update {
                // The engine's own system between the scripts and the sync.
                host_saw.push(by_stage.world().read().transform(b)?.position.x);
            }
        }
        assert_eq!(report.updated, whole.updated);
        assert!(report.is_clean() && whole.is_clean());
    }
    assert_eq!(host_saw, [1.0, 2.0, 3.0]);
    assert_eq!(
        by_frame.world().read().transform(a)?,
        by_stage.world().read().transform(b)?
    );
    assert_eq!(by_stage.world().read().time().frame, 3);
    Ok(())
}

#[test]
fn one_report_carries_a_callback_error_and_a_refused_worker_write() -> Result {
    let (mut scripting, e) = scene()?;
    let broken = "function on_update(self) error('boom') end";
    scripting.attach(e, &ScriptSource::new("broken.lua", broken))?;
    // A job moves an entity that is still in its view; the engine removes
    // the entity before the job's write is applied: the sync refuses it.
    let doomed = scripting.world().write().create()?;
    let mut job = scripting.enqueue(
        Job::new(format!("zephyr.transform.translate({doomed}, 1, 0, 0)")).chunk_name("job.lua"),
    )?;
    scripting.world().write().despawn(doomed)?;
    let outcome = job.wait_timeout(std::time::Duration::from_secs(30));
    assert!(matches!(outcome, Some(Outcome::Returned(_))), "{outcome:?}");
    let report = scripting.frame(0.1);
    assert!(!report.is_clean());
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(
        report.errors[0].to_string().contains("broken.lua:1: boom"),
        "{}",
        report.errors[0]
    );
    assert_eq!(report.update.errors.len(), 1, "{:?}", report.update.errors);
    let refused = &report.update.errors[0];
    assert!(
        matches!(refused, zephyr_runtime::Error::Refused { command, .. } if command == "world"),
        "{refused:?}"
    );
    assert_eq!(
        refused.to_string(),
        format!("world: entity {doomed} does not exist")
    );
    Ok(())
}

#[test]
fn shutdown_runs_every_on_destroy_and_applies_its_writes() -> Result {
    let (mut scripting, e) = scene()?;
    let farewell = "function on_destroy(self) zephyr.entity.set_name(self, 'gone') end";
    scripting.attach(e, &ScriptSource::new("farewell.lua", farewell))?;
    assert!(scripting.frame(0.1).is_clean());
    let report = scripting.shutdown();
    assert_eq!(report.destroyed, 1);
    assert_eq!(scripting.world().read().name(e)?.as_deref(), Some("gone"));
    assert!(scripting.behaviours().is_empty());
    Ok(())
}

#[test]
fn a_lent_world_comes_back_even_when_the_lend_panics() -> Result {
    let mut scripting =
        Scripting::with_world(ScriptingConfig::default(), share(World::new("placeholder")))?;
    let mut mine = World::new("mine");
    let e = mine.create();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = scripting.lend(&mut mine, |scripting| {
            assert!(
                scripting.world().read().exists(e),
                "lent: the system sees it"
            );
            panic!("the engine's own code failed mid-frame");
        });
    }));
    assert!(panicked.is_err());
    assert!(mine.exists(e), "the engine has its world back");
    assert_eq!(mine.scene_name(), "mine");
    assert_eq!(scripting.world().read().scene_name(), "placeholder");
    Ok(())
}
