//! How a binding is declared: its parameters and returns, typed once. The
//! same declaration checks every call's arguments, generates `docs/API.md`,
//! and drives the bad-input tests.

use std::fmt;

use glam::DVec3;
use mlua::{Lua, Value};
use zephyr_world::{EntityId, Key, WorldCommand, WorldRead, WorldWrite};

use super::Host;
use super::context::Recording;
use crate::action::Command;
use crate::outcome::lua_number_text;

/// The type of a parameter or return value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Type {
    /// An entity id: a positive integer.
    Entity,
    /// A finite number (NaN and infinities are refused).
    Number,
    /// An integer.
    Integer,
    /// A string.
    String,
    /// A boolean.
    Boolean,
    /// A key name from the `Key` table, such as `"W"` or `"Space"`.
    Key,
    /// A table.
    Table,
    /// A string, number or boolean (a cvar value).
    Scalar,
    /// A handler: the name of a global function, or a function.
    Handler,
    /// Any value.
    Any,
}

impl Type {
    /// The type as the docs and editor definitions write it.
    pub fn name(self) -> &'static str {
        match self {
            Type::Entity => "entity",
            Type::Number => "number",
            Type::Integer => "integer",
            Type::String => "string",
            Type::Boolean => "boolean",
            Type::Key => "key",
            Type::Table => "table",
            Type::Scalar => "string|number|boolean",
            Type::Handler => "string|function",
            Type::Any => "any",
        }
    }

    pub(crate) fn expected(self) -> &'static str {
        match self {
            Type::Entity => "an entity id (a positive integer)",
            Type::Number => "a finite number",
            Type::Integer => "an integer",
            Type::String => "a string",
            Type::Boolean => "a boolean",
            Type::Key => "a key name from the Key table (such as \"W\" or \"Space\")",
            Type::Table => "a table",
            Type::Scalar => "a string, number or boolean",
            Type::Handler => "a function name or a function",
            Type::Any => "a value",
        }
    }

    fn accepts(self, value: &Value) -> bool {
        match (self, value) {
            (Type::Any, _) => true,
            (Type::Entity, Value::Integer(i)) => *i > 0,
            (Type::Entity, Value::Number(n)) => n.fract() == 0.0 && *n >= 1.0 && *n < 9.2e18,
            (Type::Number, Value::Integer(_)) => true,
            (Type::Number, Value::Number(n)) => n.is_finite(),
            (Type::Integer, Value::Integer(_)) => true,
            (Type::Integer, Value::Number(n)) => n.fract() == 0.0 && n.abs() < 9.2e18,
            (Type::String, Value::String(_)) => true,
            (Type::Boolean, Value::Boolean(_)) => true,
            (Type::Key, Value::String(s)) => s.to_str().is_ok_and(|s| s.parse::<Key>().is_ok()),
            (Type::Table, Value::Table(_)) => true,
            (Type::Scalar, Value::String(_) | Value::Integer(_) | Value::Boolean(_)) => true,
            (Type::Scalar, Value::Number(n)) => n.is_finite(),
            (Type::Handler, Value::String(_) | Value::Function(_)) => true,
            _ => false,
        }
    }
}

/// A parameter or a return value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub ty: Type,
    /// For a parameter: it may be left out or `nil`. For a return value: it
    /// may be `nil`.
    pub optional: bool,
}

/// A required parameter, or a return value that is never `nil`.
pub(crate) const fn req(name: &'static str, ty: Type) -> Param {
    Param {
        name,
        ty,
        optional: false,
    }
}

/// An optional parameter, or a return value that may be `nil`.
pub(crate) const fn opt(name: &'static str, ty: Type) -> Param {
    Param {
        name,
        ty,
        optional: true,
    }
}

/// The implementation of a binding.
pub(crate) type Imp = fn(&Call<'_>) -> mlua::Result<Ret>;

/// One function of the Lua API.
pub struct ApiFunction {
    /// The table it lives in (`zephyr.transform`, `cvar`, ...).
    pub module: &'static str,
    /// Its name in that table.
    pub name: &'static str,
    /// Its parameters.
    pub params: &'static [Param],
    /// What it returns, in order.
    pub returns: &'static [Param],
    /// One line of documentation.
    pub doc: &'static str,
    /// Whether it writes (on a worker its effect waits for `update()`).
    pub writes: bool,
    pub(crate) imp: Imp,
}

impl fmt::Debug for ApiFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiFunction")
            .field("path", &self.path())
            .field("params", &self.params)
            .field("returns", &self.returns)
            .finish_non_exhaustive()
    }
}

