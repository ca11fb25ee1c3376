//! The typed messages that travel from worker threads to the main thread,
//! and the reference's string wire formats for the two original kinds.

use std::borrow::Cow;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use zephyr_cvar::CVarDef;
use zephyr_world::{EngineWorld, EntityId, WorldCommand};

use crate::outcome::Outcome;
use zephyr_lua::ScriptError;

/// The id of a script job: its position in enqueue order (the first job a
/// runner accepts is 0, the next 1, ...). The main thread applies the effects
/// of worker scripts in this order, whatever order they finish in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {}", self.0)
    }
}

/// A write a worker-thread script made, recorded in call order and applied
/// by [`ScriptingSystem::update`](crate::ScriptingSystem::update) on the main thread.
#[derive(Debug)]
#[non_exhaustive]
pub enum Command {
    /// Script output for the print sink: the bytes of a `print` (with its
    /// newline) or an `io.write`.
    Output(Vec<u8>),
    /// `cvar.set(name, value)`, already validated on the worker.
    SetCVar {
        /// The cvar.
        name: String,
        /// Its new value in string form.
        value: String,
    },
    /// `cvar.register(...)`.
    RegisterCVar(CVarDef),
    /// `console.execute(cmd)`, already checked on the worker.
    ConsoleExecute {
        /// The command line.
        command: String,
        /// The script line that ran it (`job.lua:3`).
        origin: String,
    },
    /// A write to the world (entity, transform, light, particles, physics,
    /// `ecs.addComponent`).
    World(WorldCommand),
    /// `zephyr.events.emit` or `send`: queued for delivery (and for the
    /// engine) when applied.
    Emit(crate::event::Event),
    /// An engine function's own write ([`Call::command`](crate::api::Call::command)).
    Engine(EngineCommand),
    /// A spawned entity's behaviour (`zephyr.entity.spawn` of a template
    /// with a script): attached by the next start phase.
    Attach(crate::prefab::PendingBehaviour),
}

/// An engine's write, recorded off the main thread and run on it in order
/// with the built-in writes: what an engine function passed to
/// [`Call::command`](crate::api::Call::command).
pub struct EngineCommand {
    function: String,
    run: Box<EngineWrite>,
}

/// What an engine write does to the world.
type EngineWrite = dyn FnOnce(&mut dyn EngineWorld) -> Result<(), String> + Send;

impl EngineCommand {
    pub(crate) fn new(
        function: String,
        run: impl FnOnce(&mut dyn EngineWorld) -> Result<(), String> + Send + 'static,
    ) -> Self {
        EngineCommand {
            function,
            run: Box::new(run),
        }
    }

    /// The function that recorded it (`game.spawn_enemy`).
    pub fn function(&self) -> &str {
        &self.function
    }

    /// Runs it on the world.
    pub(crate) fn run(self, world: &mut dyn EngineWorld) -> Result<(), String> {
        (self.run)(world)
    }
}

impl fmt::Debug for EngineCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineCommand")
            .field("function", &self.function)
            .finish_non_exhaustive()
    }
}

/// A message on the [`ActionQueue`](crate::ActionQueue).
///
/// The reference's `CVarNative` kind ("reserved, not used") is left out: native
/// code reacts to cvar changes by reading
/// [`CVarRegistry::take_pending_changes`](zephyr_cvar::CVarRegistry::take_pending_changes)
/// or through its own callbacks, not through this queue.
#[derive(Debug)]
#[non_exhaustive]
pub enum Action {
    /// The outcome of a script job (the reference's `ScriptResult`).
    ScriptResult {
        /// Which job.
        job: JobId,
        /// How it ended.
        outcome: Outcome,
    },
    /// A cvar changed and its Lua handler must be called on the main thread
    /// as `handler(name, old, new)` (the reference's `CVarLua`).
    CVarLua {
        /// The handler's name.
        handler: String,
        /// The cvar.
        name: String,
        /// The value before, in string form.
        old: String,
        /// The value after, in string form.
        new: String,
    },
    /// The writes a worker script recorded, in call order. Sent just before
    /// the job's `ScriptResult`.
    Commands {
        /// Which job.
        job: JobId,
        /// The writes.
        commands: Vec<Command>,
    },
    /// A worker script called a main-thread-only function (`cvar.on_change`,
    /// `console.register`): its recorded writes were dropped and the whole
    /// script is to be re-run on the main thread.
    RunOnMain(Box<MainThreadJob>),
}

/// A script moved from a worker to the main thread. Its outcome is delivered
/// (callback, handle, `ScriptResult`) when the main thread has run it.
pub struct MainThreadJob {
    pub(crate) job: JobId,
    pub(crate) chunk_name: Cow<'static, str>,
    pub(crate) source: Vec<u8>,
    pub(crate) args: Vec<zephyr_lua::ScriptValue>,
    pub(crate) reason: String,
    pub(crate) completion: Completion,
    /// Entity ids the worker attempt reserved; they are released, since its
    /// writes are dropped.
    pub(crate) reserved: Vec<EntityId>,
}

impl MainThreadJob {
    /// Which job.
    pub fn job(&self) -> JobId {
        self.job
    }

    /// The script's chunk name.
    pub fn chunk_name(&self) -> &str {
        &self.chunk_name
    }

    /// The main-thread-only function that moved it.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Delivers [`Outcome::Cancelled`] to the job's callback and handle: the
    /// script will not run.
    pub fn cancel(mut self) {
        let outcome = self
            .completion
            .run_callback(Outcome::Cancelled, &self.chunk_name);
        self.completion.fulfil(outcome);
    }
}

impl fmt::Debug for MainThreadJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MainThreadJob")
            .field("job", &self.job)
            .field("chunk_name", &self.chunk_name)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

/// A completion callback. It runs **on the worker thread** that ran the
/// script (or on the main thread for a script that had to move there), so it
/// must not touch engine state: send what it learns through a channel, or let
/// the main thread read the `ScriptResult` action instead.
pub type Callback = Box<dyn FnOnce(&Outcome) + Send + 'static>;

/// Where a job's outcome goes: its callback, then its handle.
pub(crate) struct Completion {
    pub(crate) callback: Option<Callback>,
    pub(crate) handle: oneshot::Sender<Outcome>,
}

impl Completion {
    /// Runs the callback, catching a panic; a panic turns the outcome into an
    /// error outcome naming it.
    pub(crate) fn run_callback(&mut self, outcome: Outcome, chunk: &str) -> Outcome {
        let Some(callback) = self.callback.take() else {
            return outcome;
        };
        match catch_unwind(AssertUnwindSafe(|| callback(&outcome))) {
            Ok(()) => outcome,
            Err(payload) => {
                let mut error = ScriptError::panic(chunk, payload.as_ref());
                error.message = format!(
                    "{chunk}: completion callback panicked: {}",
                    panic_text(&error)
                );
                Outcome::Failed(error)
            }
        }
    }

    /// Hands the final outcome to the job's handle.
    pub(crate) fn fulfil(self, outcome: Outcome) {
        // The handle may have been dropped: nobody is waiting, which is fine.
        let _ = self.handle.send(outcome);
    }
}

fn panic_text(error: &ScriptError) -> &str {
    error
        .message
        .split_once("panic: ")
        .map_or(&error.message, |(_, t)| t)
}
