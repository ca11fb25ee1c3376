//! The Lua API every script sees: `print`, `console`, `cvar`, `ecs`, `input`,
//! the `zephyr.*` game API and the `Key` table, and the host context the
//! bindings work against.
//!
//! | module     | its one job                                                       |
//! |------------|-------------------------------------------------------------------|
//! | `registry` | every binding declared once: drives registration, checks and docs |
//! | `component`| engine components declared by field, as packages of accessors     |
//! | `spec`     | how a binding is declared; argument checks; world access per call |
//! | `fast`     | typed closures: per-entity accessors, vector math (the hot path)  |
//! | `handlers` | named and function handlers that live in the main state          |
//! | `console`  | the `console` module                                              |
//! | `cvar`     | the `cvar` module                                                 |
//! | `game`     | the `zephyr.*` game API                                           |
//! | `math`     | `zephyr.math`                                                     |
//! | `ecs`      | the legacy `ecs` and `input` modules                              |
//! | `scripted` | declarations of the functions written in Lua (tasks, events)      |
//! | `spawn`    | `zephyr.entity.spawn`: prefabs, spawn tables, pending behaviours  |
//! | `suggest`  | the names near a misspelt one (`did you mean: ...?`)              |
//! | `markdown` | the Markdown reference (`docs/API.md`), feature `docs`             |
//! | `types`    | the LuaLS/EmmyLua definition file (`zephyr types`), feature `docs` |
//!
//! A binding called on the main thread reads and writes at once. Called by a
//! worker-thread script (the state then carries a `Recording`) it reads the
//! world as it was when the script was enqueued plus its own writes, and
//! records every write as a [`Command`](crate::Command) for
//! `ScriptingSystem::update()` to apply.

mod call;
mod component;
mod console;
mod cvar;
mod ecs;
mod fast;
mod game;
mod handlers;
#[cfg(feature = "docs")]
mod markdown;
mod math;
mod package;
mod registry;
mod scripted;
mod spawn;
mod suggest;
mod typed;
#[cfg(feature = "docs")]
mod types;

use std::fmt;
use std::sync::Arc;

use zephyr_world::EntityId;

use mlua::{Lua, MultiValue, Table, Value};
use zephyr_cvar::{CVarRegistry, Console};
use zephyr_world::{SharedWorld, WorldRead};

pub use call::Call;
pub use component::{Component, Field, FieldType};
pub(crate) use handlers::{MainEnv, call_named, resolve_handler};
#[cfg(feature = "docs")]
pub use markdown::{api_markdown, engine_cvars_markdown, markdown};
pub use package::{
    Access, ConstValue, Constant, Function, Imp, Implementation, Package, Param, Ret, Type,
    TypedFunction,
};
pub use registry::{API, builtin_packages};
pub use scripted::{SCRIPTED, ScriptedFunction};
pub use suggest::did_you_mean;
pub use typed::{Arg, Args, Return, Returns};
#[cfg(feature = "docs")]
pub use types::{definitions, lua_definitions};

/// The old name of [`Function`].
#[doc(hidden)]
pub type ApiFunction = Function;

/// Where scripts' output goes: the bytes of each `print` (its line and its
/// newline) and each `io.write`, in order, exactly as the script wrote them
/// (Lua strings are bytes: a Latin-1 `"caf\233"` arrives as `63 61 66 E9`).
/// For a host that shows whole lines, [`line_sink`] adapts a line handler.
pub type PrintSink = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// A [`PrintSink`] that hands `on_line` each whole line of output, without
/// its newline (a partial line, from `io.write`, waits for its newline).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// let lines = Arc::new(Mutex::new(Vec::new()));
/// let seen = lines.clone();
/// let sink = zephyr_runtime::api::line_sink(move |line| {
///     seen.lock().unwrap().push(String::from_utf8_lossy(line).into_owned())
/// });
/// sink(b"one\ntw");
/// sink(b"o\n");
/// assert_eq!(*lines.lock().unwrap(), ["one", "two"]);
/// ```
pub fn line_sink(on_line: impl Fn(&[u8]) + Send + Sync + 'static) -> PrintSink {
    let partial = parking_lot::Mutex::new(Vec::<u8>::new());
    Arc::new(move |bytes: &[u8]| {
        let mut pending = partial.lock();
        pending.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(end) = memchr::memchr(b'\n', &pending[start..]) {
            on_line(&pending[start..start + end]);
            start += end + 1;
        }
        pending.drain(..start);
    })
}

