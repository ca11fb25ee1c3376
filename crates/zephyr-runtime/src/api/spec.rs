//! How a binding is declared: its parameters and returns, typed once. The
//! same declaration checks every call's arguments, generates `docs/API.md`,
//! and drives the bad-input tests.

use std::fmt;

use glam::DVec3;
use mlua::{Lua, Value};
use zephyr_world::{EntityId, Key, WorldCommand, WorldRead, WorldWrite};

use super::Host;
use crate::action::Command;
use crate::recording::WorkerContext;
use zephyr_lua::binding::lua_number_text;

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
            (_, Value::Integer(i)) => self.accepts_number(Number::Int(*i)),
            (_, Value::Number(n)) => self.accepts_number(Number::Float(*n)),
            (Type::Any, _) => true,
            (Type::String, Value::String(_)) => true,
            (Type::Boolean, Value::Boolean(_)) => true,
            (Type::Key, Value::String(s)) => s.to_str().is_ok_and(|s| s.parse::<Key>().is_ok()),
            (Type::Table, Value::Table(_)) => true,
            (Type::Scalar, Value::String(_) | Value::Boolean(_)) => true,
            (Type::Handler, Value::String(_) | Value::Function(_)) => true,
            _ => false,
        }
    }

    /// Whether a number is a valid argument of this type: the one rule for
    /// numbers, whichever path read them.
    #[inline]
    fn accepts_number(self, number: Number) -> bool {
        match (self, number) {
            (Type::Any, _) => true,
            (Type::Entity, Number::Int(i)) => i > 0,
            (Type::Entity, Number::Float(n)) => n.fract() == 0.0 && (1.0..9.2e18).contains(&n),
            (Type::Number | Type::Integer | Type::Scalar, Number::Int(_)) => true,
            (Type::Number | Type::Scalar, Number::Float(n)) => n.is_finite(),
            (Type::Integer, Number::Float(n)) => n.fract() == 0.0 && n.abs() < 9.2e18,
            _ => false,
        }
    }
}

/// A number argument of the typed path, as mlua read it off the Lua stack:
/// entity ids arrive as integers and keep all 64 bits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    fn into_value(self) -> Value {
        match self {
            Number::Int(i) => Value::Integer(i),
            Number::Float(n) => Value::Number(n),
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
///
/// Most bindings take their arguments as Lua values ([`Imp::General`]).
/// The per-entity component accessors and the vector math, the calls a game
/// makes thousands of times a frame, are declared by their shape instead:
/// the registry installs each as a closure that reads its arguments as
/// `i64`/`f64` straight off the Lua stack and calls the typed function with
/// no intermediate values (`api/fast.rs`; BENCHMARKS.md has the figures).
#[derive(Clone, Copy)]
pub(crate) enum Imp {
    /// Any arguments, any results.
    General(fn(&Call<'_>) -> mlua::Result<Ret>),
    /// `(entity) -> x, y, z`: a vector read from one entity.
    GetVec3(fn(&dyn WorldRead, EntityId) -> zephyr_world::Result<DVec3>),
    /// `(entity) -> value`: a number read from one entity.
    GetNumber(fn(&dyn WorldRead, EntityId) -> zephyr_world::Result<f64>),
    /// `(entity, x, y, z)`: a vector written to one entity.
    SetVec3(fn(EntityId, DVec3) -> WorldCommand),
    /// `(entity, value)`: a number written to one entity.
    SetNumber(fn(EntityId, f64) -> WorldCommand),
    /// `(x1, y1, z1, x2, y2, z2) -> value`: math on two vectors.
    Vec3PairToNumber(fn(DVec3, DVec3) -> f64),
    /// `(x1, y1, z1, x2, y2, z2) -> x, y, z`: math on two vectors.
    Vec3PairToVec3(fn(DVec3, DVec3) -> DVec3),
    /// `(x, y, z) -> x, y, z`: math on one vector.
    Vec3ToVec3(fn(DVec3) -> DVec3),
    /// `(a, b, c) -> value`: math on three numbers.
    Number3ToNumber(fn(f64, f64, f64) -> f64),
}

impl Imp {
    /// The parameters of [`Imp::GetVec3`] and [`Imp::GetNumber`].
    pub(crate) const ENTITY: [Type; 1] = [Type::Entity];
    /// The parameters of [`Imp::SetVec3`].
    pub(crate) const ENTITY_VEC3: [Type; 4] =
        [Type::Entity, Type::Number, Type::Number, Type::Number];
    /// The parameters of [`Imp::SetNumber`].
    pub(crate) const ENTITY_NUMBER: [Type; 2] = [Type::Entity, Type::Number];
    /// The parameters of [`Imp::Vec3ToVec3`] and [`Imp::Number3ToNumber`];
    /// also the three numbers a vector result is.
    pub(crate) const NUMBERS_3: [Type; 3] = [Type::Number; 3];
    /// The parameters of the two-vector math.
    pub(crate) const NUMBERS_6: [Type; 6] = [Type::Number; 6];

    /// The parameter and return types a typed implementation requires of
    /// its declaration (`None` for [`Imp::General`]).
    pub(crate) fn signature(self) -> Option<(&'static [Type], &'static [Type])> {
        const NUMBER: &[Type] = &[Type::Number];
        match self {
            Imp::General(_) => None,
            Imp::GetVec3(_) => Some((&Self::ENTITY, &Self::NUMBERS_3)),
            Imp::GetNumber(_) => Some((&Self::ENTITY, NUMBER)),
            Imp::SetVec3(_) => Some((&Self::ENTITY_VEC3, &[])),
            Imp::SetNumber(_) => Some((&Self::ENTITY_NUMBER, &[])),
            Imp::Vec3PairToNumber(_) => Some((&Self::NUMBERS_6, NUMBER)),
            Imp::Vec3PairToVec3(_) => Some((&Self::NUMBERS_6, &Self::NUMBERS_3)),
            Imp::Vec3ToVec3(_) => Some((&Self::NUMBERS_3, &Self::NUMBERS_3)),
            Imp::Number3ToNumber(_) => Some((&Self::NUMBERS_3, NUMBER)),
        }
    }
}

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
            Ret::Str(s) => put(0, Value::String(lua.create_string(s)?)),
            Ret::OptStr(Some(s)) => put(0, Value::String(lua.create_string(s)?)),
            Ret::OptStr(None) | Ret::OptEntity(None) => {}
            Ret::Entity(e) | Ret::OptEntity(Some(e)) => put(0, Value::Integer(e.to_lua())),
            Ret::Value(v) => put(0, v),
        }
        Ok(out)
    }
}

