//! How a package of functions is declared: each function's parameters and
//! returns, typed once, its thread rule and its implementation. The same
//! declaration checks every call's arguments, generates `docs/API.md` and
//! the editor definitions, and drives the bad-input tests, for the built-in
//! packages and an engine's alike.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use glam::DVec3;
use mlua::{Lua, Value};
use zephyr_world::{EntityId, Key, WorldCommand, WorldRead};

use super::call::Call;

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
    /// An array of entity ids (a table).
    Entities,
    /// An array of strings (a table).
    Strings,
    /// What `zephyr.entity.spawn` takes: a prefab's name, or a table of
    /// an entity's keys (`zephyr.Spawn` in the editor definitions).
    Spawn,
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
            Type::Entities => "entity[]",
            Type::Strings => "string[]",
            Type::Spawn => "string|zephyr.Spawn",
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
            Type::Entities => "an array of entity ids",
            Type::Strings => "an array of strings",
            Type::Spawn => "a prefab name or a table of keys",
            Type::Scalar => "a string, number or boolean",
            Type::Handler => "a function name or a function",
            Type::Any => "a value",
        }
    }

    pub(crate) fn accepts(self, value: &Value) -> bool {
        match (self, value) {
            (_, Value::Integer(i)) => self.accepts_number(Number::Int(*i)),
            (_, Value::Number(n)) => self.accepts_number(Number::Float(*n)),
            (Type::Any, _) => true,
            (Type::String, Value::String(_)) => true,
            (Type::Boolean, Value::Boolean(_)) => true,
            (Type::Key, Value::String(s)) => s.to_str().is_ok_and(|s| s.parse::<Key>().is_ok()),
            (Type::Table | Type::Entities | Type::Strings, Value::Table(_)) => true,
            (Type::Spawn, Value::String(_) | Value::Table(_)) => true,
            (Type::Scalar, Value::String(_) | Value::Boolean(_)) => true,
            (Type::Handler, Value::String(_) | Value::Function(_)) => true,
            _ => false,
        }
    }

    /// Whether a number is a valid argument of this type: the one rule for
    /// numbers, whichever path read them.
    #[inline]
    pub(crate) fn accepts_number(self, number: Number) -> bool {
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
    pub(crate) fn into_value(self) -> Value {
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
    /// What a left-out parameter means, as the docs write it (`1.0`); the
    /// implementation applies it.
    pub default: Option<&'static str>,
}

impl Param {
    /// A required parameter, or a return value that is never `nil`.
    pub const fn new(name: &'static str, ty: Type) -> Self {
        req(name, ty)
    }

    /// An optional parameter, or a return value that may be `nil`.
    pub const fn optional(name: &'static str, ty: Type) -> Self {
        opt(name, ty)
    }
}

/// A required parameter, or a return value that is never `nil`.
pub(crate) const fn req(name: &'static str, ty: Type) -> Param {
    Param {
        name,
        ty,
        optional: false,
        default: None,
    }
}

/// An optional parameter, or a return value that may be `nil`.
pub(crate) const fn opt(name: &'static str, ty: Type) -> Param {
    Param {
        name,
        ty,
        optional: true,
        default: None,
    }
}

/// Where a function may run: its thread rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Access {
    /// It only reads: it runs anywhere, against the world as the call sees
    /// it (the live world on the main thread; a worker job's view, or the
    /// parallel phase's, elsewhere).
    #[default]
    Reads,
    /// It writes: on the main thread at once; in a worker job or a
    /// parallel update, recorded and applied on the main thread in order
    /// with the other writes (through [`Call::write`] and [`Call::command`]).
    Writes,
    /// Main thread only: a worker job that calls it moves to the main
    /// thread and runs again there; in a parallel update it raises an error
    /// naming the function.
    MainThread,
}