/// What the bindings work against: the engine's cvars, console, world and
/// print sink.
pub struct Host {
    /// The cvar registry.
    pub cvars: Arc<CVarRegistry>,
    /// The console.
    pub console: Arc<Console>,
    /// The world.
    pub world: SharedWorld,
    /// Where scripts' output (`print`, `io.write`) goes.
    pub print: PrintSink,
    /// Events waiting for delivery, and those scripts emitted for the engine.
    pub(crate) events: crate::event::Queues,
    /// The Lua handler of each cvar that has one (`cvar.on_change`): the
    /// name of a main-state global, or the label of a stored function.
    pub(crate) cvar_handlers: parking_lot::Mutex<std::collections::HashMap<String, String>>,
    /// The packages every state gets: the built-in ones (unless the system
    /// was built without them) and the engine's.
    pub(crate) packages: Vec<Package>,
    /// The spawns' side: prefabs, scripts read for spawns, and the
    /// behaviours waiting for the next start phase.
    pub(crate) spawns: crate::prefab::Spawns,
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
    /// A host whose `print` goes into the console's output (and tracing),
    /// with the built-in packages.
    pub fn new(cvars: Arc<CVarRegistry>, console: Arc<Console>, world: SharedWorld) -> Self {
        let sink_console = console.clone();
        Host {
            cvars,
            console,
            world,
            print: Arc::new(move |bytes| sink_console.write(bytes)),
            events: crate::event::Queues::default(),
            cvar_handlers: parking_lot::Mutex::default(),
            packages: builtin_packages(),
            spawns: crate::prefab::Spawns::default(),
        }
    }

    /// The packages its states get.
    pub fn packages(&self) -> &[Package] {
        &self.packages
    }

    /// Whether the built-in packages are among them.
    pub(crate) fn has_builtins(&self) -> bool {
        self.packages.iter().any(|p| p.name == "zephyr.entity")
    }

    /// The function at `path` (`zephyr.transform.set_position`), if a
    /// package declares it.
    pub(crate) fn function(&self, path: &str) -> Option<&Arc<Function>> {
        self.packages
            .iter()
            .flat_map(|p| &p.functions)
            .find(|f| f.path() == path)
    }
}

