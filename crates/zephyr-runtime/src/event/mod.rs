//! `zephyr.events`: messages between scripts, and between scripts and the
//! engine.
//!
//! `emit(name, ...)` and `send(entity, name, ...)` copy their values (nil,
//! booleans, numbers, strings, and tables of these) into an [`Event`] and
//! queue it; the frame driver delivers the queue at one point of the frame,
//! in emit order: an event to the `zephyr.events.on` handlers of its name,
//! a sent one to the `on_message(self, name, ...)` of the entity's
//! behaviours. A worker's emits travel as actions and join the queue in
//! enqueue order, so delivery is the same for any number of workers. The
//! engine emits into scripts with
//! [`ScriptingSystem::emit`](crate::ScriptingSystem::emit) and drains what
//! scripts emit with [`ScriptingSystem::drain_events`](crate::ScriptingSystem::drain_events).

use mlua::{Function, Lua, MultiValue, Table, Value};
use parking_lot::Mutex;
use zephyr_world::EntityId;

/// A value an event carries: Lua's plain values, tables copied.
#[derive(Debug, Clone, PartialEq)]
pub enum EventValue {
    /// `nil`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Number(f64),
    /// A string that is valid UTF-8.
    String(String),
    /// A string that is not valid UTF-8, byte for byte.
    Bytes(Vec<u8>),
    /// A table: its pairs, in the order Lua's `next` gave them.
    Table(Vec<(EventValue, EventValue)>),
}

/// One event: its name, its values, and for `send` the entity it is for.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event's name.
    pub name: String,
    /// The values after the name.
    pub args: Vec<EventValue>,
    /// The entity a `send` addressed (`None` for `emit`).
    pub target: Option<EntityId>,
}

/// How deep event tables may nest.
const MAX_DEPTH: usize = 16;

impl EventValue {
    /// Copies a Lua value; `what` names it in errors.
    pub(crate) fn from_lua(value: &Value, what: &str, depth: usize) -> Result<Self, String> {
        Ok(match value {
            Value::Nil => EventValue::Nil,
            Value::Boolean(b) => EventValue::Bool(*b),
            Value::Integer(i) => EventValue::Int(*i),
            Value::Number(n) => EventValue::Number(*n),
            Value::String(s) => match std::str::from_utf8(&s.as_bytes()) {
                Ok(text) => EventValue::String(text.to_owned()),
                Err(_) => EventValue::Bytes(s.as_bytes().to_vec()),
            },
            Value::Table(t) => {
                if depth >= MAX_DEPTH {
                    return Err(format!(
                        "{what}: tables nested deeper than {MAX_DEPTH} (or a cycle)"
                    ));
                }
                let mut pairs = Vec::new();
                for pair in t.pairs::<Value, Value>() {
                    let (k, v) = pair.map_err(|e| format!("{what}: {e}"))?;
                    let key = EventValue::from_lua(&k, what, depth + 1)?;
                    pairs.push((key, EventValue::from_lua(&v, what, depth + 1)?));
                }
                EventValue::Table(pairs)
            }
            other => {
                return Err(format!(
                    "{what} is a {}: events carry nil, booleans, numbers, strings and tables of these",
                    other.type_name()
                ));
            }
        })
    }

    /// A fresh Lua value (a new table for a table).
    pub(crate) fn to_lua(&self, lua: &Lua) -> mlua::Result<Value> {
        Ok(match self {
            EventValue::Nil => Value::Nil,
            EventValue::Bool(b) => Value::Boolean(*b),
            EventValue::Int(i) => Value::Integer(*i),
            EventValue::Number(n) => Value::Number(*n),
            EventValue::String(s) => Value::String(lua.create_string(s)?),
            EventValue::Bytes(b) => Value::String(lua.create_string(b)?),
            EventValue::Table(pairs) => {
                let t = lua.create_table_with_capacity(0, pairs.len())?;
                for (k, v) in pairs {
                    t.raw_set(k.to_lua(lua)?, v.to_lua(lua)?)?;
                }
                Value::Table(t)
            }
        })
    }
}

