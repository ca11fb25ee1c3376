//! The typed fast path for the bindings whose parameters and results are
//! all numbers (`get_position`, `set_position`, `translate`, ...).
//!
//! mlua converts `f64` arguments straight off the Lua stack, but `Value`
//! arguments through a generic path that costs about as much as the call
//! itself (see BENCHMARKS.md). These bindings therefore take typed `f64`s.
//! A wrong type then fails inside mlua's conversion, before our checks run;
//! the functions are registered as named userdata functions so that error
//! carries the binding's name, and [`describe`] rewrites it into the
//! registry's own message wherever errors reach scripts or the host. The
//! registry's checks (finite numbers, entity ids) still run on every call.

use std::sync::Arc;

use mlua::{Function, Lua, UserDataMethods, Value};

use super::context::WorkerFlag;
use super::spec::{ApiFunction, Type};
use super::{API, Host, call};

/// The userdata type the fast functions are registered on; its name prefixes
/// their names in mlua's argument errors.
struct ZephyrBinding;

const PREFIX: &str = "ZephyrBinding.";

/// Whether `spec` takes the fast path: numeric parameters, none optional,
/// and numeric results.
fn is_numeric(spec: &ApiFunction) -> bool {
    spec.params.len() <= 6
        && spec.returns.len() <= 3
        && spec
            .params
            .iter()
            .all(|p| !p.optional && matches!(p.ty, Type::Entity | Type::Number))
        && spec
            .returns
            .iter()
            .all(|r| !r.optional && r.ty == Type::Number)
}

fn number(value: Value) -> f64 {
    match value {
        Value::Number(n) => n,
        Value::Integer(i) => i as f64,
        _ => 0.0,
    }
}

/// Creates the fast functions, as `(spec, function)` pairs.
pub(super) fn functions(
    lua: &Lua,
    host: &Arc<Host>,
    worker: &WorkerFlag,
) -> mlua::Result<Vec<(&'static ApiFunction, Function)>> {
    let specs: Vec<&'static ApiFunction> = API.iter().filter(|s| is_numeric(s)).collect();
    let registered_host = host.clone();
    let registered_worker = worker.clone();
    let registered_specs = specs.clone();
    lua.register_userdata_type::<ZephyrBinding>(move |registry| {
        for spec in registered_specs {
            let host = registered_host.clone();
            let worker = registered_worker.clone();
            let name = spec.path();
            macro_rules! add {
                ($f:expr) => {
                    registry.add_function(name, $f)
                };
            }
            fixed_arity!(add, host, worker, spec, f64, Value::Number, number);
        }
    })?;
    let holder = lua.create_any_userdata(ZephyrBinding)?;
    specs
        .into_iter()
        .map(|spec| {
            Ok((
                spec,
                mlua::ObjectLike::get::<Function>(&holder, spec.path())?,
            ))
        })
        .collect()
}

/// The registry's message for an argument error mlua raised while
/// converting a fast binding's arguments, with the script position found in
/// the traceback: `chunk:line: zephyr.transform.set_position: argument 2 (x)
/// must be a finite number, got string`.
pub(crate) fn describe(error: &mlua::Error, traceback: Option<&str>) -> Option<String> {
    let mlua::Error::BadArgument {
        to: Some(to),
        pos,
        cause,
        ..
    } = error
    else {
        return None;
    };
    let path = to.strip_prefix(PREFIX)?;
    let spec = API.iter().find(|s| s.path() == path)?;
    let param = spec.params.get(pos.checked_sub(1)?)?;
    let got = match cause.as_ref() {
        mlua::Error::FromLuaConversionError { from, .. } => *from,
        _ => "a value of another type",
    };
    let location = traceback
        .into_iter()
        .flat_map(str::lines)
        .map(str::trim)
        .find(|line| {
            // The first frame in a script: not C, and not the sandbox's own
            // pcall wrapper.
            !line.starts_with("[C]")
                && !line.starts_with("zephyr.sandbox:")
                && line.contains(": in ")
        })
        .and_then(|line| line.split_once(": in ").map(|(at, _)| format!("{at}: ")))
        .unwrap_or_default();
    Some(format!(
        "{location}{path}: argument {pos} ({}) must be {}, got {got}",
        param.name,
        param.ty.expected()
    ))
}