impl ApiFunction {
    /// The full name, such as `zephyr.transform.set_position`.
    pub fn path(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

/// What a binding returns.
pub(crate) enum Ret {
    None,
    Bool(bool),
    Number(f64),
    Integer(i64),
    Vec2(f64, f64),
    Vec3(DVec3),
    Str(String),
    OptStr(Option<String>),
    Entity(EntityId),
    OptEntity(Option<EntityId>),
    Value(Value),
}

impl Ret {
    /// The values, padded with `nil` to `N` (the declared return count).
    pub(crate) fn into_values<const N: usize>(self, lua: &Lua) -> mlua::Result<[Value; N]> {
        let mut out: [Value; N] = std::array::from_fn(|_| Value::Nil);
        let mut put = |i: usize, v: Value| {
            if let Some(slot) = out.get_mut(i) {
                *slot = v;
            }
        };
        match self {
            Ret::None => {}
            Ret::Bool(b) => put(0, Value::Boolean(b)),
            Ret::Number(n) => put(0, Value::Number(n)),
            Ret::Integer(i) => put(0, Value::Integer(i)),
            Ret::Vec2(x, y) => {
                put(0, Value::Number(x));
                put(1, Value::Number(y));
            }
            Ret::Vec3(v) => {
                put(0, Value::Number(v.x));
                put(1, Value::Number(v.y));
                put(2, Value::Number(v.z));
            }
            Ret::Str(s) => put(0, Value::String(lua.create_string(s)?)),
            Ret::OptStr(Some(s)) => put(0, Value::String(lua.create_string(s)?)),
            Ret::OptStr(None) | Ret::OptEntity(None) => {}
            Ret::Entity(e) | Ret::OptEntity(Some(e)) => put(0, Value::Integer(e.to_lua())),
            Ret::Value(v) => put(0, v),
        }
        Ok(out)
    }
}

/// Builds a Lua error prefixed with the calling script's `chunk:line:`, as
/// `luaL_error` does.
pub(crate) fn lua_error(lua: &Lua, message: impl fmt::Display) -> mlua::Error {
    let location = lua
        .inspect_stack(1, |debug| {
            let line = debug.current_line()?;
            let source = debug.source();
            Some(format!(
                "{}:{line}: ",
                source.short_src.as_deref().unwrap_or("?")
            ))
        })
        .flatten()
        .unwrap_or_default();
    mlua::Error::runtime(format!("{location}{message}"))
}

/// One call of a binding, its arguments already checked against its
/// declaration.
pub(crate) struct Call<'a> {
    pub(crate) lua: &'a Lua,
    pub(crate) host: &'a Host,
    pub(crate) spec: &'static ApiFunction,
    args: &'a [Value],
    /// Whether a worker job is running on this state.
    worker: bool,
}

impl<'a> Call<'a> {
    pub(crate) fn new(
        lua: &'a Lua,
        host: &'a Host,
        worker: bool,
        spec: &'static ApiFunction,
        args: &'a [Value],
    ) -> mlua::Result<Self> {
        let call = Call {
            lua,
            host,
            spec,
            args,
            worker,
        };
        for (index, param) in spec.params.iter().enumerate() {
            let value = call.args.get(index);
            let ok = match value {
                None | Some(Value::Nil) if param.optional => true,
                None => false,
                Some(v) => param.ty.accepts(v),
            };
            if !ok {
                let got = match value {
                    None => "nil".to_owned(),
                    Some(Value::Number(n)) if !n.is_finite() => lua_number_text(*n),
                    Some(Value::String(s)) if param.ty == Type::Key => {
                        format!("'{}'", s.to_string_lossy())
                    }
                    Some(v) => v.type_name().to_owned(),
                };
                let nil = if param.optional { " or nil" } else { "" };
                return Err(call.error(format!(
                    "argument {} ({}) must be {}{nil}, got {got}",
                    index + 1,
                    param.name,
                    param.ty.expected()
                )));
            }
        }
        Ok(call)
    }

    /// An error about this call, naming the function.
    pub(crate) fn error(&self, message: impl fmt::Display) -> mlua::Error {
        lua_error(
            self.lua,
            format!("{}.{}: {message}", self.spec.module, self.spec.name),
        )
    }

