//! Zephyr: Lua scripting for game engines.
//!
//! This facade re-exports the workspace's crates so an engine needs one
//! dependency. See the README for the architecture.
#![forbid(unsafe_code)]

pub use zephyr_cvar as cvar;
