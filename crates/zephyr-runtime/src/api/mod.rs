//! The Lua API every script sees (`print`, `console`, `cvar`), and the host
//! context the bindings work against.
//!
//! | module     | its one job                                                    |
//! |------------|----------------------------------------------------------------|
//! | `args`     | argument checking and error messages for every binding          |
//! | `context`  | main thread or worker: where a binding's writes go              |
//! | `handlers` | named and function handlers that live in the main state        |
//! | `console`  | the `console` module                                           |
//! | `cvar`     | the `cvar` module                                              |
//!
//! A binding called on the main thread reads and writes at once. Called by a
//! worker-thread script (the state then carries a [`Recording`]) it reads a
//! consistent view (its own pending writes first) and records every write as
//! a [`Command`](crate::Command) for `ScriptingSystem::update()` to apply.

mod args;
mod console;
mod context;
mod cvar;
mod handlers;

use std::fmt;
use std::sync::Arc;

use mlua::{Lua, MultiValue, Table};
use zephyr_cvar::{CVarRegistry, Console};

pub(crate) use context::{begin_recording, take_recording, with_recording};
pub(crate) use handlers::{MainEnv, resolve_handler};

/// Where `print` output goes (one call per printed line).
pub type PrintSink = Arc<dyn Fn(&str) + Send + Sync>;

/// What the bindings work against: the engine's cvars, console and print sink.
pub struct Host {
    /// The cvar registry.
    pub cvars: Arc<CVarRegistry>,
    /// The console.
    pub console: Arc<Console>,
    /// Where scripts' `print` goes.
    pub print: PrintSink,
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Host")
            .field("cvars", &self.cvars)
            .field("console", &self.console)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// A host whose `print` goes into the console's output (and tracing).
    pub fn new(cvars: Arc<CVarRegistry>, console: Arc<Console>) -> Self {
        let sink_console = console.clone();
        Host {
            cvars,
            console,
            print: Arc::new(move |line| sink_console.print(line)),
        }
    }
}

/// Installs `print`, `console` and `cvar` into `api` (the table a
/// [`ScriptState`](crate::ScriptState) factory receives).
pub fn install(lua: &Lua, api: &Table, host: &Arc<Host>) -> mlua::Result<()> {
    let print_host = host.clone();
    api.set(
        "print",
        lua.create_function(move |lua, args: MultiValue| {
            let line = crate::state::print_line(lua, args)?;
            if !with_recording(lua, |rec| {
                rec.commands.push(crate::Command::Print(line.clone()))
            }) {
                (print_host.print)(&line);
            }
            Ok(())
        })?,
    )?;
    api.set("console", console::module(lua, host)?)?;
    api.set("cvar", cvar::module(lua, host)?)?;
    Ok(())
}
