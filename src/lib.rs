//! Zephyr: Lua scripting for game engines.
//!
//! This facade re-exports the workspace's crates so that an engine needs one
//! dependency:
//!
//! * [`cvar`]: console variables, console commands, config files (no Lua);
//! * [`world`]: the default engine world behind the game API (no Lua);
//! * [`runtime`]: Lua states, the state pool, the action queue, the script
//!   runner, the per-frame `ScriptingSystem`, behaviours and the Lua API;
//! * `cli` (with the `cli` feature, off by default): the `zephyr` host's
//!   library. Without it an engine gets none of the host's dependencies
//!   (clap, toml, rustyline, notify, ctrlc, tracing subscribers); the
//!   `zephyr` binary itself is `zephyr-cli`'s.
//!
//! Start at [`prelude`] and [`runtime::Scripting`], and `docs/EMBEDDING.md`.
//!
//! The default feature `hecs-world` is Zephyr's own world
//! (`world::World`, hecs entities and physics); an engine that brings its
//! own world through `world::EngineWorld` can leave it out.
//!
//! See the README for the architecture and the examples.
#![forbid(unsafe_code)]

#[cfg(feature = "cli")]
pub use zephyr_cli as cli;
pub use zephyr_cvar as cvar;
pub use zephyr_runtime as runtime;
pub use zephyr_world as world;

/// What an engine embedding Zephyr names most (the runtime's prelude).
pub mod prelude {
    pub use zephyr_runtime::prelude::*;
}

/// The README's code, compiled and run as a doctest so it cannot drift.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// `docs/EMBEDDING.md`'s code, compiled and run the same way.
#[doc = include_str!("../docs/EMBEDDING.md")]
#[cfg(doctest)]
pub struct EmbeddingDoctests;
