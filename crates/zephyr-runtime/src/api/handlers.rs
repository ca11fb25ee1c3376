//! Handlers (for cvar changes and Lua console commands) live in the main
//! state: a name resolves in its persistent environment, and a function value
//! is kept in a registry table under a generated label. So a registered
//! handler is always found, wherever the change fires from.

use crate::error::Error;
use mlua::{Function, Lua, Table, Value};

use super::call::Call;

/// The main state's persistent environment, set as app data on the main
/// state only. Its presence is what makes a state "the main state".
#[derive(Clone, Debug)]
pub(crate) struct MainEnv(pub(crate) Table);

const HANDLERS_KEY: &str = "zephyr.handlers";

/// The main state's environment, if this is the main state.
pub(crate) fn main_env(lua: &Lua) -> Option<Table> {
    lua.app_data_ref::<MainEnv>().map(|env| env.0.clone())
}

fn handler_table(lua: &Lua) -> mlua::Result<Table> {
    match lua.named_registry_value::<Value>(HANDLERS_KEY)? {
        Value::Table(t) => Ok(t),
        _ => {
            let t = lua.create_table()?;
            lua.set_named_registry_value(HANDLERS_KEY, &t)?;
            Ok(t)
        }
    }
}

/// Keeps `function` in the main state and returns its label, such as
/// `<function #1 init.lua:3>` (never a valid Lua name, so it cannot collide
/// with a global).
fn store_function(lua: &Lua, function: Function) -> mlua::Result<String> {
    let table = handler_table(lua)?;
    let info = function.info();
    // A counter (slot 0), not the table's length: labels are released when
    // their handler is replaced, and must never be handed out twice.
    let number = table.raw_get::<Option<i64>>(0)?.unwrap_or(0) + 1;
    table.raw_set(0, number)?;
    let label = format!(
        "<function #{number} {}:{}>",
        info.short_src.as_deref().unwrap_or("?"),
        info.line_defined.unwrap_or(0)
    );
    table.raw_set(label.as_str(), function)?;
    Ok(label)
}

/// Remembers that console command `name` calls the handler under `label`,
/// and lets go of the handler it called before (re-registering a command
/// must not keep every function it ever had).
pub(crate) fn replace_command_handler(lua: &Lua, name: &str, label: &str) -> mlua::Result<()> {
    let table = handler_table(lua)?;
    let key = format!("command {name}");
    if let Some(previous) = table.raw_get::<Option<String>>(key.as_str())?
        && previous != label
    {
        release_handler(lua, &previous)?;
    }
    table.raw_set(key, label)
}

/// Lets go of a handler stored under `label` (its cvar or command got
/// another one, or none): without this, a script that sets a handler in a
/// loop (or in every instance's `on_start`) would keep every function it
/// ever passed. Names of global functions are not stored, and stay.
pub(crate) fn release_handler(lua: &Lua, label: &str) -> mlua::Result<()> {
    if label.starts_with("<function #") {
        handler_table(lua)?.raw_set(label, Value::Nil)?;
    }
    Ok(())
}

/// Checks that `name` is a function in the main state's globals now.
fn check_named(lua: &Lua, name: &str) -> Result<(), String> {
    let Some(env) = main_env(lua) else {
        return Err("handlers live in the main state, and this is not it".into());
    };
    match env.get::<Value>(name) {
        Ok(Value::Function(_)) => Ok(()),
        Ok(Value::Nil) => Err(format!(
            "handler '{name}' is not defined: define the function before registering it"
        )),
        Ok(other) => Err(format!(
            "handler '{name}' is a {}, not a function",
            zephyr_lua::binding::type_name(&other)
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Finds the handler registered under `label`: a stored function, or a
/// global function of the main state.
pub(crate) fn resolve_handler(lua: &Lua, label: &str) -> Result<Function, String> {
    if let Ok(Value::Function(f)) = handler_table(lua).and_then(|t| t.raw_get::<Value>(label)) {
        return Ok(f);
    }
    let env = main_env(lua).ok_or("handlers live in the main state, and this is not it")?;
    match env.get::<Value>(label) {
        Ok(Value::Function(f)) => Ok(f),
        Ok(Value::Nil) => Err(format!("no global function '{label}' in the main state")),
        Ok(other) => Err(format!(
            "'{label}' is a {}, not a function",
            zephyr_lua::binding::type_name(&other)
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Keeps the handler given as argument `index` (a global function's name, or
/// a function) in the main state and returns the label it is registered
/// under. Fails, naming the reason, when it could not be called later.
pub(crate) fn store_handler(c: &Call<'_>, index: usize) -> mlua::Result<String> {
    if main_env(c.lua).is_none() {
        return Err(c.error("handlers live in the main state, and this is not it"));
    }
    match c.value(index) {
        Value::String(name) => {
            let name = name.to_string_lossy();
            // A script with its own environment (a scene entity's instance)
            // names one of its own functions: keep that function.
            if let Some(env) = caller_env(c.lua).filter(|env| Some(env) != main_env(c.lua).as_ref())
            {
                return match env.get::<Value>(name.as_str())? {
                    Value::Function(f) => store_function(c.lua, f),
                    _ => Err(c.error(format!(
                        "handler '{name}' is not a function of this script: define it before registering it"
                    ))),
                };
            }
            check_named(c.lua, &name).map_err(|e| c.error(e))?;
            Ok(name)
        }
        Value::Function(f) => store_function(c.lua, f),
        _ => unreachable!("checked as a handler"),
    }
}

/// The environment (`_ENV`) of the Lua function that called the binding.
fn caller_env(lua: &Lua) -> Option<Table> {
    lua.inspect_stack(1, |debug| debug.function().environment())
        .flatten()
}

/// Calls the handler `name` of `state` with string arguments: a handler
/// registered in the main state, or one of the state's persistent
/// globals. An isolated (pooled) state keeps no globals between
/// executions, so it has no named handlers: asking for one is
/// [`Error::HandlerNotFound`], never a silent no-op.
pub(crate) fn call_named(
    state: &zephyr_lua::ScriptState,
    name: &str,
    args: &[&str],
) -> Result<Vec<zephyr_lua::ScriptValue>, Error> {
    let function = find_handler(state, name)?;
    let lua = state.lua();
    let args = args
        .iter()
        .map(|a| lua.create_string(a).map(Value::String))
        .collect::<mlua::Result<Vec<_>>>()?;
    Ok(state.call_function(&function, mlua::MultiValue::from_iter(args), name)?)
}

fn find_handler(state: &zephyr_lua::ScriptState, name: &str) -> Result<Function, Error> {
    let not_found = |reason: String| Error::HandlerNotFound {
        name: name.to_owned(),
        reason,
    };
    if let Ok(f) = resolve_handler(state.lua(), name) {
        return Ok(f);
    }
    let Some(env) = state.persistent_env() else {
        return Err(not_found(
            "this state is isolated: it keeps no globals between executions".into(),
        ));
    };
    match env.get::<Value>(name)? {
        Value::Function(f) => Ok(f),
        Value::Nil => Err(not_found("no global function of that name".into())),
        other => Err(not_found(format!(
            "it is a {}, not a function",
            zephyr_lua::binding::type_name(&other)
        ))),
    }
}
