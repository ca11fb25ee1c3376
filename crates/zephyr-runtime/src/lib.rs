//! The Zephyr scripting runtime: Lua 5.4 (vendored through mlua) for a game
//! engine, with pooled states, an asynchronous script runner and a typed
//! action queue that carries every worker-side write to the main thread.
//!
//! The Lua states themselves (sandbox, budgets, compiled chunks, random
//! streams, script errors) are the [`lua`] crate's (`zephyr-lua`); this
//! crate runs them for an engine.
//!
//! An engine starts at [`Scripting`] (the front door: the system, the
//! behaviours and the frame's [`Stage`]s over the engine's own
//! [`EngineWorld`](world::EngineWorld)) and [`prelude`].
//!
//! | module    | its one job                                                             |
//! |-----------|-------------------------------------------------------------------------|
//! | `recording` | a worker job's recorded writes and its view of the world               |
//! | `pool`    | [`StatePool`]: a fixed set of states leased through RAII guards          |
//! | `queue`   | [`ActionQueue`]: the bounded worker-to-main-thread queue                 |
//! | `action`  | [`Action`] and [`Command`], and the reference's string wire formats      |
//! | `outcome` | [`Outcome`]: what a script job returned or how it failed                 |
//! | `runner`  | [`ScriptRunner`]: worker threads running scripts with leased states      |
//! | `system`  | [`ScriptingSystem`]: the per-frame main-thread dispatcher                |
//! | `behaviour` | [`Behaviours`]: scripts attached to entities, the frame, the parallel phase, the task and event steps, hot reload (`behaviour/`) |
//! | `scripting` | [`Scripting`]: the front door, owning the system and the behaviours, running the stages |
//! | [`prefab`] | [`EntityTemplate`](prefab::EntityTemplate): what a scene's entities and prefabs, and a spawn, are made of |
//! | `task`    | `zephyr.task`: coroutines that wait in game time, resumed by the frame |
//! | `event`   | `zephyr.events`: emit, send, subscriptions, the queues to scripts and to the engine |
//! | [`compat`] | the reference design's string wire formats and Lua helpers, for hosts ported from it |
//! | `api`     | the Lua API scripts see, declared once in a registry (`api::API`)        |
//!
//! Modules depend on each other one way, leaves first: `outcome` and
//! `error` depend on nothing of the crate; `task` on nothing; `event` on
//! `task`; `action` on `event` and `outcome`; `recording` (a worker job's
//! writes) on `action`; `api` (the bindings) and `runner` on `recording`;
//! `system` on all of these; `behaviour` (the frame: callbacks, tasks,
//! events) on `system`; `scripting` (the front door) on `behaviour`.
//!
//! Data flows one way: a script calls a binding; on the main thread the
//! binding acts at once; on a worker it records a [`Command`]; the runner
//! sends the commands and the [`Outcome`] as [`Action`]s; and
//! [`ScriptingSystem::update`] applies them on the main thread, in the order
//! the scripts were enqueued.
#![deny(unsafe_code)]

mod action;
pub mod api;
mod behaviour;
pub mod compat;
mod error;
mod event;
mod outcome;
mod pool;
pub mod prefab;
mod queue;
mod recording;
mod runner;
mod scripting;
mod source;
mod system;
mod task;

pub use action::{Action, Callback, Command, JobId, MainThreadJob};
// The reference's names, kept at the root where they were.
#[cfg(feature = "docs")]
pub use api::engine_cvars_markdown;
pub use behaviour::{
    BehaviourError, BehaviourId, BehaviourInfo, Behaviours, FrameReport, ReloadReport,
    ScriptSource, Stage,
};
#[doc(hidden)]
pub use compat::{
    CVarLuaMessage, ExecuteResult, ScriptResultMessage, call_named_handler, decode_cvar_lua,
    decode_script_result, encode_cvar_lua, encode_script_result, encode_script_result_message,
    execute_lua_buffer, try_call_named_handler,
};
pub use error::{Error, Result};
pub use event::{Event, EventValue, OUTBOX_CAPACITY};
/// The Lua binding Zephyr is built on, for an engine's own Lua work (the
/// same copy, so its values and errors are Zephyr's).
pub use mlua;
pub use outcome::Outcome;
pub use pool::{Lease, StatePool};
pub use queue::{ActionQueue, DEFAULT_QUEUE_CAPACITY, QueueFull};
pub use runner::{Job, RunnerConfig, RunnerStats, ScriptHandle, ScriptRunner, Shutdown};
pub use scripting::Scripting;
pub use system::{
    PHYS_GRAVITY, ScriptingConfig, ScriptingSystem, UpdateReport, register_engine_cvars,
};
pub use zephyr_cvar as cvar;
pub use zephyr_lua as lua;
pub use zephyr_lua::{
    CHUNK_CACHE_CAPACITY, ChunkCacheStats, CompiledChunk, DEFAULT_INSTRUCTION_BUDGET,
    DEFAULT_MEMORY_LIMIT, DEFAULT_SEED, Limits, Profile, ScriptError, ScriptErrorKind, ScriptState,
    ScriptValue, StateConfig, check_syntax, file_source,
};
pub use zephyr_world as world;

/// What an engine embedding Zephyr names most: `use zephyr_runtime::prelude::*;`.
pub mod prelude {
    pub use crate::api::{Component, FieldType, Function, Package};
    pub use crate::{
        BehaviourError, BehaviourId, FrameReport, Job, Outcome, ScriptSource, Scripting,
        ScriptingConfig, ScriptingSystem, Stage,
    };
    #[cfg(feature = "hecs-world")]
    pub use zephyr_world::World;
    pub use zephyr_world::{
        DespawnHolds, EngineWorld, EntityId, FieldValue, Input, SharedWorld, Time, Transform,
        Update, WorldCommand, WorldRead, WorldView, WorldWrite, share,
    };
}

#[cfg(test)]
mod thread_safety {
    use super::*;
    static_assertions::assert_impl_all!(ScriptState: Send);
    static_assertions::assert_impl_all!(ScriptRunner: Send, Sync);
    static_assertions::assert_impl_all!(ScriptHandle: Send);
    static_assertions::assert_impl_all!(Action: Send);
    static_assertions::assert_impl_all!(ScriptingSystem: Send);
}
