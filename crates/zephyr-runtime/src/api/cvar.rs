//! The `cvar` module: get, get_number, get_bool, set, exists, register,
//! on_change, get_lua_handler.

use mlua::Value;
use zephyr_cvar::{CVarDef, CVarFlags, CVarValue};

use super::call::Call;
use super::handlers::store_handler;
use super::package::Ret;
use crate::action::Command;
use crate::recording::{is_worker, read_recording, with_recording};

type R = mlua::Result<Ret>;

/// The value a worker job set or registered for `name`, if any.
fn pending_value(c: &Call<'_>, name: &str) -> Option<String> {
    read_recording(c.lua, |r| {
        r.cvar_values
            .get(name)
            .cloned()
            .or_else(|| r.cvar_defs.get(name).map(|d| d.default.to_string()))
    })
    .flatten()
}

pub(super) fn get(c: &Call<'_>) -> R {
    let name = c.string(1);
    if let Some(pending) = pending_value(c, &name) {
        return Ok(Ret::Str(pending));
    }
    c.host
        .cvars
        .value(&name)
        .map(|v| Ret::Str(v.to_string()))
        .map_err(|e| c.error(e))
}

/// The cvar's value as this script sees it, typed: a worker's own pending
/// write or registration (kept as text) read back as the cvar's type, else
/// the registry's.
fn typed_value(c: &Call<'_>, name: &str) -> mlua::Result<CVarValue> {
    if let Some(pending) = pending_value(c, name) {
        let kind = read_recording(c.lua, |r| r.cvar_defs.get(name).map(|d| d.default.kind()))
            .flatten()
            .or_else(|| c.host.cvars.get(name).map(|v| v.kind()));
        if let Some(kind) = kind {
            return CVarValue::parse(name, kind, &pending).map_err(|e| c.error(e));
        }
    }
    c.host.cvars.value(name).map_err(|e| c.error(e))
}

/// The error of a typed getter on a cvar of another type.
fn wrong_kind(c: &Call<'_>, name: &str, value: &CVarValue, wanted: &str) -> mlua::Error {
    c.error(format!(
        "cvar '{name}' is of type {}, not {wanted} (cvar.get gives any cvar's value as text)",
        value.kind().name()
    ))
}

pub(super) fn get_number(c: &Call<'_>) -> R {
    let name = c.string(1);
    match typed_value(c, &name)? {
        CVarValue::Int(i) => Ok(Ret::Integer(i)),
        CVarValue::Float(f) => Ok(Ret::Number(f)),
        other => Err(wrong_kind(c, &name, &other, "a number")),
    }
}

pub(super) fn get_bool(c: &Call<'_>) -> R {
    let name = c.string(1);
    match typed_value(c, &name)? {
        CVarValue::Bool(b) => Ok(Ret::Bool(b)),
        other => Err(wrong_kind(c, &name, &other, "a boolean")),
    }
}

pub(super) fn exists(c: &Call<'_>) -> R {
    let name = c.string(1);
    Ok(Ret::Bool(
        pending_value(c, &name).is_some() || c.host.cvars.contains(&name),
    ))
}

pub(super) fn set(c: &Call<'_>) -> R {
    let name = c.string(1);
    let value = c.scalar_text(2);
    let cvars = &c.host.cvars;
    if !is_worker(c.lua) {
        return cvars
            .set_from_string(&name, &value)
            .map(|_| Ret::None)
            .map_err(|e| c.error(e));
    }
    let pending_def = read_recording(c.lua, |r| r.cvar_defs.get(&name).cloned()).flatten();
    let canonical = match pending_def {
        Some(def) => cvars.validate_unregistered(&def, &value),
        None => cvars.validate(&name, &value),
    }
    .map_err(|e| c.error(e))?;
    with_recording(c.lua, |r| {
        r.cvar_values.insert(name.clone(), canonical.clone());
        r.commands.push(Command::SetCVar {
            name,
            value: canonical,
        });
    });
    Ok(Ret::None)
}

pub(super) fn register(c: &Call<'_>) -> R {
    let name = c.string(1);
    let default = match c.value(2) {
        Value::Boolean(b) => CVarValue::Bool(b),
        Value::Integer(i) => CVarValue::Int(i),
        Value::Number(n) => CVarValue::Float(n),
        Value::String(s) => CVarValue::String(s.to_string_lossy()),
        _ => unreachable!("checked as a scalar"),
    };
    let help = c.opt_string(3).unwrap_or_default();
    let bits = match c.value(4) {
        Value::Nil => 0,
        _ => c.integer(4),
    };
    let flags = u32::try_from(bits)
        .ok()
        .and_then(CVarFlags::from_bits)
        .ok_or_else(|| {
            c.error(format!(
                "argument 4 (flags) must combine cvar.ARCHIVE, cvar.READ_ONLY and cvar.CHEAT, got {bits}"
            ))
        })?;
    let def = CVarDef::new(name.clone(), default).help(help).flags(flags);
    let cvars = &c.host.cvars;
    if !is_worker(c.lua) {
        return cvars
            .register(def)
            .map(|()| Ret::None)
            .map_err(|e| c.error(e));
    }
    def.check().map_err(|e| c.error(e))?;
    if let Some(existing) = cvars.info(&name)
        && existing.kind != def.default.kind()
    {
        return Err(c.error(zephyr_cvar::Error::AlreadyRegistered {
            name,
            kind: existing.kind,
        }));
    }
    let registered = cvars.contains(&name);
    with_recording(c.lua, |r| {
        if !registered {
            r.cvar_defs.entry(name).or_insert_with(|| def.clone());
        }
        r.commands.push(Command::RegisterCVar(def));
    });
    Ok(Ret::None)
}

pub(super) fn on_change(c: &Call<'_>) -> R {
    let name = c.string(1);
    c.host.cvars.value(&name).map_err(|e| c.error(e))?;
    let label = match c.value(2) {
        Value::Nil => None,
        _ => Some(store_handler(c, 2)?),
    };
    let previous: Option<String> = {
        let mut handlers = c.host.cvar_handlers.lock();
        match label {
            Some(label) => handlers.insert(name, label),
            None => handlers.remove(name.as_str()),
        }
    };
    if let Some(previous) = previous {
        super::handlers::release_handler(c.lua, &previous)?;
    }
    Ok(Ret::None)
}

pub(super) fn get_lua_handler(c: &Call<'_>) -> R {
    let name = c.string(1);
    c.host.cvars.value(&name).map_err(|e| c.error(e))?;
    Ok(Ret::OptStr(c.host.cvar_handlers.lock().get(&name).cloned()))
}
