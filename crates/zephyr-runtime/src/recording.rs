//! Main thread or worker: a state running a worker job (or a parallel
//! callback) has a `Recording` in its `WorkerContext` that collects the
//! job's writes in call order. The runner and the behaviours start and end
//! recordings; the API's bindings record into them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mlua::Lua;
use zephyr_cvar::CVarDef;
use zephyr_world::WorkerWorld;

use crate::action::Command;

/// The writes of one worker job, and the view of them its later reads see.
#[derive(Debug, Default)]
pub(crate) struct Recording {
    /// Every write, in call order.
    pub(crate) commands: Vec<Command>,
    /// Values this job set, by cvar name (string form). (Ordered maps: a
    /// job sets few cvars if any, and an empty `BTreeMap` is made without
    /// a hasher's random keys, once per job.)
    pub(crate) cvar_values: BTreeMap<String, String>,
    /// Cvars this job registered.
    pub(crate) cvar_defs: BTreeMap<String, CVarDef>,
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
/// parallel callback). The bindings capture it when they are created, so
/// their hot paths reach it without a lookup; code that only has the `Lua`
/// finds it as app data.
///
/// The job's [`Recording`] itself is kept by the thread that runs the job,
/// not behind a lock here: every binding a worker calls reads or writes it
/// (a parallel mover's three calls, twice more per callback), and a
/// mutex's lock and unlock were most of a parallel callback's own cost
/// (perf). A state runs on one thread at a time, and its recording lives
/// from [`begin_recording`] to the end of the [`Recorder`] it returns, on
/// that thread.
#[derive(Debug, Default)]
pub(crate) struct WorkerContext {
    active: AtomicBool,
}

/// A shared handle to a state's [`WorkerContext`].
#[derive(Debug, Clone, Default)]
pub(crate) struct WorkerFlag(pub(crate) Arc<WorkerContext>);

/// The recordings open on one thread.
#[derive(Debug)]
struct Open {
    /// By their context's identity and their recorder's token: the job or
    /// lane this thread runs (one at a time, but nothing here assumes it).
    recordings: Vec<(usize, u64, Recording)>,
    next_token: u64,
}

thread_local! {
    static OPEN: RefCell<Open> = const {
        RefCell::new(Open { recordings: Vec::new(), next_token: 0 })
    };
}

impl WorkerContext {
    pub(crate) fn is_set(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    fn key(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// Calls `f` with the recording, if a worker job is running. `f` must
    /// not call back into Lua, nor into another `with`.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Recording) -> R) -> Option<R> {
        if !self.is_set() {
            return None;
        }
        let key = self.key();
        OPEN.with_borrow_mut(|open| {
            open.recordings
                .iter_mut()
                .rev()
                .find(|(k, _, _)| *k == key)
                .map(|(_, _, recording)| f(recording))
        })
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

/// Starts recording a worker job (or a lane's part of a parallel phase) on
/// this state, on the calling thread, until the returned recorder ends:
/// [`finish`](Recorder::finish) hands the recording back; dropped (a
/// panic), the recording and the world view it holds (a read lock on the
/// live world, for a lane) are dropped with it. `None` for a state that
/// has no worker context.
#[must_use = "the recording ends when the recorder is dropped"]
pub(crate) fn begin_recording(
    lua: &Lua,
    world: Option<WorkerWorld>,
    main_only: MainOnly,
) -> Option<Recorder> {
    let context = context(lua)?;
    let key = context.key();
    let token = OPEN.with_borrow_mut(|open| {
        // One recording per state: a new one replaces one left open.
        open.recordings.retain(|(k, _, _)| *k != key);
        let token = open.next_token;
        open.next_token += 1;
        open.recordings.push((
            key,
            token,
            Recording {
                world,
                main_only,
                ..Recording::default()
            },
        ));
        token
    });
    context.active.store(true, Ordering::Relaxed);
    Some(Recorder {
        context,
        token,
        _thread: std::marker::PhantomData,
    })
}

/// An open recording on the calling thread (see [`begin_recording`]). It
/// cannot leave that thread: the recording is in the thread's storage.
#[derive(Debug)]
pub(crate) struct Recorder {
    context: Arc<WorkerContext>,
    token: u64,
    _thread: std::marker::PhantomData<*const ()>,
}

impl Recorder {
    /// The state's worker context (a lane reads its recording between callbacks).
    pub(crate) fn context(&self) -> &WorkerContext {
        &self.context
    }

    /// Ends the worker job and returns what it recorded.
    pub(crate) fn finish(self) -> Recording {
        self.end().unwrap_or_default()
    }

    /// Its recording, if a newer one has not replaced it.
    fn end(&self) -> Option<Recording> {
        let key = self.context.key();
        let recording = OPEN.with_borrow_mut(|open| {
            let at = open
                .recordings
                .iter()
                .rposition(|(k, t, _)| *k == key && *t == self.token)?;
            Some(open.recordings.remove(at).2)
        })?;
        self.context.active.store(false, Ordering::Relaxed);
        Some(recording)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // After finish, nothing is left to end.
        drop(self.end());
    }
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

#[cfg(all(test, feature = "hecs-world"))]
mod tests {
    use super::*;
    use zephyr_world::{LiveWorld, SharedWorld, World};

    // A recording is in the storage of the thread that began it.
    static_assertions::assert_not_impl_any!(Recorder: Send);

    fn worker_lua() -> Lua {
        let lua = Lua::new();
        lua.set_app_data(WorkerFlag::default());
        lua
    }

    fn lane_view(world: &SharedWorld) -> WorkerWorld {
        let guard: LiveWorld = Arc::new(world.read_arc());
        WorkerWorld::over_live(guard, world.clone())
    }

    #[test]
    fn a_recording_is_open_from_begin_to_finish_on_its_thread() {
        let lua = worker_lua();
        assert!(!is_worker(&lua));
        let recorder = begin_recording(&lua, None, MainOnly::Refuse).expect("a worker context");
        assert!(is_worker(&lua));
        assert_eq!(
            read_recording(&lua, |r| r.main_only),
            Some(MainOnly::Refuse)
        );
        assert!(with_recording(&lua, |r| r
            .commands
            .push(Command::Output(b"x".to_vec()))));
        // Another thread has no recording of this state's open.
        let context = context(&lua).expect("context");
        std::thread::scope(|s| {
            s.spawn(|| assert_eq!(context.with(|r| r.commands.len()), None));
        });
        let recording = recorder.finish();
        assert_eq!(recording.commands.len(), 1);
        assert!(!is_worker(&lua));
        assert_eq!(read_recording(&lua, |r| r.commands.len()), None);
    }

    #[test]
    fn a_recorder_dropped_unfinished_releases_the_world_it_read() {
        let world: SharedWorld = Arc::new(parking_lot::RwLock::new(World::new("test")));
        let lua = worker_lua();
        let recorder = begin_recording(&lua, Some(lane_view(&world)), MainOnly::Refuse);
        assert!(
            world.try_write().is_none(),
            "the lane's view holds a read lock"
        );
        // A lane that panicked between its callbacks drops its recorder.
        drop(recorder);
        assert!(
            world.try_write().is_some(),
            "the read lock went with the recording"
        );
        assert!(!is_worker(&lua));
    }

    #[test]
    fn a_new_recording_replaces_one_left_open() {
        let lua = worker_lua();
        let first = begin_recording(&lua, None, MainOnly::Move).expect("a worker context");
        with_recording(&lua, |r| r.commands.push(Command::Output(b"old".to_vec())));
        let second = begin_recording(&lua, None, MainOnly::Refuse).expect("a worker context");
        assert_eq!(read_recording(&lua, |r| r.commands.len()), Some(0));
        assert!(
            first.finish().commands.is_empty(),
            "the first recording is gone"
        );
        assert!(
            is_worker(&lua),
            "ending the replaced one leaves the new one open"
        );
        drop(second);
        assert!(!is_worker(&lua));
    }
}
