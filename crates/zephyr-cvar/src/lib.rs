//! Console variables (CVars), console commands and config files for the Zephyr engine.
//!
//! This crate knows nothing about Lua: an engine can use it on its own, and the
//! `zephyr-runtime` crate exposes it to scripts as the `cvar` and `console` modules.
//!
//! | module     | its one job                                                            |
//! |------------|------------------------------------------------------------------------|
//! | `value`    | the typed value of a cvar, its string form, flags and definition       |
//! | `registry` | the thread-safe registry: register, set, reset, change events           |
//! | `config`   | `seta name "value"` config files for ARCHIVE cvars                      |
//! | `parse`    | the console's command-line grammar (quotes, `;`, `//` comments)         |
//! | `console`  | the command table, the built-in commands and the output ring buffer    |
//!
//! # Conventions (Source and Quake)
//!
//! * Values are typed: `bool`, `int`, `float` or `string`. Their string forms are
//!   predictable: booleans are `true`/`false`, floats always keep a decimal point
//!   (`90` stored in a float cvar reads back as `90.0`).
//! * Setting an unregistered cvar is an error; nothing is created silently.
//! * A refused value leaves the cvar and the change list untouched.
//! * `CHEAT` cvars can only change while the built-in `sv_cheats` cvar is `true`.
//!
//! ```
//! use zephyr_cvar::{CVarDef, CVarFlags, CVarRegistry};
//!
//! let cvars = CVarRegistry::new();
//! cvars.register(CVarDef::new("r_fov", 75.0).help("Field of view").range(30.0, 120.0))?;
//! cvars.set_from_string("r_fov", "90")?;
//! assert_eq!(cvars.get_as_string("r_fov").as_deref(), Some("90.0"));
//!
//! let changes = cvars.take_pending_changes();
//! assert_eq!((changes[0].old.as_str(), changes[0].new.as_str()), ("75.0", "90.0"));
//! # Ok::<(), zephyr_cvar::Error>(())
//! ```
#![forbid(unsafe_code)]

mod config;
mod console;
mod error;
mod parse;
mod registry;
mod value;

pub use config::{ConfigLineError, ConfigReport, write_atomically};
pub use console::{CommandFn, CommandInfo, Console, DEFAULT_HISTORY, OutputFn};
pub use error::{Error, Result};
pub use parse::{Invocation, parse_line};
pub use registry::{CVarChange, CVarInfo, CVarRegistry, UnusedPreset};
pub use value::{CVarDef, CVarFlags, CVarKind, CVarValue};
