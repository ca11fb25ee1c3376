//! Hot reload keeps the demo scene's state: reloading any of its scripts
//! (unchanged) in the middle of a run changes nothing the run prints or
//! leaves in the world. Before top-level locals were kept, each reload
//! reset them (`local alarm`, `burst`, `on_ground`, ...).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use zephyr_cli::{Replay, Scene};
use zephyr_runtime::world::World;
use zephyr_runtime::{FrameReport, Scripting, ScriptingConfig, Stage, StateConfig};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The demo for `frames` frames, reloading `reload` (a script of the
/// scene) before frame `at`: what it printed, and the world at the end.
fn run(frames: u64, reload: Option<(&str, u64)>) -> (Vec<String>, String) {
    let scenes = root().join("examples/scenes");
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = lines.clone();
    let mut scripting = Scripting::new(ScriptingConfig {
        workers: 2,
        state: StateConfig {
            script_roots: vec![scenes.clone()],
            seed: 7,
            ..StateConfig::default()
        },
        print: Some(zephyr_runtime::api::line_sink(move |line: &[u8]| {
            sink.lock().push(String::from_utf8_lossy(line).into_owned())
        })),
        ..ScriptingConfig::default()
    })
    .expect("scripting");
    scripting.set_stages(&Stage::FRAME_WITH_PHYSICS);
    let scene = Scene::load(&scenes.join("demo.toml")).expect("scene");
    let ids = scene
        .spawn(&mut scripting.world_mut::<World>().expect("Zephyr's world"))
        .expect("spawn");
    for (index, template) in scene.entities.iter().enumerate() {
        let Some(script) = &template.script else {
            continue;
        };
        if template.parallel == Some(true) {
            scripting
                .attach_parallel(ids[index], script)
                .expect("attach");
        } else {
            scripting.attach(ids[index], script).expect("attach");
        }
    }
    let replay = Replay::load(&scenes.join("demo.input")).expect("replay");
    let clean = |report: FrameReport| assert!(report.is_clean(), "{report:?}");
    let mut report = FrameReport::default();
    scripting.run_stage(Stage::Start, 0.0, &mut report);
    scripting.run_stages(&Stage::AFTER_UPDATES, 0.0, &mut report);
    clean(report);
    for frame in 1..=frames {
        if let Some((script, at)) = reload
            && at == frame
        {
            let (behaviours, system) = scripting.parts_mut();
            let reloaded = behaviours.reload(system, &scenes.join(script));
            assert!(
                reloaded.errors.is_empty(),
                "{script}: {:?}",
                reloaded.errors
            );
            assert!(
                !reloaded.scripts.is_empty() || !reloaded.modules.is_empty(),
                "{script} was reloaded"
            );
            assert!(reloaded.dropped_locals.is_empty(), "{reloaded:?}");
        }
        {
            let world = scripting.world().clone();
            let mut world = world.write();
            for event in replay.frame(frame) {
                event.apply(world.input_mut());
            }
        }
        clean(scripting.frame(1.0 / 60.0));
    }
    clean(scripting.shutdown());
    let snapshot = scripting.world_ref::<World>().expect("world").snapshot();
    let mut dump = String::new();
    for (id, record) in snapshot.records() {
        let _ = writeln!(
            dump,
            "{id} {:?} {:?} {:?}",
            record.name, record.transform, record.light
        );
    }
    let printed = lines.lock().clone();
    (printed, dump)
}

#[test]
fn reloading_any_demo_script_mid_run_keeps_its_state() {
    let frames = 400;
    let (printed, world) = run(frames, None);
    assert!(
        printed.iter().any(|l| l.contains("raising the alarm")),
        "{printed:#?}"
    );
    for script in [
        "scripts/player.lua",
        "scripts/enemy.lua",
        "scripts/torch.lua",
        "scripts/sparks.lua",
        "scripts/camera.lua",
        "scripts/waves.lua",
        "scripts/util.lua",
    ] {
        // Mid-alarm (the torch's blinks), mid-jump, between waves.
        for at in [20, 160] {
            let (again, again_world) = run(frames, Some((script, at)));
            assert_eq!(again, printed, "{script} reloaded at frame {at}: output");
            assert!(
                again_world == world,
                "{script} reloaded at frame {at}: world"
            );
        }
    }
}