/// Installs the whole API into `api` (the table a
/// [`ScriptState`](crate::ScriptState) factory receives); `main` for the
/// main thread's persistent state (tasks and subscriptions live there).
pub fn install(lua: &Lua, api: &Table, host: &Arc<Host>, main: bool) -> mlua::Result<()> {
    lua.set_app_data(crate::task::MainState(main));
    let describe_host = host.clone();
    zephyr_lua::binding::set_error_describer(
        lua,
        Arc::new(move |error, traceback| fast::describe(&describe_host, error, traceback)),
    );
    // Script output: on a worker recorded (applied in order with the job's
    // other writes), on the main thread straight to the host's sink.
    let print_host = host.clone();
    zephyr_lua::binding::set_output(lua, move |lua, bytes| {
        if !crate::recording::with_recording(lua, |rec| {
            rec.commands.push(crate::Command::Output(bytes.to_vec()))
        }) {
            (print_host.print)(bytes);
        }
    });
    let worker = crate::recording::WorkerFlag::default();
    lua.set_app_data(worker.clone());
    // Every package's table exists from the start, empty: its functions
    // and constants are made the first time a script reads from it (see
    // `lazy_metatable`), so a pooled state holds the functions its scripts
    // use, not all of them.
    fast::check_declarations(&host.packages)?;
    let mut lazy = Vec::new();
    for (index, package) in host.packages.iter().enumerate() {
        let table = module_table(lua, api, &package.name)?;
        lazy.push((index, table));
    }
    let builtins = host.has_builtins();
    if builtins {
        // zephyr.task and zephyr.events are filled below, after the metatables.
        module_table(lua, api, "zephyr.task")?;
        module_table(lua, api, "zephyr.events")?;
    }
    // A typo in an engine name is an error naming the table and the names
    // near it, not a silent nil: `zephyr.transform.set_postion`, `Key.Sapce`.
    let mut tables: Vec<(String, Table)> = Vec::new();
    for package in &host.packages {
        let mut path = String::new();
        for part in package.name.split('.') {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(part);
            if !tables.iter().any(|(p, _)| *p == path) {
                tables.push((path.clone(), module_table(lua, api, &path)?));
            }
        }
    }
    if builtins {
        for path in ["zephyr.task", "zephyr.events"] {
            tables.push((path.to_owned(), module_table(lua, api, path)?));
        }
    }
    // One metatable for all of them (a pooled state holds every byte of it):
    // the table's path comes from its address.
    let paths: std::collections::HashMap<usize, String> = tables
        .iter()
        .map(|(path, table)| (table.to_pointer() as usize, path.clone()))
        .collect();
    let metatable = strict_metatable(lua, paths)?;
    for (_, table) in &tables {
        table.set_metatable(Some(metatable.clone()))?;
    }
    let lazy_mt = lazy_metatable(lua, host, &worker, &lazy, &metatable)?;
    for (_, table) in &lazy {
        table.set_metatable(Some(lazy_mt.clone()))?;
    }
    if !builtins {
        return Ok(());
    }
    // zephyr.task is written in Lua over the time functions.
    let task = module_table(lua, api, "zephyr.task")?;
    let owner_of_caller =
        crate::task::install(lua, &task, &module_table(lua, api, "zephyr.time")?)?;
    // zephyr.events: subscriptions in Lua, emit and send here.
    let events = module_table(lua, api, "zephyr.events")?;
    crate::event::install(lua, &events, owner_of_caller)?;
    let emit_host = host.clone();
    events.raw_set(
        "emit",
        lua.create_function(move |lua, args: MultiValue| emit(lua, &emit_host, None, args))?,
    )?;
    let send_host = host.clone();
    events.raw_set(
        "send",
        lua.create_function(move |lua, mut args: MultiValue| {
            let entity = match args.pop_front() {
                Some(Value::Integer(i)) => EntityId::from_lua(i),
                Some(Value::Number(n)) if n.fract() == 0.0 => EntityId::from_lua(n as i64),
                _ => None,
            }
            .ok_or_else(|| {
                call::lua_error(
                    lua,
                    "zephyr.events.send: argument 1 (entity) must be an entity id",
                )
            })?;
            // As every other entity function: an entity that does not
            // exist (in the world this call sees) is an error.
            let exists = crate::recording::read_recording(lua, |r| {
                r.world.as_ref().map(|view| view.exists(entity))
            })
            .flatten()
            .unwrap_or_else(|| send_host.world.read().exists(entity));
            if !exists {
                return Err(call::lua_error(
                    lua,
                    format!(
                        "zephyr.events.send: entity {} does not exist",
                        entity.to_lua()
                    ),
                ));
            }
            emit(lua, &send_host, Some(entity), args)
        })?,
    )?;
    Ok(())
}

/// The error for reading a missing name from an engine table: it names the
/// table and the names near the one asked for. Raised by the metamethod
/// itself, so that it points at the script's line.
pub(crate) fn no_field(lua: &Lua, path: &str, table: &Table, key: &Value) -> mlua::Error {
    let shown = match key {
        Value::String(s) => format!("'{}'", s.to_string_lossy()),
        other => other
            .to_string()
            .unwrap_or_else(|_| other.type_name().to_owned()),
    };
    let mut message = format!("{path} has no field {shown}");
    if let Value::String(s) = key {
        let names: Vec<String> = table
            .pairs::<String, Value>()
            .filter_map(Result::ok)
            .map(|(name, _)| name)
            .collect();
        message.push_str(&did_you_mean(&s.to_string_lossy(), &names));
    }
    call::lua_error(lua, message)
}

