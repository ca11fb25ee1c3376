//! The crate's error type.

use zephyr_lua::ScriptError;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the runtime's Rust API can fail with.
///
/// The first four variants are the reference design's error set
/// (`OutOfMemory`, `QueueFull`, `LuaRuntimeError`, `StatePoolExhausted`).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A Lua state could not allocate (it hit its memory limit or the
    /// allocator failed) outside of a script, for example while being built.
    #[error("out of memory: {0}")]
    OutOfMemory(String),
    /// The action queue was full. [`ActionQueue::try_push`](crate::ActionQueue::try_push)
    /// returns [`QueueFull`](crate::QueueFull) instead, which hands the action back;
    /// this variant is what it becomes when converted with `?`.
    #[error("action queue full (capacity {capacity})")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// A script failed (syntax error, runtime error, budget exceeded, ...).
    #[error("{0}")]
    LuaRuntimeError(ScriptError),
    /// No Lua state became free in time (`try_acquire` / `acquire_timeout`).
    #[error("state pool exhausted: all {capacity} states are leased")]
    StatePoolExhausted {
        /// The pool's capacity.
        capacity: usize,
    },
    /// The runner (or its queue) has shut down and takes no more work.
    #[error("the script runner has shut down")]
    ShutDown,
    /// A message in the reference's wire format could not be decoded or encoded.
    #[error("invalid {kind} message: {reason}")]
    InvalidMessage {
        /// Which format (`CVarLua`, `ScriptResult`).
        kind: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A named Lua handler does not exist (or is not a function).
    #[error("handler '{name}' not found: {reason}")]
    HandlerNotFound {
        /// The handler's name.
        name: String,
        /// Why it could not be used.
        reason: String,
    },
    /// A cvar or console error.
    #[error(transparent)]
    CVar(#[from] zephyr_cvar::Error),
    /// The world refused a write (recorded on a worker, applied at the sync
    /// point).
    #[error(transparent)]
    World(#[from] zephyr_world::Error),
    /// An engine command (or a world write) refused where it was applied;
    /// `command` names the function that recorded it.
    #[error("{command}: {message}")]
    Refused {
        /// The function (`game.damage`), or `world` for a built-in write.
        command: String,
        /// What the world or the engine said.
        message: String,
    },
    /// A cvar changed and its Lua handler could not be called.
    #[error("cvar '{cvar}' changed but its handler '{handler}' cannot be called: {reason}")]
    Handler {
        /// The cvar.
        cvar: String,
        /// The handler's name.
        handler: String,
        /// Why it could not be called.
        reason: String,
    },
    /// An error from mlua while building a state or its API.
    #[error("lua: {0}")]
    Lua(#[from] mlua::Error),
    /// A configuration value that cannot work (for example zero workers).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A spawn that cannot be made: an unknown prefab, a value the
    /// template refuses (the message names the prefab and the key).
    #[error("cannot spawn: {0}")]
    Spawn(String),
    /// A file could not be read.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's message.
        message: String,
    },
}

impl From<ScriptError> for Error {
    fn from(e: ScriptError) -> Self {
        Error::LuaRuntimeError(e)
    }
}

impl From<zephyr_lua::Error> for Error {
    fn from(e: zephyr_lua::Error) -> Self {
        match e {
            zephyr_lua::Error::OutOfMemory(message) => Error::OutOfMemory(message),
            zephyr_lua::Error::Lua(error) => Error::Lua(error),
            other => Error::Lua(mlua::Error::runtime(other.to_string())),
        }
    }
}
