//! `zephyr.task`: coroutines that wait in game time (`task.lua`), and the
//! hooks the frame driver resumes them through.
//!
//! Tasks live in the main state only: a worker job or a parallel
//! behaviour's state has the functions, and they fail there naming
//! themselves. The frame driver ([`Behaviours`](crate::Behaviours)) resumes
//! due tasks at one point of the frame, each as its own execution (its own
//! instruction budget), and ends an instance's tasks with the instance.

use mlua::{Function, Lua, Table, Value};

/// Whether a state is the main one (set before the API is installed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct MainState(pub(crate) bool);

/// The scheduler's hooks in the main state (app data).
#[derive(Debug, Clone)]
pub(crate) struct Hooks {
    due: Function,
    pub(crate) resume: Function,
    register: Function,
    cancel_owned: Function,
    failures: Function,
    waiting: Function,
}

/// An owner id for a behaviour id (0 is "no behaviour").
pub(crate) fn owner(behaviour: u64) -> i64 {
    i64::try_from(behaviour).map_or(i64::MAX, |b| b.saturating_add(1))
}

/// The behaviour id of an owner id, if any.
pub(crate) fn behaviour_of(owner: i64) -> Option<u64> {
    u64::try_from(owner).ok().and_then(|o| o.checked_sub(1))
}

/// Builds `zephyr.task` in `module` (an empty table of the API); on the main
/// state, keeps the hooks.
/// Returns the function telling which behaviour the calling code belongs
/// to (for `zephyr.events`).
pub(crate) fn install(lua: &Lua, module: &Table, time: &Table) -> mlua::Result<Function> {
    let on_main = lua.app_data_ref::<MainState>().is_some_and(|m| m.0);
    if !on_main {
        // A worker-side state: no scheduler (it would cost every pooled
        // state its memory), only functions that say where tasks live.
        stubs(
            lua,
            module,
            "zephyr.task",
            &[
                "spawn",
                "wait",
                "wait_frames",
                "delay",
                "every",
                "cancel",
                "status",
            ],
            "tasks live on the main thread, and this script runs on a worker \
             (a job, or a parallel behaviour's state)",
        )?;
        return lua.create_function(|_, ()| Ok(0));
    }
    let caller_env = lua.create_function(|lua, ()| Ok(zephyr_lua::binding::caller_env(lua)))?;
    // Through the table's metatable: the registry's functions are made on
    // first use.
    let elapsed: Function = time.get("elapsed")?;
    let frame: Function = time.get("frame")?;
    let hooks: Table = lua
        .load(include_str!("task.lua"))
        .set_name("=zephyr.task")
        .call((module.clone(), caller_env, on_main, elapsed, frame))?;
    if on_main {
        lua.set_app_data(Hooks {
            due: hooks.raw_get("due")?,
            resume: hooks.raw_get("resume")?,
            register: hooks.raw_get("register")?,
            cancel_owned: hooks.raw_get("cancel_owned")?,
            failures: hooks.raw_get("failures")?,
            waiting: hooks.raw_get("waiting")?,
        });
    }
    hooks.raw_get("owner_of_caller")
}

/// Functions `names` of `module` that fail with `why`, naming themselves,
/// at the calling script's line. Made the first time a script reads from
/// the module (or lists it: the sandbox calls `__zephyr_lazy`), as the
/// registry's modules are: a pooled worker state seldom needs them.
pub(crate) fn stubs(
    lua: &Lua,
    module: &Table,
    path: &'static str,
    names: &'static [&'static str],
    why: &'static str,
) -> mlua::Result<()> {
    // The module's own metatable (the strict one: a missing name is an
    // error naming the names near it) once the stubs are in.
    let strict = module.metatable();
    let fill = lua.create_function(move |lua, table: Table| {
        if table.metatable() == strict {
            return Ok(());
        }
        for &name in names {
            table.raw_set(
                name,
                lua.create_function(move |lua, _: mlua::MultiValue| -> mlua::Result<()> {
                    Err(zephyr_lua::binding::lua_error(
                        lua,
                        format!("{path}.{name}: {why}"),
                    ))
                })?,
            )?;
        }
        table.set_metatable(strict.clone())
    })?;
    let lazy = lua.create_table()?;
    let index_fill = fill.clone();
    lazy.raw_set(
        "__index",
        lua.create_function(move |lua, (table, key): (Table, Value)| {
            index_fill.call::<()>(&table)?;
            match table.raw_get::<Value>(&key)? {
                // Raised here, not through the strict metatable, so that
                // it names the script's line.
                Value::Nil => Err(crate::api::no_field(lua, path, &table, &key)),
                value => Ok(value),
            }
        })?,
    )?;
    lazy.raw_set("__zephyr_lazy", fill)?;
    module.set_metatable(Some(lazy))
}

impl Hooks {
    /// The main state's hooks, if the state has the task module.
    pub(crate) fn of(lua: &Lua) -> Option<Hooks> {
        lua.app_data_ref::<Hooks>().map(|h| h.clone())
    }

    /// The tasks due now, in resume order, with their owners.
    pub(crate) fn due(&self) -> mlua::Result<Vec<(Value, i64)>> {
        let (handles, owners): (Vec<Value>, Vec<i64>) = self.due.call(())?;
        Ok(handles.into_iter().zip(owners).collect())
    }

    /// Tasks spawned by code running in `env` belong to `owner`.
    pub(crate) fn register(&self, env: &Table, owner: i64) -> mlua::Result<()> {
        self.register.call((env, owner))
    }

    /// Ends every task of `owner`; how many there were.
    pub(crate) fn cancel_owned(&self, owner: i64) -> mlua::Result<i64> {
        self.cancel_owned.call(owner)
    }

    /// Errors of tasks that failed inside `spawn`, with their owners.
    pub(crate) fn failures(&self) -> mlua::Result<Vec<(i64, String)>> {
        let list: Vec<Table> = self.failures.call(())?;
        list.into_iter()
            .map(|t| Ok((t.raw_get(1)?, t.raw_get(2)?)))
            .collect()
    }

    /// How many tasks are waiting.
    pub(crate) fn waiting(&self) -> mlua::Result<i64> {
        self.waiting.call(())
    }
}
