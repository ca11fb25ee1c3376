//! Main thread or worker: a state running a worker job (or a parallel
//! callback) has a `Recording` in its `WorkerContext` that collects the
//! job's writes in call order. The runner and the behaviours start and end
//! recordings; the API's bindings record into them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mlua::Lua;
use parking_lot::Mutex;
use zephyr_cvar::CVarDef;
use zephyr_world::WorkerWorld;

use crate::action::Command;

/// The writes of one worker job, and the view of them its later reads see.
#[derive(Debug, Default)]
pub(crate) struct Recording {
    /// Every write, in call order.
    pub(crate) commands: Vec<Command>,
    /// Values this job set, by cvar name (string form).
    pub(crate) cvar_values: HashMap<String, String>,
    /// Cvars this job registered.
    pub(crate) cvar_defs: HashMap<String, CVarDef>,
    /// The world as the job sees it (its snapshot plus its own writes).
    pub(crate) world: Option<WorkerWorld>,
    /// What a main-thread-only function does here: a worker job moves to
    /// the main thread and runs again there; a parallel update cannot, and
    /// gets an error it may catch.
    pub(crate) main_only: MainOnly,
}

/// What a main-thread-only function does on a worker (see
/// [`Recording::main_only`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum MainOnly {
    /// A worker job: it is halted, its writes dropped, and it runs again on
    /// the main thread.
    #[default]
    Move,
    /// A parallel update: the call raises an error naming the function.
    Refuse,
}

impl Recording {
    /// Starts the next callback of a parallel phase on a recording that
    /// lives for the whole phase: forgets the previous callback's own
    /// writes (each callback reads the world plus its own writes only) and
    /// returns where its commands and reserved ids start.
    pub(crate) fn next_callback(&mut self) -> (usize, usize) {
        self.cvar_values.clear();
        self.cvar_defs.clear();
        let reserved = match &mut self.world {
            Some(world) => {
                world.forget_writes();
                world.reserved().len()
            }
            None => 0,
        };
        (self.commands.len(), reserved)
    }
}

/// The worker side of one state: whether it is running a worker job (or a
/// parallel callback) and that job's recording. The bindings capture it
/// when they are created, so their hot paths reach it without a lookup; code
/// that only has the `Lua` finds it as app data.
#[derive(Debug, Default)]
pub(crate) struct WorkerContext {
    active: AtomicBool,
    recording: Mutex<Option<Recording>>,
}

/// A shared handle to a state's [`WorkerContext`].
#[derive(Debug, Clone, Default)]
pub(crate) struct WorkerFlag(pub(crate) Arc<WorkerContext>);

impl WorkerContext {
    pub(crate) fn is_set(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Calls `f` with the recording, if a worker job is running. `f` must
    /// not call back into Lua.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Recording) -> R) -> Option<R> {
        self.recording.lock().as_mut().map(f)
    }
}

/// The state's worker context.
pub(crate) fn context(lua: &Lua) -> Option<Arc<WorkerContext>> {
    lua.app_data_ref::<WorkerFlag>().map(|flag| flag.0.clone())
}

/// Calls `f` with the job's recording when the state runs a worker job;
/// returns whether it did. `f` must not call back into Lua.
pub(crate) fn with_recording(lua: &Lua, f: impl FnOnce(&mut Recording)) -> bool {
    context(lua).and_then(|c| c.with(f)).is_some()
}

/// Reads from the job's recording, if the state runs a worker job.
pub(crate) fn read_recording<R>(lua: &Lua, f: impl FnOnce(&Recording) -> R) -> Option<R> {
    context(lua).and_then(|c| c.with(|r| f(r)))
}

/// Starts recording a worker job (or a parallel phase) on this state.
pub(crate) fn begin_recording(lua: &Lua, world: Option<WorkerWorld>, main_only: MainOnly) {
    if let Some(context) = context(lua) {
        *context.recording.lock() = Some(Recording {
            world,
            main_only,
            ..Recording::default()
        });
        context.active.store(true, Ordering::Relaxed);
    }
}

/// Ends the worker job and returns what it recorded.
pub(crate) fn take_recording(lua: &Lua) -> Option<Recording> {
    let context = context(lua)?;
    context.active.store(false, Ordering::Relaxed);
    context.recording.lock().take()
}

/// The error of a main-thread-only function called on a worker: a worker
/// job is halted, and the runner runs it again on the main thread; a
/// parallel update gets an error naming the function, which `pcall` can
/// catch.
pub(crate) fn require_main_thread(lua: &Lua, function: &str) -> mlua::Error {
    match read_recording(lua, |r| r.main_only).unwrap_or_default() {
        MainOnly::Move => zephyr_lua::binding::halt(
            lua,
            MainThreadRequired {
                function: function.to_owned(),
            },
        ),
        MainOnly::Refuse => zephyr_lua::binding::lua_error(
            lua,
            format!(
                "{function} must run on the main thread, and a parallel behaviour's on_update \
                 runs on a worker"
            ),
        ),
    }
}

/// The halt of a worker job that called a main-thread-only function; the
/// runner then moves the whole job to the main thread.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{function} must run on the main thread: this script will be re-run there")]
pub(crate) struct MainThreadRequired {
    pub(crate) function: String,
}

/// The main-thread-only function that halted the last execution on
/// `state`, if one did.
pub(crate) fn main_thread_required(state: &zephyr_lua::ScriptState) -> Option<String> {
    state.halt_reason().and_then(|reason| {
        reason
            .downcast_ref::<MainThreadRequired>()
            .map(|m| m.function.clone())
    })
}

/// Whether this state is running a worker job.
pub(crate) fn is_worker(lua: &Lua) -> bool {
    context(lua).is_some_and(|c| c.is_set())
}