/// Lua's own rule for number arguments (as `luaL_checknumber` applies it):
/// a string that reads as a number is that number. The typed path gets this
/// from mlua's conversions; the general path applies it here, so both
/// accept the same arguments.
pub(crate) fn coerce_numbers(lua: &Lua, spec: &ApiFunction, args: &mut [Value]) {
    for (param, arg) in spec.params.iter().zip(args.iter_mut()) {
        if !matches!(arg, Value::String(_)) {
            continue;
        }
        let coerced = match param.ty {
            Type::Number => lua
                .coerce_number(arg.clone())
                .ok()
                .flatten()
                .map(Value::Number),
            Type::Integer | Type::Entity => lua
                .coerce_integer(arg.clone())
                .ok()
                .flatten()
                .map(Value::Integer),
            _ => None,
        };
        if let Some(number) = coerced {
            *arg = number;
        }
    }
}

/// Builds a Lua error prefixed with the calling script's `chunk:line:`, as
/// `luaL_error` does.
pub(crate) use zephyr_lua::binding::lua_error;

/// Where a binding runs: the Lua state, the host, which binding, and
/// whether the state is running a worker job. Reads and writes of the world
/// go through here, so the main thread and workers differ in one place.
#[derive(Clone, Copy)]
pub(crate) struct Site<'a> {
    pub(crate) lua: &'a Lua,
    pub(crate) host: &'a Host,
    pub(crate) spec: &'static ApiFunction,
    /// The state's worker side: whether a worker job is running, and its
    /// recording.
    worker: &'a WorkerContext,
}

/// One call of a binding, its arguments already checked against its
/// declaration.
pub(crate) struct Call<'a> {
    site: Site<'a>,
    args: &'a [Value],
}

impl<'a> std::ops::Deref for Call<'a> {
    type Target = Site<'a>;

    fn deref(&self) -> &Site<'a> {
        &self.site
    }
}

impl<'a> Site<'a> {
    #[inline]
    pub(crate) fn new(
        lua: &'a Lua,
        host: &'a Host,
        spec: &'static ApiFunction,
        worker: &'a WorkerContext,
    ) -> Self {
        Site {
            lua,
            host,
            spec,
            worker,
        }
    }