/// The metatable of a registry module whose functions are not made yet
/// (and of `Key`, whose names are not filled in yet): the first read of a
/// missing name (or `__zephyr_lazy(t)`, which the
/// sandbox calls before iterating a module) makes all of the module's
/// functions and hands the table to the strict metatable.
fn lazy_metatable(
    lua: &Lua,
    host: &Arc<Host>,
    worker: &crate::recording::WorkerFlag,
    modules: &[(usize, Table)],
    strict: &Table,
) -> mlua::Result<Table> {
    // A table's packages, by its address (two packages may share a table:
    // an engine's functions beside the built-ins of `zephyr.entity`).
    let mut by_address: std::collections::HashMap<usize, Vec<usize>> =
        std::collections::HashMap::new();
    for (package, table) in modules {
        by_address
            .entry(table.to_pointer() as usize)
            .or_default()
            .push(*package);
    }
    let names: std::collections::HashMap<usize, String> = modules
        .iter()
        .map(|(package, table)| {
            (
                table.to_pointer() as usize,
                host.packages[*package].name.to_string(),
            )
        })
        .collect();
    let fast = Arc::new(parking_lot::Mutex::new(None::<fast::Functions>));
    let (host, worker, strict) = (host.clone(), worker.clone(), strict.clone());
    let build = lua.create_function(move |lua, table: Table| {
        let Some(packages) = by_address.get(&(table.to_pointer() as usize)) else {
            return Ok(());
        };
        if table.metatable().is_some_and(|mt| mt == strict) {
            return Ok(());
        }
        let mut fast = fast.lock();
        if fast.is_none() {
            *fast = Some(fast::functions(lua, &host, &worker)?);
        }
        let typed = fast.as_ref().map(Vec::as_slice).unwrap_or_default();
        for &index in packages {
            let package = &host.packages[index];
            for constant in &package.constants {
                table.raw_set(constant.name.as_ref(), constant.value.to_lua(lua)?)?;
            }
            for spec in &package.functions {
                let function = match typed.iter().find(|(s, _)| Arc::ptr_eq(s, spec)) {
                    Some((_, f)) => f.clone(),
                    None => binding(lua, host.clone(), worker.clone(), spec.clone())?,
                };
                table.raw_set(spec.name.as_ref(), function)?;
            }
        }
        table.set_metatable(Some(strict.clone()))
    })?;
    let metatable = lua.create_table()?;
    let index_build = build.clone();
    metatable.raw_set(
        "__index",
        lua.create_function(move |lua, (table, key): (Table, Value)| {
            index_build.call::<()>(&table)?;
            match table.raw_get::<Value>(key.clone())? {
                Value::Nil => {
                    let path = names.get(&(table.to_pointer() as usize));
                    Err(no_field(
                        lua,
                        path.map_or("an engine table", String::as_str),
                        &table,
                        &key,
                    ))
                }
                value => Ok(value),
            }
        })?,
    )?;
    metatable.raw_set("__zephyr_lazy", build)?;
    Ok(metatable)
}

/// `zephyr.events.emit(name, ...)` (and `send`, with its target): copies
/// the values; on a worker, the event travels as an action.
fn emit(lua: &Lua, host: &Host, target: Option<EntityId>, args: MultiValue) -> mlua::Result<()> {
    let function = if target.is_some() { "send" } else { "emit" };
    let first = if target.is_some() { 2 } else { 1 };
    let mut args = args.into_iter();
    let name = match args.next() {
        Some(Value::String(s)) => s.to_string_lossy(),
        other => {
            return Err(call::lua_error(
                lua,
                format!(
                    "zephyr.events.{function}: argument {first} (name) must be a string, got {}",
                    other
                        .as_ref()
                        .map_or("no value", zephyr_lua::binding::type_name)
                ),
            ));
        }
    };
    let values = args
        .enumerate()
        .map(|(i, v)| {
            crate::event::EventValue::from_lua(&v, &format!("argument {}", first + 1 + i), 0)
        })
        .collect::<Result<Vec<_>, String>>()
        .map_err(|e| call::lua_error(lua, format!("zephyr.events.{function}: {e}")))?;
    let event = crate::event::Event {
        name,
        args: values,
        target,
    };
    let mut event = Some(event);
    crate::recording::with_recording(lua, |rec| {
        if let Some(event) = event.take() {
            rec.commands.push(crate::Command::Emit(event));
        }
    });
    if let Some(event) = event {
        host.events.push_from_script(event);
    }
    Ok(())
}

