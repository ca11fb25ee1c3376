//! The frame's scheduled and messaged steps: tasks (`zephyr.task`) and
//! events (`zephyr.events`), and how they end with their instance.

use std::time::Instant;

use mlua::Value;

use super::instance::{Instance, entity_label, entity_name, plain_error};
use super::{BehaviourError, BehaviourId, Behaviours, FrameReport, home_state};
use crate::system::ScriptingSystem;
use zephyr_lua::ScriptError;

impl Behaviours {
    /// Step 3b of a frame: every waiting task whose time has come
    /// (`zephyr.task.wait`, `wait_frames`, `delay`, `every`), in order of due
    /// time, then creation; each resume is its own execution, with its own
    /// instruction budget. A task's error names its script, line and entity,
    /// during "task".
    pub fn run_tasks(&mut self, system: &ScriptingSystem, report: &mut FrameReport) {
        let state = system.main_state();
        let Some(hooks) = crate::task::Hooks::of(state.lua()) else {
            return;
        };
        let started = Instant::now();
        self.report_task_failures(system, &hooks, report);
        let due = match hooks.due() {
            Ok(due) => due,
            Err(e) => {
                report.errors.push(task_error(
                    system,
                    None,
                    ScriptError::from_lua(&e, "zephyr.task"),
                ));
                return;
            }
        };
        for (handle, owner) in due {
            let instance = crate::task::behaviour_of(owner)
                .and_then(|id| self.index(BehaviourId(id)))
                .map(|i| &self.instances[i]);
            let label = instance.map_or("task", |i| &*i.script);
            let _stream = instance.map(|i| state.enter_stream(&i.random));
            let _span = tracing::info_span!(
                target: "zephyr::behaviour",
                "task",
                label = %format_args!("task {}", instance.map_or("", |i| &*i.cold.label)),
                file = %label,
            )
            .entered();
            if let Err(error) = state.call_function(&hooks.resume, handle, label)
                && report.fail(task_error(system, instance, error), self.stop_on_error)
            {
                break;
            }
        }
        self.report_task_failures(system, &hooks, report);
        report.script_time += started.elapsed();
    }

    /// Step 6b of a frame: the events queued since the last delivery, in
    /// emit order (a worker's in enqueue order, a parallel behaviour's in
    /// attach order, as they were applied). An `emit` goes to the
    /// `zephyr.events.on` handlers of its name (with its values), in
    /// subscription order; a
    /// `send` to the `on_message(self, name, ...)` of the entity's
    /// behaviours, in attach order. Each handler call is its own execution;
    /// events emitted during delivery wait for the next frame's.
    pub fn deliver_events(&mut self, system: &ScriptingSystem, report: &mut FrameReport) {
        let events = system.take_pending_events();
        if events.is_empty() {
            return;
        }
        let started = Instant::now();
        let main = system.main_state();
        let hooks = crate::event::Hooks::of(main.lua());
        'events: for event in events {
            let during = match event.target {
                Some(_) => format!("message '{}'", event.name),
                None => format!("event '{}'", event.name),
            };
            if let Some(entity) = event.target {
                for &id in self.by_entity.get(&entity).map_or(&[][..], Vec::as_slice) {
                    let Some(index) = self.index(id) else {
                        continue;
                    };
                    let instance = &self.instances[index];
                    let Ok(Value::Function(handler)) = instance.env.raw_get::<Value>("on_message")
                    else {
                        continue;
                    };
                    let state = home_state(&self.lanes, system, instance.home);
                    let _stream = state.enter_stream(&instance.random);
                    let result = event.lua_args(state.lua(), true).map(|args| {
                        state.call_function(&handler, (entity.to_lua(), args), &instance.script)
                    });
                    let error = match result {
                        Ok(Ok(_)) => continue,
                        Ok(Err(error)) => error,
                        Err(e) => ScriptError::from_lua(&e, &instance.script),
                    };
                    let error = event_error(system, Some(instance), &during, error);
                    if report.fail(error, self.stop_on_error) {
                        break 'events;
                    }
                }
                continue;
            }
            let Some(hooks) = &hooks else { continue };
            let handlers = match hooks.handlers(&event.name) {
                Ok(handlers) => handlers,
                Err(e) => {
                    report.errors.push(event_error(
                        system,
                        None,
                        &during,
                        ScriptError::from_lua(&e, "zephyr.events"),
                    ));
                    continue;
                }
            };
            for (handler, owner) in handlers {
                let instance = crate::task::behaviour_of(owner)
                    .and_then(|id| self.index(BehaviourId(id)))
                    .map(|i| &self.instances[i]);
                let label = instance.map_or("event", |i| &*i.script);
                let _stream = instance.map(|i| main.enter_stream(&i.random));
                let result = event
                    .lua_args(main.lua(), false)
                    .map(|args| main.call_function(&handler, args, label));
                let error = match result {
                    Ok(Ok(_)) => continue,
                    Ok(Err(error)) => error,
                    Err(e) => ScriptError::from_lua(&e, label),
                };
                if report.fail(
                    event_error(system, instance, &during, error),
                    self.stop_on_error,
                ) {
                    break 'events;
                }
            }
        }
        report.script_time += started.elapsed();
    }

    /// How many tasks are waiting (for a host that runs while any is).
    pub fn tasks_waiting(&self, system: &ScriptingSystem) -> usize {
        crate::task::Hooks::of(system.main_state().lua())
            .and_then(|hooks| hooks.waiting().ok())
            .map_or(0, |n| usize::try_from(n).unwrap_or(0))
    }

    /// Tasks that failed inside `spawn` (in their first run).
    pub(super) fn report_task_failures(
        &self,
        system: &ScriptingSystem,
        hooks: &crate::task::Hooks,
        report: &mut FrameReport,
    ) {
        for (owner, message) in hooks.failures().unwrap_or_default() {
            let instance = crate::task::behaviour_of(owner)
                .and_then(|id| self.index(BehaviourId(id)))
                .map(|i| &self.instances[i]);
            let chunk = instance.map_or("task", |i| &*i.script);
            let error = plain_error(chunk, message);
            report.errors.push(task_error(system, instance, error));
        }
    }

    /// Ends the tasks and event subscriptions of behaviours that are gone.
    pub(super) fn end_tasks(system: &ScriptingSystem, ids: impl IntoIterator<Item = BehaviourId>) {
        let lua = system.main_state().lua();
        let tasks = crate::task::Hooks::of(lua);
        let events = crate::event::Hooks::of(lua);
        for id in ids {
            let owner = crate::task::owner(id.0);
            if let Some(hooks) = &tasks {
                let _ = hooks.cancel_owned(owner);
            }
            if let Some(hooks) = &events {
                let _ = hooks.cancel_owned(owner);
            }
        }
    }
}

/// A task's error: its instance's entity and script, during "task".
fn task_error(
    system: &ScriptingSystem,
    instance: Option<&Instance>,
    error: ScriptError,
) -> BehaviourError {
    event_error(system, instance, "task", error)
}

/// An error of a task or an event handler, named after its instance.
fn event_error(
    system: &ScriptingSystem,
    instance: Option<&Instance>,
    during: &str,
    error: ScriptError,
) -> BehaviourError {
    let entity = instance.and_then(|i| i.entity);
    BehaviourError {
        behaviour: instance.map(|i| i.id),
        entity,
        entity_name: entity.and_then(|e| entity_name(system, e)),
        entity_label: entity.map(|e| entity_label(system, e)),
        during: during.to_owned(),
        error: Box::new(error),
    }
}