    /// Argument `index` (1-based), `nil` when absent.
    pub(crate) fn value(&self, index: usize) -> Value {
        self.args.get(index - 1).cloned().unwrap_or(Value::Nil)
    }

    pub(crate) fn number(&self, index: usize) -> f64 {
        match self.args.get(index - 1) {
            Some(Value::Integer(i)) => *i as f64,
            Some(Value::Number(n)) => *n,
            _ => 0.0,
        }
    }

    pub(crate) fn vec3(&self, index: usize) -> DVec3 {
        DVec3::new(
            self.number(index),
            self.number(index + 1),
            self.number(index + 2),
        )
    }

    pub(crate) fn integer(&self, index: usize) -> i64 {
        match self.args.get(index - 1) {
            Some(Value::Integer(i)) => *i,
            Some(Value::Number(n)) => *n as i64,
            _ => 0,
        }
    }

    pub(crate) fn entity(&self, index: usize) -> EntityId {
        EntityId::from_lua(self.integer(index))
            .unwrap_or_else(|| unreachable!("checked as an entity"))
    }

    pub(crate) fn string(&self, index: usize) -> String {
        match self.args.get(index - 1) {
            Some(Value::String(s)) => s.to_string_lossy(),
            _ => String::new(),
        }
    }

    pub(crate) fn opt_string(&self, index: usize) -> Option<String> {
        match self.args.get(index - 1) {
            Some(Value::String(s)) => Some(s.to_string_lossy()),
            _ => None,
        }
    }

    pub(crate) fn boolean(&self, index: usize) -> bool {
        matches!(self.args.get(index - 1), Some(Value::Boolean(true)))
    }

    pub(crate) fn key(&self, index: usize) -> Key {
        self.string(index).parse().unwrap_or(Key::Space)
    }

    /// A string, number or boolean as text (`90`, `90.0`, `true`).
    pub(crate) fn scalar_text(&self, index: usize) -> String {
        match self.args.get(index - 1) {
            Some(Value::String(s)) => s.to_string_lossy(),
            Some(Value::Integer(i)) => i.to_string(),
            Some(Value::Number(n)) => lua_number_text(*n),
            Some(Value::Boolean(b)) => b.to_string(),
            _ => String::new(),
        }
    }

    /// Reads the world: the live one on the main thread, the job's view on
    /// a worker.
    pub(crate) fn read<R>(
        &self,
        f: impl FnOnce(&dyn WorldRead) -> zephyr_world::Result<R>,
    ) -> mlua::Result<R> {
        let result = if self.worker {
            match self.lua.app_data_ref::<Recording>() {
                Some(recording) => match &recording.world {
                    Some(view) => f(view),
                    None => return Err(self.no_world()),
                },
                None => return Err(self.no_world()),
            }
        } else {
            f(&*self.host.world.read())
        };
        result.map_err(|e| self.error(e))
    }

    /// Writes the world: at once on the main thread; on a worker, to the
    /// job's view and its recorded commands.
    pub(crate) fn write(&self, command: WorldCommand) -> mlua::Result<()> {
        if !self.worker {
            return command
                .apply(&mut *self.host.world.write())
                .map_err(|e| self.error(e));
        }
        let result = match self.lua.app_data_mut::<Recording>() {
            Some(mut recording) => {
                let recording = &mut *recording;
                match &mut recording.world {
                    Some(view) => command.clone().apply(view).map(|()| {
                        recording.commands.push(Command::World(command));
                    }),
                    None => return Err(self.no_world()),
                }
            }
            None => return Err(self.no_world()),
        };
        result.map_err(|e| self.error(e))
    }

    /// Creates an entity (its id is usable at once, also on a worker).
    pub(crate) fn create_entity(&self) -> mlua::Result<EntityId> {
        let id = if self.worker {
            match self.lua.app_data_mut::<Recording>() {
                Some(mut recording) => match &mut recording.world {
                    Some(view) => view.reserve(),
                    None => return Err(self.no_world()),
                },
                None => return Err(self.no_world()),
            }
        } else {
            self.host.world.write().reserve()
        };
        self.write(WorldCommand::Spawn(id))?;
        Ok(id)
    }

    fn no_world(&self) -> mlua::Error {
        self.error("this script has no world view (enqueue it through a ScriptingSystem)")
    }
}
