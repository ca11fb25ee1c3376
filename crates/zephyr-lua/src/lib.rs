//! Zephyr's Lua layer: sandboxed Lua 5.4 states (vendored through mlua)
//! that a host builds its scripting on. It knows no world and no cvars:
//! what scripts may touch besides the standard library is what the host
//! installs into each state.
//!
//! | module        | its one job                                                              |
//! |---------------|--------------------------------------------------------------------------|
//! | `state`       | [`ScriptState`]: one Lua state, its executions, compile cache, memory limit |
//! | `budget`      | the instruction budget's count, [`Limits`], and halts `pcall` cannot swallow |
//! | `hook`        | a state's one hook: the budget's count, the profiler's and the debugger's events |
//! | [`debugger`]  | breakpoints, stepping, pausing; a stopped thread's stack, variables, evaluation |
//! | [`profile`]   | the profiler (time per function and per stack) and scripts' labels     |
//! | `sandbox`     | the safe profile: environments, shared loaders, the `io` subset, file access inside the script roots |
//! | `pattern`     | `string.find`/`match`/`gmatch`/`gsub` of the safe profile, under the budget (Lua's counted C functions, or our matcher) |
//! | [`chunk`]     | compile once per state, run in many environments; file sources          |
//! | [`random`]    | `math.random` with one reproducible stream per instance and job          |
//! | [`reload`]    | hot reload's memory: a chunk's top-level locals kept across versions     |
//! | `script_error`| [`ScriptError`]: how a script failed, with chunk, line and traceback     |
//! | `value`       | [`ScriptValue`]: a value copied out of Lua                              |
//! | `trusted`     | the only `unsafe` in the workspace: Lua with `debug`, for the trusted profile, and `debug` for hot reload's joins |
//! | `stock`       | `run_stock_lua` (feature `stock-lua`): stock Lua 5.4, the conformance runner's reference |
//! | [`binding`]   | for functions written in Rust that scripts call: errors at the caller's line, output, the caller's environment, halts |
//!
//! Modules depend on each other one way, leaves first: `value`,
//! `script_error`, `chunk`, `random`, `profile` and `trusted` on nothing of
//! the crate (but each other's types); `reload` on `trusted`; `budget` on
//! `script_error` and `profile`; `hook` on `budget` and `profile`;
//! `pattern` on `budget`; `sandbox` on those; `state` on all of them.
#![deny(unsafe_code)]

mod budget;
pub mod chunk;
pub mod debugger;
mod error;
mod hook;
mod pattern;
pub mod profile;
pub mod random;
pub mod reload;
mod sandbox;
mod script_error;
mod state;
#[cfg(feature = "stock-lua")]
mod stock;
mod trusted;
mod value;

pub use budget::{DEFAULT_INSTRUCTION_BUDGET, DEFAULT_MEMORY_LIMIT, HaltReason, Limits};
pub use chunk::{CHUNK_CACHE_CAPACITY, ChunkCacheStats, CompiledChunk, check_syntax, file_source};
pub use error::{Error, Result};
pub use random::DEFAULT_SEED;
pub use sandbox::{Profile, ScriptFiles};
pub use script_error::{ScriptError, ScriptErrorKind};
pub use state::{ReloadableChunk, ScriptState, StateConfig};
#[cfg(feature = "stock-lua")]
pub use stock::run_stock_lua;
pub use value::ScriptValue;

pub use mlua;

/// For functions written in Rust that scripts call (the host's API):
/// errors that name the calling script's line as `luaL_error` does, where
/// script output goes, the calling script's environment, Lua's type names,
/// and halts that `pcall` cannot swallow.
pub mod binding {
    pub use crate::budget::{halt, run_budgeted};
    pub use crate::sandbox::{caller_env, print_bytes, set_output, type_name, write_output};
    pub use crate::script_error::{
        ErrorDescriber, line_at, lua_error, root_message, set_error_describer,
    };
    pub use crate::value::lua_number_text;
}

#[cfg(test)]
mod thread_safety {
    use super::*;
    static_assertions::assert_impl_all!(ScriptState: Send);
    static_assertions::assert_impl_all!(ScriptValue: Send, Sync);
    static_assertions::assert_impl_all!(ScriptError: Send, Sync);
    // An entered stream is entered for the thread that entered it.
    static_assertions::assert_not_impl_any!(random::Entered<'static>: Send);
}
