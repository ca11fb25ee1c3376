//! The Zephyr scripting runtime: Lua 5.4 (vendored through mlua) for a game
//! engine, with pooled states, an asynchronous script runner and a typed
//! action queue that carries every worker-side write to the main thread.
//!
//! | module    | its one job                                                             |
//! |-----------|-------------------------------------------------------------------------|
//! | `state`   | one Lua state: configuration, executions, compile cache, memory limit    |
//! | `budget`  | the instruction budget's hook and the halt `pcall` cannot swallow        |
//! | `sandbox` | environments, shared loaders, file access inside the script roots        |
//! | `recording` | a worker job's recorded writes and its view of the world               |
//! | `pool`    | [`StatePool`]: a fixed set of states leased through RAII guards          |
//! | `queue`   | [`ActionQueue`]: the bounded worker-to-main-thread queue                 |
//! | `action`  | [`Action`] and [`Command`], and the reference's string wire formats      |
//! | `outcome` | [`Outcome`]: what a script returned or how it failed                     |
//! | `runner`  | [`ScriptRunner`]: worker threads running scripts with leased states      |
//! | `system`  | [`ScriptingSystem`]: the per-frame main-thread dispatcher                |
//! | `chunk`   | compile once per state, run in many environments; file sources        |
//! | `behaviour` | [`Behaviours`]: scripts attached to entities, the frame, the parallel phase, the task and event steps, hot reload (`behaviour/`) |
//! | `trusted` | the only `unsafe` in the workspace: Lua with `debug`, for the trusted profile |
//! | `stock`   | [`run_stock_lua`]: stock Lua 5.4, the conformance runner's reference  |
//! | `pattern` | `string.find`/`match`/`gmatch`/`gsub` of the safe profile, under the budget |
//! | `random`  | `math.random` with one reproducible stream per instance and job   |
//! | `task`    | `zephyr.task`: coroutines that wait in game time, resumed by the frame |
//! | `event`   | `zephyr.events`: emit, send, subscriptions, the queues to scripts and to the engine |
//! | `exec`    | the reference's helpers `execute_lua_buffer` and `call_named_handler`    |
//! | `api`     | the Lua API scripts see, declared once in a registry (`api::API`)        |
//!
//! Modules depend on each other one way, leaves first: `chunk`, `outcome`,
//! `random` and `trusted` depend on nothing; `budget` and `error` on
//! `outcome`; `pattern` on `budget`; `sandbox` on those; `task` on
//! `sandbox`; `event` on `task`; `action` on `event`; `state` on the
//! sandbox, random and task modules; `recording` (a worker job's writes) on
//! `action` and `budget`; `api` (the bindings) and `runner` on `recording`;
//! `system` on all of these; `behaviour` (the frame: callbacks, tasks,
//! events) on `system`.
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
mod budget;
mod chunk;
mod error;
mod event;
mod exec;
mod outcome;
mod pattern;
mod pool;
mod queue;
mod random;
mod recording;
mod runner;
mod sandbox;
mod state;
mod stock;
mod system;
mod task;
mod trusted;

pub use action::{
    Action, CVarLuaMessage, Callback, Command, JobId, MainThreadJob, ScriptResultMessage,
    decode_cvar_lua, decode_script_result, encode_cvar_lua, encode_script_result,
    encode_script_result_message,
};
pub use behaviour::{
    BehaviourError, BehaviourId, BehaviourInfo, Behaviours, FrameReport, ReloadReport, ScriptSource,
};
pub use chunk::{CHUNK_CACHE_CAPACITY, ChunkCacheStats, CompiledChunk, check_syntax, file_source};
pub use error::{Error, Result};
pub use event::{Event, EventValue, OUTBOX_CAPACITY};
pub use exec::{ExecuteResult, call_named_handler, execute_lua_buffer, try_call_named_handler};
pub use outcome::{Outcome, ScriptError, ScriptErrorKind, ScriptValue};
pub use pool::{Lease, StatePool};
pub use queue::{ActionQueue, DEFAULT_QUEUE_CAPACITY, QueueFull};
pub use random::DEFAULT_SEED;
pub use runner::{Job, RunnerConfig, RunnerStats, ScriptHandle, ScriptRunner, Shutdown};
pub use state::{
    DEFAULT_INSTRUCTION_BUDGET, DEFAULT_MEMORY_LIMIT, Limits, Profile, ScriptState, StateConfig,
};
pub use stock::run_stock_lua;
pub use system::{
    PHYS_GRAVITY, ScriptingConfig, ScriptingSystem, UpdateReport, engine_cvars_markdown,
    register_engine_cvars,
};
pub use zephyr_cvar as cvar;
pub use zephyr_world as world;

#[cfg(test)]
mod thread_safety {
    use super::*;
    static_assertions::assert_impl_all!(ScriptState: Send);
    static_assertions::assert_impl_all!(ScriptRunner: Send, Sync);
    static_assertions::assert_impl_all!(ScriptHandle: Send);
    static_assertions::assert_impl_all!(Action: Send);
    static_assertions::assert_impl_all!(ScriptingSystem: Send);
}
