//! `zephyr.task`: ordering, cancellation, ending with the instance, the
//! budget per resume, and the places tasks cannot live.

use std::sync::Arc;

use parking_lot::Mutex;
use zephyr_runtime::{
    Behaviours, FrameReport, Job, Limits, ScriptErrorKind, ScriptSource, ScriptingConfig,
    ScriptingSystem, StateConfig,
};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;
type Lines = Arc<Mutex<Vec<String>>>;

fn system(budget: u64) -> Result<(ScriptingSystem, Lines)> {
    let lines: Lines = Arc::default();
    let sink = lines.clone();
    let system = ScriptingSystem::new(ScriptingConfig {
        workers: 2,
        state: StateConfig {
            limits: Limits {
                instructions: budget,
                ..Limits::default()
            },
            ..StateConfig::default()
        },
        print: Some(zephyr_runtime::api::line_sink(move |line: &[u8]| {
            sink.lock().push(String::from_utf8_lossy(line).into_owned())
        })),
        ..ScriptingConfig::default()
    })?;
    Ok((system, lines))
}

/// A job's error message, or nothing when it succeeded.
fn error_message(outcome: &zephyr_runtime::Outcome) -> String {
    outcome
        .error()
        .map(|e| e.message.clone())
        .unwrap_or_default()
}

fn take(lines: &Lines) -> Vec<String> {
    std::mem::take(&mut *lines.lock())
}

fn entity(system: &ScriptingSystem, name: &str) -> Result<zephyr_runtime::world::EntityId> {
    let mut world = system.world().write();
    let e = world.create().expect("an entity");
    world.set_name(e, Some(name.to_owned()))?;
    Ok(e)
}

fn frames(behaviours: &mut Behaviours, system: &mut ScriptingSystem, n: usize) -> Vec<FrameReport> {
    (0..n).map(|_| behaviours.frame(system, 0.1)).collect()
}

#[test]
fn due_tasks_resume_in_due_time_then_creation_order() -> Result {
    let (mut system, lines) = system(0)?;
    let script = ScriptSource::new(
        "order.lua",
        "function on_start(self)
           local name = zephyr.entity.get_name(self)
           local task = zephyr.task
           task.spawn(function() task.wait(0.3) print(name .. ' 0.3') end)
           task.spawn(function() task.wait(0.1) print(name .. ' 0.1') end)
           task.spawn(function() task.wait_frames(2) print(name .. ' frames 2') end)
           task.delay(0.2, function(x) print(name .. ' delay ' .. x) end, 'arg')
           task.spawn(function()
             local waited = task.wait(0.15)
             print(name .. ' waited ' .. string.format('%.2f', waited))
           end)
         end",
    );
    let mut behaviours = Behaviours::new();
    for name in ["A", "B"] {
        let e = entity(&system, name)?;
        behaviours.attach(&system, e, &script)?;
    }
    for report in frames(&mut behaviours, &mut system, 4) {
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }
    // Frame 1 (t=0.1): both 0.1 waits, A's first (created first). Frame 2
    // (t=0.2): 0.15 and 0.2 and the two-frame waits: due time, then creation.
    assert_eq!(
        take(&lines),
        [
            "A 0.1",
            "B 0.1",
            "A waited 0.20",
            "B waited 0.20",
            "A frames 2",
            "A delay arg",
            "B frames 2",
            "B delay arg",
            "A 0.3",
            "B 0.3",
        ]
    );
    assert_eq!(behaviours.tasks_waiting(&system), 0);
    Ok(())
}

#[test]
fn cancelled_tasks_and_tasks_of_a_destroyed_instance_never_run() -> Result {
    let (mut system, lines) = system(0)?;
    let script = ScriptSource::new(
        "cancel.lua",
        "local task = zephyr.task
         function on_start(self)
           local name = zephyr.entity.get_name(self)
           local doomed = task.delay(0.2, function() print(name .. ' cancelled ran') end)
           print(name, task.cancel(doomed), doomed:status(), task.cancel(doomed))
           task.every(0.1, function() print(name .. ' tick ' .. zephyr.time.frame()) end)
           if name == 'B' then
             task.delay(0.25, function() zephyr.entity.destroy(self) end)
           end
         end
         function on_destroy(self) print(zephyr.entity.get_name(self) .. ' destroyed') end",
    );
    let mut behaviours = Behaviours::new();
    for name in ["A", "B"] {
        let e = entity(&system, name)?;
        behaviours.attach(&system, e, &script)?;
    }
    frames(&mut behaviours, &mut system, 5);
    assert_eq!(
        take(&lines),
        [
            "A\ttrue\tcancelled\tfalse",
            "B\ttrue\tcancelled\tfalse",
            // on_start runs in frame 1 (t = 0.1): ticks from frame 2. B's
            // destroy is due at 0.35, in frame 4, and takes effect at the
            // end of that frame: B's tick 4 still runs, then nothing of B.
            "A tick 2",
            "B tick 2",
            "A tick 3",
            "B tick 3",
            "A tick 4",
            "B tick 4",
            "B destroyed",
            "A tick 5",
        ]
    );
    assert_eq!(behaviours.tasks_waiting(&system), 1);
    let report = behaviours.detach_all(&system);
    assert!(report.errors.is_empty());
    assert_eq!(
        behaviours.tasks_waiting(&system),
        0,
        "A's ticker ends with A"
    );
    Ok(())
}

