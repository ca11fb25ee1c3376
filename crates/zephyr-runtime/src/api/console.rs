//! The `console` module: log, execute, register.

use mlua::{MultiValue, Value};

use super::call::Call;
use super::handlers::store_handler;
use super::package::Ret;
use crate::action::Command;
use crate::recording::{is_worker, with_recording};

type R = mlua::Result<Ret>;

const LEVELS: &str = "debug, info, warn, error";

pub(super) fn log(c: &Call<'_>) -> R {
    let level = c.string(1);
    let message = zephyr_lua::binding::print_bytes(c.lua, MultiValue::from_iter([c.value(2)]))?;
    let message = String::from_utf8_lossy(message.strip_suffix(b"\n").unwrap_or(&message));
    match level.as_str() {
        "debug" => tracing::debug!(target: "zephyr::script", "{message}"),
        "info" => tracing::info!(target: "zephyr::script", "{message}"),
        "warn" => tracing::warn!(target: "zephyr::script", "{message}"),
        "error" => tracing::error!(target: "zephyr::script", "{message}"),
        other => {
            return Err(c.error(format!(
                "argument 1 (level) must be one of {LEVELS}, got '{other}'"
            )));
        }
    }
    c.host.console.record(&format!("[{level}] {message}"));
    Ok(Ret::None)
}

pub(super) fn execute(c: &Call<'_>) -> R {
    let command = c.string(1);
    // What the command starts (a `lua` job) names the script line.
    let origin = caller_line(c.lua);
    if !is_worker(c.lua) {
        return c
            .host
            .console
            .execute_from(&command, &origin)
            .map(|()| Ret::None)
            .map_err(|e| c.error(e));
    }
    c.host.console.check(&command).map_err(|e| c.error(e))?;
    with_recording(c.lua, |r| {
        r.commands.push(Command::ConsoleExecute { command, origin })
    });
    Ok(Ret::None)
}

/// `file:line` of the script line calling the binding.
fn caller_line(lua: &mlua::Lua) -> String {
    zephyr_lua::binding::line_at(lua, 1).unwrap_or_else(|| "a script".to_owned())
}

pub(super) fn register(c: &Call<'_>) -> R {
    let name = c.string(1);
    let label = store_handler(c, 2)?;
    let stored = label.clone();
    let help = c.opt_string(3).unwrap_or_else(|| format!("{name} (Lua)"));
    let weak = c.lua.weak();
    let command = name.clone();
    let registered = c
        .host
        .console
        .register_command(&name, &help, move |_console, args| {
            let fail = |message: String| zephyr_cvar::Error::Command {
                command: command.clone(),
                message,
            };
            let lua = weak
                .try_upgrade()
                .ok_or_else(|| fail("the main Lua state is gone".into()))?;
            let handler = super::resolve_handler(&lua, &label).map_err(fail)?;
            let call_args = args
                .iter()
                .map(|s| lua.create_string(s).map(Value::String))
                .collect::<mlua::Result<MultiValue>>()
                .map_err(|e| fail(e.to_string()))?;
            zephyr_lua::binding::run_budgeted(&lua, &command, || {
                handler.call::<MultiValue>(call_args)
            })
            .map(drop)
            .map_err(|e| fail(e.message))
        });
    if let Err(e) = registered {
        super::handlers::release_handler(c.lua, &stored)?;
        return Err(c.error(e));
    }
    super::handlers::replace_command_handler(c.lua, &name, &stored)?;
    Ok(Ret::None)
}
