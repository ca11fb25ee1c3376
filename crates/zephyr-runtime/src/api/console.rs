//! The `console` module: log, execute, register.

use std::sync::Arc;

use mlua::{Lua, MultiValue, Table};

use super::Host;
use super::args::{Args, HandlerArg};
use super::context::{is_worker, require_main_thread, with_recording};
use super::handlers::{check_named, main_env, resolve_handler, store_function};
use crate::action::Command;
use crate::state::ExecControl;

const LEVELS: &str = "debug, info, warn, error";

pub(super) fn module(lua: &Lua, host: &Arc<Host>) -> mlua::Result<Table> {
    let t = lua.create_table()?;

    let h = host.clone();
    t.set(
        "log",
        lua.create_function(move |lua, args: MultiValue| {
            let a = Args::new(lua, "console.log", args);
            let level = a.string(1, "level")?;
            let message = match a.value(2) {
                mlua::Value::Nil if args_len(&a) < 2 => {
                    return Err(a.error("argument 2 (message) must be a value, got no value"));
                }
                v => crate::state::print_line(lua, MultiValue::from_iter([v]))?,
            };
            match level.as_str() {
                "debug" => tracing::debug!(target: "zephyr::script", "{message}"),
                "info" => tracing::info!(target: "zephyr::script", "{message}"),
                "warn" => tracing::warn!(target: "zephyr::script", "{message}"),
                "error" => tracing::error!(target: "zephyr::script", "{message}"),
                other => {
                    return Err(a.error(format!(
                        "argument 1 (level) must be one of {LEVELS}, got '{other}'"
                    )));
                }
            }
            h.console.record(&format!("[{level}] {message}"));
            Ok(())
        })?,
    )?;

    let h = host.clone();
    t.set(
        "execute",
        lua.create_function(move |lua, args: MultiValue| {
            let a = Args::new(lua, "console.execute", args);
            let command = a.string(1, "command")?;
            if !is_worker(lua) {
                return h.console.execute(&command).map_err(|e| a.error(e));
            }
            h.console.check(&command).map_err(|e| a.error(e))?;
            with_recording(lua, |r| r.commands.push(Command::ConsoleExecute(command)));
            Ok(())
        })?,
    )?;

    let h = host.clone();
    t.set(
        "register",
        lua.create_function(move |lua, args: MultiValue| {
            if is_worker(lua) {
                return Err(require_main_thread(lua, "console.register"));
            }
            let a = Args::new(lua, "console.register", args);
            let name = a.string(1, "name")?;
            let label = match a.handler(2, "handler")? {
                HandlerArg::Name(n) => {
                    check_named(lua, &n).map_err(|e| a.error(e))?;
                    n
                }
                HandlerArg::Function(f) => {
                    if main_env(lua).is_none() {
                        return Err(a.error("handlers live in the main state, and this is not it"));
                    }
                    store_function(lua, f)?
                }
                HandlerArg::None => {
                    return Err(a.error(
                        "argument 2 (handler) must be a function name or a function, got nil",
                    ));
                }
            };
            let help = a
                .opt_string(3, "help")?
                .unwrap_or_else(|| format!("{name} (Lua)"));
            let weak = lua.weak();
            let command = name.clone();
            h.console
                .register_command(&name, &help, move |_console, args| {
                    let fail = |message: String| zephyr_cvar::Error::Command {
                        command: command.clone(),
                        message,
                    };
                    let lua = weak
                        .try_upgrade()
                        .ok_or_else(|| fail("the main Lua state is gone".into()))?;
                    let handler = resolve_handler(&lua, &label).map_err(fail)?;
                    let control = lua
                        .app_data_ref::<Arc<ExecControl>>()
                        .map(|c| Arc::clone(&c))
                        .ok_or_else(|| {
                            fail("the main Lua state has no execution control".into())
                        })?;
                    let call_args = MultiValue::from_iter(
                        args.iter()
                            .map(|s| lua.create_string(s).map(mlua::Value::String))
                            .collect::<mlua::Result<Vec<_>>>()
                            .map_err(|e| fail(e.to_string()))?,
                    );
                    control
                        .run(&lua, &command, || handler.call::<MultiValue>(call_args))
                        .map(drop)
                        .map_err(|e| fail(e.message))
                })
                .map_err(|e| a.error(e))
        })?,
    )?;
    Ok(t)
}

fn args_len(a: &Args<'_>) -> usize {
    a.len()
}