#[test]
fn each_resume_has_its_own_budget_and_errors_name_the_task_and_entity() -> Result {
    let (mut system, _) = system(200_000)?;
    let script = ScriptSource::new(
        "busy.lua",
        "function on_start(self)
           -- 150k instructions per resume, 300k in all: over one budget,
           -- within one per resume.
           zephyr.task.spawn(function()
             for round = 1, 2 do
               local x = 0 for i = 1, 50000 do x = x + i end
               zephyr.task.wait_frames(1)
             end
             while true do end
           end)
         end",
    );
    let mut behaviours = Behaviours::new();
    let e = entity(&system, "Worker")?;
    behaviours.attach(&system, e, &script)?;
    let reports = frames(&mut behaviours, &mut system, 3);
    assert!(reports[0].errors.is_empty(), "{:?}", reports[0].errors);
    assert!(reports[1].errors.is_empty(), "{:?}", reports[1].errors);
    let error = &reports[2].errors[0];
    assert_eq!(error.error.kind, ScriptErrorKind::BudgetExceeded, "{error}");
    let text = error.to_string();
    assert!(
        text.contains("busy.lua:9:") && text.contains("task") && text.contains("\"Worker\""),
        "{text}"
    );
    Ok(())
}

#[test]
fn tasks_cannot_live_in_worker_jobs_or_parallel_behaviours() -> Result {
    let (mut system, _) = system(0)?;
    let handle =
        system.enqueue(Job::new("zephyr.task.spawn(function() end)").chunk_name("job.lua"))?;
    let outcome = system.wait(handle);
    let message = error_message(&outcome);
    assert!(
        message.contains("job.lua:1: zephyr.task.spawn: tasks live on the main thread"),
        "{outcome}"
    );
    let script = ScriptSource::new(
        "par.lua",
        "function on_update(self, dt) zephyr.task.wait(1) end",
    );
    let mut behaviours = Behaviours::new();
    let e = entity(&system, "P")?;
    behaviours.attach_parallel(&system, e, &script)?;
    let report = behaviours.frame(&mut system, 0.1);
    let text = report
        .errors
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        text.contains("par.lua:1: zephyr.task.wait: tasks live on the main thread"),
        "{text}"
    );
    // Outside a task, on the main thread: wait says how to start one.
    let outcome = system.execute("zephyr.task.wait(1)", "main.lua");
    assert!(
        outcome.error().is_some_and(|e| e
            .message
            .contains("main.lua:1: zephyr.task.wait: not inside a task")),
        "{outcome}"
    );
    Ok(())
}

/// A worker state makes its `zephyr.task` and `zephyr.events` stand-ins on
/// first use: listing them, calling one, and a typo all work as on a state
/// that had them from the start (each job may land on a fresh state or on
/// one whose earlier job made them).
#[test]
fn worker_task_stand_ins_list_and_refuse_like_functions() -> Result {
    let (mut system, _) = system(0)?;
    for round in 0..4 {
        let handle = system.enqueue(
            Job::new(
                "local names = {}
                 for name in pairs(zephyr.task) do names[#names + 1] = name end
                 for name in pairs(zephyr.events) do names[#names + 1] = name end
                 table.sort(names)
                 return table.concat(names, ' ')",
            )
            .chunk_name("list.lua"),
        )?;
        let outcome = system.wait(handle);
        assert_eq!(
            outcome
                .values()
                .first()
                .map(ToString::to_string)
                .unwrap_or_default(),
            "cancel delay emit every off on send spawn status wait wait_frames",
            "round {round}: {outcome}"
        );
        let handle = system.enqueue(Job::new("return zephyr.task.spwan").chunk_name("typo.lua"))?;
        let outcome = system.wait(handle);
        let message = error_message(&outcome);
        assert!(
            message.contains("typo.lua:1: zephyr.task has no field 'spwan' (did you mean: spawn?)"),
            "round {round}: {outcome}"
        );
    }
    Ok(())
}
