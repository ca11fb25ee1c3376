//! The `cvar` module: get, set, exists, register, on_change, get_lua_handler.

use std::sync::Arc;

use mlua::{Lua, MultiValue, Table, Value};
use zephyr_cvar::{CVarDef, CVarFlags, CVarValue};

use super::Host;
use super::args::{Args, HandlerArg};
use super::context::{is_worker, read_recording, require_main_thread, with_recording};
use super::handlers::{check_named, main_env, store_function};
use crate::action::Command;

pub(super) fn module(lua: &Lua, host: &Arc<Host>) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("ARCHIVE", CVarFlags::ARCHIVE.bits())?;
    t.set("READ_ONLY", CVarFlags::READ_ONLY.bits())?;
    t.set("CHEAT", CVarFlags::CHEAT.bits())?;

    let h = host.clone();
    t.set(
        "get",
        lua.create_function(move |lua, args: MultiValue| {
            let a = Args::new(lua, "cvar.get", args);
            let name = a.string(1, "name")?;
            if let Some(pending) = pending_value(lua, &name) {
                return Ok(pending);
            }
            h.cvars
                .value(&name)
                .map(|v| v.to_string())
                .map_err(|e| a.error(e))
        })?,
    )?;

    let h = host.clone();
    t.set(
        "exists",
        lua.create_function(move |lua, args: MultiValue| {
            let a = Args::new(lua, "cvar.exists", args);
            let name = a.string(1, "name")?;
            Ok(pending_value(lua, &name).is_some() || h.cvars.contains(&name))
        })?,
    )?;

    let h = host.clone();
    t.set(
        "set",
        lua.create_function(move |lua, args: MultiValue| {
            let a = Args::new(lua, "cvar.set", args);
            let name = a.string(1, "name")?;
            let value = a.value_text(2, "value")?;
            if !is_worker(lua) {
                return h
                    .cvars
                    .set_from_string(&name, &value)
                    .map(drop)
                    .map_err(|e| a.error(e));
            }
            let pending_def = read_recording(lua, |r| r.cvar_defs.get(&name).cloned()).flatten();
            let canonical = match pending_def {
                Some(def) => def.parse_value(&value).map(|v| v.to_string()),
                None => h.cvars.validate(&name, &value),
            }
            .map_err(|e| a.error(e))?;
            with_recording(lua, |r| {
                r.cvar_values.insert(name.clone(), canonical.clone());
                r.commands.push(Command::SetCVar {
                    name,
                    value: canonical,
                });
            });
            Ok(())
        })?,
    )?;

    let h = host.clone();
    t.set(
        "register",
        lua.create_function(move |lua, args: MultiValue| {
            let a = Args::new(lua, "cvar.register", args);
            let name = a.string(1, "name")?;
            let default = match a.value(2) {
                Value::Boolean(b) => CVarValue::Bool(b),
                Value::Integer(i) => CVarValue::Int(i),
                Value::Number(n) => CVarValue::Float(n),
                Value::String(s) => CVarValue::String(s.to_string_lossy()),
                other => {
                    return Err(a.error(format!(
                        "argument 2 (default) must be a boolean, number or string, got {}",
                        if matches!(other, Value::Nil) { "nil" } else { other.type_name() }
                    )));
                }
            };
            let help = a.opt_string(3, "help")?.unwrap_or_default();
            let bits = a.opt_integer(4, "flags")?.unwrap_or(0);
            let flags = u32::try_from(bits)
                .ok()
                .and_then(CVarFlags::from_bits)
                .ok_or_else(|| {
                    a.error(format!(
                        "argument 4 (flags) must combine cvar.ARCHIVE, cvar.READ_ONLY and cvar.CHEAT, got {bits}"
                    ))
                })?;
            let def = CVarDef::new(name.clone(), default).help(help).flags(flags);
            if !is_worker(lua) {
                return h.cvars.register(def).map_err(|e| a.error(e));
            }
            def.check().map_err(|e| a.error(e))?;
            if let Some(existing) = h.cvars.info(&name)
                && existing.kind != def.default.kind()
            {
                return Err(a.error(zephyr_cvar::Error::AlreadyRegistered {
                    name,
                    kind: existing.kind,
                }));
            }
            let registered = h.cvars.contains(&name);
            with_recording(lua, |r| {
                if !registered {
                    r.cvar_defs.entry(name).or_insert_with(|| def.clone());
                }
                r.commands.push(Command::RegisterCVar(def));
            });
            Ok(())
        })?,
    )?;

    let h = host.clone();
    t.set(
        "on_change",
        lua.create_function(move |lua, args: MultiValue| {
            if is_worker(lua) {
                return Err(require_main_thread(lua, "cvar.on_change"));
            }
            let a = Args::new(lua, "cvar.on_change", args);
            let name = a.string(1, "name")?;
            let handler = a.handler(2, "handler")?;
            h.cvars.value(&name).map_err(|e| a.error(e))?;
            let label = match handler {
                HandlerArg::None => None,
                HandlerArg::Name(n) => {
                    check_named(lua, &n).map_err(|e| a.error(e))?;
                    Some(n)
                }
                HandlerArg::Function(f) => {
                    if main_env(lua).is_none() {
                        return Err(a.error("handlers live in the main state, and this is not it"));
                    }
                    Some(store_function(lua, f)?)
                }
            };
            h.cvars
                .set_on_change_lua(&name, label)
                .map_err(|e| a.error(e))
        })?,
    )?;

    let h = host.clone();
    t.set(
        "get_lua_handler",
        lua.create_function(move |lua, args: MultiValue| {
            let a = Args::new(lua, "cvar.get_lua_handler", args);
            let name = a.string(1, "name")?;
            h.cvars.value(&name).map_err(|e| a.error(e))?;
            Ok(h.cvars.on_change_lua(&name))
        })?,
    )?;
    Ok(t)
}

/// The value a worker job set or registered for `name`, if any.
fn pending_value(lua: &Lua, name: &str) -> Option<String> {
    read_recording(lua, |r| {
        r.cvar_values
            .get(name)
            .cloned()
            .or_else(|| r.cvar_defs.get(name).map(|d| d.default.to_string()))
    })
    .flatten()
}