    /// Checks `args` against the declaration: the call, or the error that
    /// names the function and the argument.
    #[inline]
    pub(crate) fn call(self, args: &'a [Value]) -> mlua::Result<Call<'a>> {
        let call = Call { site: self, args };
        for (index, param) in self.spec.params.iter().enumerate() {
            let valid = match args.get(index) {
                None | Some(Value::Nil) => param.optional,
                Some(value) => param.ty.accepts(value),
            };
            if !valid {
                return Err(call.argument_error(index, param));
            }
        }
        Ok(call)
    }

    /// The same checks for the typed path, on the numbers mlua has read
    /// (a value that is not a number fails in mlua's conversion already,
    /// see `api/fast.rs`). `types` is the typed implementation's signature,
    /// which registration matched against the declaration; a constant, so
    /// the checks compile to a few compares.
    #[inline]
    pub(crate) fn check<const N: usize>(
        self,
        types: [Type; N],
        args: [Number; N],
    ) -> mlua::Result<()> {
        if types
            .iter()
            .zip(&args)
            .all(|(ty, arg)| ty.accepts_number(*arg))
        {
            Ok(())
        } else {
            Err(self.refuse(args))
        }
    }

    /// The error [`call`](Self::call) gives for numbers the typed path
    /// refused, so both paths say the same.
    #[cold]
    #[inline(never)]
    fn refuse<const N: usize>(self, args: [Number; N]) -> mlua::Error {
        let values = args.map(Number::into_value);
        match self.call(&values) {
            Err(error) => error,
            Ok(_) => self.error("invalid arguments"),
        }
    }

    /// An error about this call, naming the function.
    #[cold]
    pub(crate) fn error(&self, message: impl fmt::Display) -> mlua::Error {
        lua_error(
            self.lua,
            format!("{}.{}: {message}", self.spec.module, self.spec.name),
        )
    }

    /// Reads the world: the live one on the main thread, the job's view on
    /// a worker.
    #[inline]
    pub(crate) fn read<R>(
        &self,
        f: impl FnOnce(&dyn WorldRead) -> zephyr_world::Result<R>,
    ) -> mlua::Result<R> {
        if self.worker.is_set() {
            return self.read_view(f);
        }
        f(&*self.host.world.read()).map_err(|e| self.error(e))
    }

    /// [`read`](Self::read) on a worker: the job's view. Out of line, so
    /// the main-thread path inlined into every binding stays small.
    #[inline(never)]
    fn read_view<R>(
        &self,
        f: impl FnOnce(&dyn WorldRead) -> zephyr_world::Result<R>,
    ) -> mlua::Result<R> {
        self.worker
            .with(|recording| match &recording.world {
                Some(view) => f(view).map_err(|e| self.error(e)),
                None => Err(self.no_world()),
            })
            .unwrap_or_else(|| Err(self.no_world()))
    }

    /// Writes the world: at once on the main thread; on a worker, to the
    /// job's view and its recorded commands.
    #[inline]
    pub(crate) fn write(&self, command: WorldCommand) -> mlua::Result<()> {
        if self.worker.is_set() {
            return self.record(command);
        }
        command
            .apply(&mut *self.host.world.write())
            .map_err(|e| self.error(e))
    }

    /// [`write`](Self::write) on a worker: applied to the job's view (so
    /// its later reads see it) and recorded for `update()`. Out of line,
    /// like [`read_view`](Self::read_view).
    #[inline(never)]
    fn record(&self, command: WorldCommand) -> mlua::Result<()> {
        self.worker
            .with(|recording| {
                let Some(view) = &mut recording.world else {
                    return Err(self.no_world());
                };
                command.apply(view).map_err(|e| self.error(e))?;
                recording.commands.push(Command::World(command));
                Ok(())
            })
            .unwrap_or_else(|| Err(self.no_world()))
    }

    /// Creates an entity (its id is usable at once, also on a worker).
    pub(crate) fn create_entity(&self) -> mlua::Result<EntityId> {
        let id = if self.worker.is_set() {
            match self
                .worker
                .with(|r| r.world.as_mut().map(WorldWrite::reserve))
            {
                Some(Some(id)) => id,
                _ => return Err(self.no_world()),
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

impl<'a> Call<'a> {
    #[cold]
    #[inline(never)]
    fn argument_error(&self, index: usize, param: &Param) -> mlua::Error {
        let got = match self.args.get(index) {
            None => "nil".to_owned(),
            Some(Value::Number(n)) if !n.is_finite() => lua_number_text(*n),
            Some(Value::String(s)) if param.ty == Type::Key => {
                format!("'{}'", s.to_string_lossy())
            }
            Some(v) => zephyr_lua::binding::type_name(v).to_owned(),
        };
        let nil = if param.optional { " or nil" } else { "" };
        self.error(format!(
            "argument {} ({}) must be {}{nil}, got {got}",
            index + 1,
            param.name,
            param.ty.expected()
        ))
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
        self.opt_string(index).unwrap_or_default()
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
        match self.value(index) {
            Value::String(s) => s.to_string_lossy(),
            Value::Integer(i) => i.to_string(),
            Value::Number(n) => lua_number_text(n),
            Value::Boolean(b) => b.to_string(),
            _ => String::new(),
        }
    }
}