/// What an engine's function does when called: it reads its arguments from
/// the [`Call`] (already checked against the declaration), and returns its
/// values. Errors are Lua errors: [`Call::error`] words one naming the
/// function.
pub type Implementation = Arc<dyn Fn(&Call<'_>) -> mlua::Result<Ret> + Send + Sync>;

/// The implementation of a function.
///
/// Most take their arguments as Lua values ([`Imp::General`] for the
/// built-ins, [`Imp::Closure`] for an engine's). The per-entity component
/// accessors and the vector math, the calls a game makes thousands of times
/// a frame, are declared by their shape instead: each is installed as a
/// closure that reads its arguments as `i64`/`f64` straight off the Lua
/// stack and calls the typed function with no intermediate values
/// (BENCHMARKS.md has the figures). An engine may use the shapes too.
#[derive(Clone)]
#[non_exhaustive]
pub enum Imp {
    /// Any arguments, any results: a function pointer.
    General(fn(&Call<'_>) -> mlua::Result<Ret>),
    /// Any arguments, any results: a closure (an engine's, holding its
    /// own state).
    Closure(Implementation),
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
    /// A closure over Rust types (see [`Function::typed`]).
    Typed(TypedFunction),
}

/// The implementation [`Function::typed`] makes: a closure over its
/// parameters' and returns' Rust types.
#[derive(Clone)]
pub struct TypedFunction(pub(crate) Arc<dyn super::typed::TypedImp>);

impl fmt::Debug for TypedFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TypedFunction")
    }
}

impl fmt::Debug for Imp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Imp::General(_) => "General",
            Imp::Closure(_) => "Closure",
            Imp::GetVec3(_) => "GetVec3",
            Imp::GetNumber(_) => "GetNumber",
            Imp::SetVec3(_) => "SetVec3",
            Imp::SetNumber(_) => "SetNumber",
            Imp::Vec3PairToNumber(_) => "Vec3PairToNumber",
            Imp::Vec3PairToVec3(_) => "Vec3PairToVec3",
            Imp::Vec3ToVec3(_) => "Vec3ToVec3",
            Imp::Number3ToNumber(_) => "Number3ToNumber",
            Imp::Typed(_) => "Typed",
        })
    }
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
    /// its declaration (`None` for the general ones).
    pub(crate) fn signature(&self) -> Option<(&'static [Type], &'static [Type])> {
        const NUMBER: &[Type] = &[Type::Number];
        match self {
            Imp::General(_) | Imp::Closure(_) | Imp::Typed(_) => None,
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

/// One function of a package: its declaration and its implementation.
///
/// ```
/// use zephyr_runtime::api::{Function, Param, Ret, Type};
/// let volume = Function::new("set_volume", |call| {
///     let level = call.number(1);
///     Ok(Ret::Number(level.clamp(0.0, 1.0)))
/// })
/// .param("level", Type::Number)
/// .returns("applied", Type::Number)
/// .doc("Sets the master volume, 0 to 1; returns what was applied.");
/// assert_eq!(volume.params[0].name, "level");
/// ```
#[derive(Clone)]
pub struct Function {
    /// The table it lives in (`zephyr.transform`, `audio`): its package's
    /// name, set when the package takes it.
    pub module: Cow<'static, str>,
    /// Its name in that table.
    pub name: Cow<'static, str>,
    /// Its parameters.
    pub params: Cow<'static, [Param]>,
    /// What it returns, in order.
    pub returns: Cow<'static, [Param]>,
    /// One line of documentation.
    pub doc: Cow<'static, str>,
    /// Where it may run.
    pub access: Access,
    /// What it does.
    pub imp: Imp,
}

impl fmt::Debug for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Function")
            .field("path", &self.path())
            .field("params", &self.params)
            .field("returns", &self.returns)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

impl Function {
    /// A function with no parameters, no returns, that only reads; the
    /// builder methods declare the rest.
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        imp: impl Fn(&Call<'_>) -> mlua::Result<Ret> + Send + Sync + 'static,
    ) -> Self {
        Function {
            module: Cow::Borrowed(""),
            name: name.into(),
            params: Cow::Borrowed(&[]),
            returns: Cow::Borrowed(&[]),
            doc: Cow::Borrowed(""),
            access: Access::Reads,
            imp: Imp::Closure(Arc::new(imp)),
        }
    }

    /// A function implemented over Rust types: its parameters are `A` (a
    /// tuple of `f64`, `i64`, `bool`, `String`, [`EntityId`], Lua values
    /// and `Option`s of these), named `params` in order; it returns `R`
    /// (one of those, a tuple of them, or `()`), named `value` unless
    /// [`return_names`](Self::return_names) names them. mlua reads the
    /// arguments straight off the Lua stack, with no intermediate values:
    /// the fast path of the built-in accessors.
    ///
    /// ```
    /// use zephyr_runtime::api::{Function, Package};
    /// use zephyr_runtime::world::EntityId;
    /// let hp = Function::typed("damage", &["entity", "amount"], |call, (e, amount): (EntityId, f64)| {
    ///     Ok(100.0 - amount + e.bits() as f64 * 0.0)
    /// })
    /// .return_names(&["hp"])
    /// .doc("Damages an entity; returns its hit points.");
    /// assert_eq!(hp.params[1].name, "amount");
    /// assert_eq!(hp.returns[0].name, "hp");
    /// ```
    pub fn typed<A, R, F>(name: impl Into<Cow<'static, str>>, params: &[&'static str], f: F) -> Self
    where
        A: super::typed::Args,
        R: super::typed::Returns,
        F: Fn(&Call<'_>, A) -> mlua::Result<R> + Send + Sync + 'static,
    {
        Function {
            params: Cow::Owned(super::typed::params_of::<A>(params)),
            returns: Cow::Owned(super::typed::returns_of::<R>()),
            imp: Imp::Typed(TypedFunction(Arc::new(super::typed::Typed::new(f)))),
            ..Function::new(name, |_| Ok(Ret::None))
        }
    }

    /// A function with one of the built-in shapes (see [`Imp`]); its
    /// declaration must match the shape, which the package checks when it
    /// is installed.
    pub fn shaped(name: impl Into<Cow<'static, str>>, imp: Imp) -> Self {
        Function {
            imp,
            ..Function::new(name, |_| Ok(Ret::None))
        }
    }

    /// Names the return values, in order.
    pub fn return_names(mut self, names: &[&'static str]) -> Self {
        for (param, name) in self.returns.to_mut().iter_mut().zip(names) {
            param.name = name;
        }
        self
    }

    /// Adds a required parameter.
    pub fn param(mut self, name: &'static str, ty: Type) -> Self {
        self.params.to_mut().push(Param::new(name, ty));
        self
    }

    /// Adds an optional parameter; `default` is what leaving it out means,
    /// as the docs show it (the implementation applies it).
    pub fn optional(mut self, name: &'static str, ty: Type, default: Option<&'static str>) -> Self {
        let mut param = Param::optional(name, ty);
        param.default = default;
        self.params.to_mut().push(param);
        self
    }

    /// Adds a return value.
    pub fn returns(mut self, name: &'static str, ty: Type) -> Self {
        self.returns.to_mut().push(Param::new(name, ty));
        self
    }

    /// Adds a return value that may be `nil`.
    pub fn returns_optional(mut self, name: &'static str, ty: Type) -> Self {
        self.returns.to_mut().push(Param::optional(name, ty));
        self
    }

    /// Sets the one line of documentation.
    pub fn doc(mut self, doc: impl Into<Cow<'static, str>>) -> Self {
        self.doc = doc.into();
        self
    }

    /// Declares that it writes (see [`Access::Writes`]).
    pub fn writes(mut self) -> Self {
        self.access = Access::Writes;
        self
    }

    /// Declares it main-thread only (see [`Access::MainThread`]).
    pub fn main_thread(mut self) -> Self {
        self.access = Access::MainThread;
        self
    }

    /// The full name, such as `zephyr.transform.set_position`.
    pub fn path(&self) -> String {
        if self.module.is_empty() {
            return self.name.to_string();
        }
        format!("{}.{}", self.module, self.name)
    }

    /// Whether it writes (on a worker its effect waits for `update()`).
    pub fn writes_world(&self) -> bool {
        self.access == Access::Writes
    }
}

/// A constant a package's table holds (`cvar.ARCHIVE`, `Mouse.Left`).
#[derive(Debug, Clone, PartialEq)]
pub struct Constant {
    /// Its name in the table.
    pub name: Cow<'static, str>,
    /// Its value.
    pub value: ConstValue,
    /// One line of documentation.
    pub doc: Cow<'static, str>,
}

/// The value of a [`Constant`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConstValue {
    /// An integer.
    Integer(i64),
    /// A number.
    Number(f64),
    /// A string.
    String(Cow<'static, str>),
    /// A boolean.
    Boolean(bool),
}

impl ConstValue {
    pub(crate) fn to_lua(&self, lua: &Lua) -> mlua::Result<Value> {
        Ok(match self {
            ConstValue::Integer(i) => Value::Integer(*i),
            ConstValue::Number(n) => Value::Number(*n),
            ConstValue::String(s) => Value::String(lua.create_string(s.as_ref())?),
            ConstValue::Boolean(b) => Value::Boolean(*b),
        })
    }
}

impl fmt::Display for ConstValue {
    /// As Lua would write the literal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConstValue::Integer(i) => write!(f, "{i}"),
            ConstValue::Number(n) => f.write_str(&zephyr_lua::binding::lua_number_text(*n)),
            ConstValue::String(s) => write!(f, "{s:?}"),
            ConstValue::Boolean(b) => write!(f, "{b}"),
        }
    }
}

/// A table of functions and constants scripts see under one name
/// (`zephyr.transform`, `cvar`, an engine's `audio`), declared once: what
/// installs it in every Lua state, checks its calls, and writes its
/// reference and editor definitions.
///
/// ```
/// use zephyr_runtime::api::{ConstValue, Function, Package, Ret, Type};
/// let audio = Package::new("audio")
///     .doc("Sound effects and music.")
///     .function(
///         Function::new("play", |call| Ok(Ret::Integer(call.string(1).len() as i64)))
///             .param("name", Type::String)
///             .returns("handle", Type::Integer)
///             .doc("Plays a sound; returns its handle.")
///             .writes(),
///     )
///     .constant("MAX_VOICES", ConstValue::Integer(32), "Sounds that play at once.");
/// assert_eq!(audio.functions[0].path(), "audio.play");
/// ```
#[derive(Debug, Clone)]
pub struct Package {
    /// Its table's name, dotted for a table inside another
    /// (`zephyr.transform`).
    pub name: Cow<'static, str>,
    /// One line of documentation.
    pub doc: Cow<'static, str>,
    /// Its functions, in documentation order.
    pub functions: Vec<Arc<Function>>,
    /// Its constants.
    pub constants: Vec<Constant>,
}

impl Package {
    /// An empty package named `name`.
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Package {
            name: name.into(),
            doc: Cow::Borrowed(""),
            functions: Vec::new(),
            constants: Vec::new(),
        }
    }

    /// Sets the one line of documentation.
    pub fn doc(mut self, doc: impl Into<Cow<'static, str>>) -> Self {
        self.doc = doc.into();
        self
    }

    /// Adds a function (its module becomes this package's name).
    pub fn function(mut self, mut function: Function) -> Self {
        function.module = self.name.clone();
        self.functions.push(Arc::new(function));
        self
    }

    /// Adds a constant.
    pub fn constant(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: ConstValue,
        doc: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.constants.push(Constant {
            name: name.into(),
            value,
            doc: doc.into(),
        });
        self
    }
}

/// What a function returns (padded with `nil`, or cut, to the declared
/// returns).
#[derive(Debug)]
#[non_exhaustive]
pub enum Ret {
    /// Nothing.
    None,
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(f64),
    /// An integer.
    Integer(i64),
    /// Two numbers.
    Vec2(f64, f64),
    /// Three numbers.
    Vec3(f64, f64, f64),
    /// A string.
    Str(String),
    /// A string, or `nil`.
    OptStr(Option<String>),
    /// An entity id.
    Entity(EntityId),
    /// An entity id, or `nil`.
    OptEntity(Option<EntityId>),
    /// Any Lua value.
    Value(Value),
    /// Several Lua values.
    Values(Vec<Value>),
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
            Ret::Vec3(x, y, z) => {
                put(0, Value::Number(x));
                put(1, Value::Number(y));
                put(2, Value::Number(z));
            }
            Ret::Values(values) => {
                for (i, v) in values.into_iter().enumerate() {
                    put(i, v);
                }
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