/// The metatable of an engine table: reading a name it lacks raises an
/// error naming the table and the nearest names (`rawget` still returns
/// nil, for feature tests).
fn strict_metatable(
    lua: &Lua,
    paths: std::collections::HashMap<usize, String>,
) -> mlua::Result<Table> {
    let metatable = lua.create_table()?;
    metatable.raw_set(
        "__index",
        lua.create_function(
            move |lua, (table, key): (Table, Value)| -> mlua::Result<Value> {
                let path = paths
                    .get(&(table.to_pointer() as usize))
                    .map_or("an engine table", String::as_str);
                Err(no_field(lua, path, &table, &key))
            },
        )?,
    )?;
    Ok(metatable)
}

/// The Lua function for a binding with a general implementation: arguments
/// and results travel as fixed-size tuples of `Value`s (one monomorphized
/// closure per arity) rather than as `MultiValue`s, which measured slower
/// (see BENCHMARKS.md).
fn binding(
    lua: &Lua,
    host: Arc<Host>,
    worker: crate::recording::WorkerFlag,
    spec: Arc<package::Function>,
) -> mlua::Result<mlua::Function> {
    let imp: package::Implementation = match &spec.imp {
        Imp::General(imp) => {
            let imp = *imp;
            Arc::new(move |call: &Call<'_>| imp(call))
        }
        Imp::Closure(imp) => imp.clone(),
        _ => {
            return Err(mlua::Error::runtime(format!(
                "{}: a typed function has no general form",
                spec.path()
            )));
        }
    };
    let (params, returns) = (spec.params.len(), spec.returns.len());
    // The call's span in a trace (`call game.spawn_enemy`), made only when
    // a subscriber wants target `zephyr::api` at trace level.
    let label: Arc<str> = format!("call {}", spec.path()).into();
    // Runs one call: Lua's number coercion, the declaration's checks, the
    // implementation.
    let run = move |lua: &Lua, args: &mut [Value]| {
        let _span = tracing::trace_span!(target: "zephyr::api", "call", label = %label).entered();
        call::coerce_numbers(lua, &spec, args);
        imp(&call::Site::new(lua, &host, &spec, &worker.0).call(args)?)
    };
    macro_rules! arity {
        ($($arg:ident),*) => {
            match returns {
                0 => lua.create_function(move |lua, ($($arg,)*): ($(arity!(@value $arg),)*)| {
                    let [] = run(lua, &mut [$($arg),*])?.into_values(lua)?;
                    Ok(())
                }),
                1 => lua.create_function(move |lua, ($($arg,)*): ($(arity!(@value $arg),)*)| {
                    let [a] = run(lua, &mut [$($arg),*])?.into_values(lua)?;
                    Ok(a)
                }),
                2 => lua.create_function(move |lua, ($($arg,)*): ($(arity!(@value $arg),)*)| {
                    let [a, b] = run(lua, &mut [$($arg),*])?.into_values(lua)?;
                    Ok((a, b))
                }),
                3 => lua.create_function(move |lua, ($($arg,)*): ($(arity!(@value $arg),)*)| {
                    let [a, b, c] = run(lua, &mut [$($arg),*])?.into_values(lua)?;
                    Ok((a, b, c))
                }),
                n => Err(mlua::Error::runtime(format!(
                    "a binding returns at most 3 values, not {n}"
                ))),
            }
        };
        (@value $arg:ident) => { Value };
    }
    match params {
        0 => arity!(),
        1 => arity!(a1),
        2 => arity!(a1, a2),
        3 => arity!(a1, a2, a3),
        4 => arity!(a1, a2, a3, a4),
        5 => arity!(a1, a2, a3, a4, a5),
        6 => arity!(a1, a2, a3, a4, a5, a6),
        n => Err(mlua::Error::runtime(format!(
            "a binding takes at most 6 parameters, not {n}"
        ))),
    }
}

/// The table at a dotted path under `root`, created on first use.
fn module_table(lua: &Lua, root: &Table, path: &str) -> mlua::Result<Table> {
    let mut table = root.clone();
    for part in path.split('.') {
        table = match table.raw_get::<Option<Table>>(part)? {
            Some(t) => t,
            None => {
                let t = lua.create_table()?;
                table.raw_set(part, &t)?;
                t
            }
        };
    }
    Ok(table)
}