impl Event {
    /// The event's values as Lua arguments, fresh copies, after its name
    /// when `with_name` (for `on_message(self, name, ...)`).
    pub(crate) fn lua_args(&self, lua: &Lua, with_name: bool) -> mlua::Result<MultiValue> {
        let mut values = MultiValue::with_capacity(self.args.len() + 1);
        if with_name {
            values.push_back(Value::String(lua.create_string(&self.name)?));
        }
        for arg in &self.args {
            values.push_back(arg.to_lua(lua)?);
        }
        Ok(values)
    }
}

/// The most events the engine's outbox keeps undrained (older ones go).
pub const OUTBOX_CAPACITY: usize = 65_536;

/// The event queues of a system: what waits for delivery to scripts, and
/// what scripts emitted for the engine.
#[derive(Debug, Default)]
pub(crate) struct Queues {
    pending: Mutex<Vec<Event>>,
    outbox: Mutex<std::collections::VecDeque<Event>>,
}

impl Queues {
    /// An event from a script: to scripts and to the engine.
    pub(crate) fn push_from_script(&self, event: Event) {
        {
            let mut outbox = self.outbox.lock();
            if outbox.len() >= OUTBOX_CAPACITY {
                outbox.pop_front();
            }
            outbox.push_back(event.clone());
        }
        self.pending.lock().push(event);
    }

    /// An event from the engine: to scripts only.
    pub(crate) fn push_from_engine(&self, event: Event) {
        self.pending.lock().push(event);
    }

    /// What waits for delivery, taken.
    pub(crate) fn take_pending(&self) -> Vec<Event> {
        std::mem::take(&mut *self.pending.lock())
    }

    /// What scripts emitted, taken.
    pub(crate) fn drain_outbox(&self) -> Vec<Event> {
        self.outbox.lock().drain(..).collect()
    }
}

/// The subscription hooks of the main state (app data).
#[derive(Debug, Clone)]
pub(crate) struct Hooks {
    handlers: Function,
    cancel_owned: Function,
}

impl Hooks {
    pub(crate) fn of(lua: &Lua) -> Option<Hooks> {
        lua.app_data_ref::<Hooks>().map(|h| h.clone())
    }

    /// The handlers of `name`, in subscription order, with their owners.
    pub(crate) fn handlers(&self, name: &str) -> mlua::Result<Vec<(Function, i64)>> {
        let (fns, owners): (Vec<Function>, Vec<i64>) = self.handlers.call(name)?;
        Ok(fns.into_iter().zip(owners).collect())
    }

    /// Ends the subscriptions of `owner`.
    pub(crate) fn cancel_owned(&self, owner: i64) -> mlua::Result<()> {
        self.cancel_owned.call(owner)
    }
}

/// Builds `on` and `off` in `module` (Lua), given the owner lookup; `emit`
/// and `send` are set by the API.
pub(crate) fn install(lua: &Lua, module: &Table, owner_of_caller: Function) -> mlua::Result<()> {
    let on_main = lua
        .app_data_ref::<crate::task::MainState>()
        .is_some_and(|m| m.0);
    if !on_main {
        return crate::task::stubs(
            lua,
            module,
            "zephyr.events",
            &["on", "off"],
            "subscriptions live on the main thread, and this script runs on a worker \
             (a job, or a parallel behaviour's state): use on_message(self, name, ...) with send",
        );
    }
    let hooks: Table = lua
        .load(include_str!("events.lua"))
        .set_name("=zephyr.events")
        .call((module.clone(), owner_of_caller, on_main))?;
    if on_main {
        lua.set_app_data(Hooks {
            handlers: hooks.raw_get("handlers")?,
            cancel_owned: hooks.raw_get("cancel_owned")?,
        });
    }
    Ok(())
}
