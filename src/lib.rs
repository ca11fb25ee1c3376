//! Zephyr: Lua scripting for game engines.
//!
//! This facade re-exports the workspace's crates so that an engine needs one
//! dependency:
//!
//! * [`cvar`]: console variables, console commands, config files (no Lua);
//! * [`world`]: the default engine world behind the game API (no Lua);
//! * [`runtime`]: Lua states, the state pool, the action queue, the script
//!   runner, the per-frame `ScriptingSystem`, behaviours and the Lua API;
//! * `cli` (with the default `cli` feature): the `zephyr` host. An engine
//!   that embeds the library depends on `zephyr` with
//!   `default-features = false` and gets none of the host's dependencies
//!   (clap, toml, ctrlc, tracing subscribers).
//!
//! See the README for the architecture and the examples.
#![forbid(unsafe_code)]

#[cfg(feature = "cli")]
pub use zephyr_cli as cli;
pub use zephyr_cvar as cvar;
pub use zephyr_runtime as runtime;
pub use zephyr_world as world;

/// The README's code, compiled and run as a doctest so it cannot drift.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
