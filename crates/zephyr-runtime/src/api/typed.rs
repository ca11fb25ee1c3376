//! Typed functions: an engine's closure over Rust types (`Fn(&Call,
//! (EntityId, f64)) -> mlua::Result<f64>`), read straight off the Lua
//! stack as the built-in accessors are. The Rust types give the
//! declaration's parameter and return types; the declaration's rule checks
//! the values (finite numbers, entity ids); a value of another Lua type
//! fails in mlua's conversion, and the error describer words that as the
//! declaration's message.

use std::marker::PhantomData;
use std::sync::Arc;

use mlua::{FromLua, IntoLuaMulti, Lua, UserDataMethods, UserDataRegistry, Value};
use zephyr_world::EntityId;

use super::call::Call;
use super::fast::{Binding, ZephyrBinding};
use super::package::{Access, Param, Type};

/// A parameter type of a typed function.
pub trait Arg: Sized + 'static {
    /// What mlua reads off the stack for it.
    type Raw: FromLua + 'static;
    /// Its declared type.
    const TYPE: Type;
    /// Whether it may be left out (an `Option`).
    const OPTIONAL: bool = false;
    /// The argument, or `None` when the declaration's rule refuses it.
    fn accept(raw: &Self::Raw) -> Option<Self>;
    /// The raw value as a Lua value, for the refusal's message.
    fn shown(raw: &Self::Raw) -> Value;
}

impl Arg for f64 {
    type Raw = f64;
    const TYPE: Type = Type::Number;
    fn accept(raw: &f64) -> Option<f64> {
        raw.is_finite().then_some(*raw)
    }
    fn shown(raw: &f64) -> Value {
        Value::Number(*raw)
    }
}

impl Arg for i64 {
    type Raw = i64;
    const TYPE: Type = Type::Integer;
    fn accept(raw: &i64) -> Option<i64> {
        Some(*raw)
    }
    fn shown(raw: &i64) -> Value {
        Value::Integer(*raw)
    }
}

impl Arg for EntityId {
    type Raw = i64;
    const TYPE: Type = Type::Entity;
    fn accept(raw: &i64) -> Option<EntityId> {
        EntityId::from_lua(*raw)
    }
    fn shown(raw: &i64) -> Value {
        Value::Integer(*raw)
    }
}

impl Arg for bool {
    type Raw = Value;
    const TYPE: Type = Type::Boolean;
    fn accept(raw: &Value) -> Option<bool> {
        raw.as_boolean()
    }
    fn shown(raw: &Value) -> Value {
        raw.clone()
    }
}

impl Arg for String {
    type Raw = Value;
    const TYPE: Type = Type::String;
    fn accept(raw: &Value) -> Option<String> {
        match raw {
            Value::String(s) => Some(s.to_string_lossy()),
            _ => None,
        }
    }
    fn shown(raw: &Value) -> Value {
        raw.clone()
    }
}

impl Arg for Value {
    type Raw = Value;
    const TYPE: Type = Type::Any;
    fn accept(raw: &Value) -> Option<Value> {
        Some(raw.clone())
    }
    fn shown(raw: &Value) -> Value {
        raw.clone()
    }
}

impl<T: Arg> Arg for Option<T> {
    type Raw = Option<T::Raw>;
    const TYPE: Type = T::TYPE;
    const OPTIONAL: bool = true;
    fn accept(raw: &Option<T::Raw>) -> Option<Option<T>> {
        match raw {
            None => Some(None),
            Some(raw) => T::accept(raw).map(Some),
        }
    }
    fn shown(raw: &Option<T::Raw>) -> Value {
        raw.as_ref().map_or(Value::Nil, T::shown)
    }
}

/// The parameters of a typed function: a tuple of [`Arg`]s.
pub trait Args: Sized + 'static {
    /// What mlua reads off the stack.
    type Raw: mlua::FromLuaMulti + 'static;
    /// The declared types, and whether each may be left out.
    fn types() -> Vec<(Type, bool)>;
    /// The arguments, or the position (from 0) of the first one refused.
    fn accept(raw: &Self::Raw) -> Result<Self, usize>;
    /// The raw values as Lua values, for the refusal's message.
    fn shown(raw: &Self::Raw) -> Vec<Value>;
}

/// The returns of a typed function.
pub trait Returns: Sized + 'static {
    /// What mlua pushes.
    type Raw: IntoLuaMulti + 'static;
    /// The declared types, and whether each may be `nil`.
    fn types() -> Vec<(Type, bool)>;
    /// Into what mlua pushes.
    fn into_raw(self) -> Self::Raw;
}

/// A single return value.
pub trait Return: Sized + 'static {
    /// What mlua pushes.
    type Raw: mlua::IntoLua + 'static;
    /// Its declared type.
    const TYPE: Type;
    /// Whether it may be `nil`.
    const OPTIONAL: bool = false;
    /// Into what mlua pushes.
    fn into_raw(self) -> Self::Raw;
}

macro_rules! plain_return {
    ($($t:ty => $ty:expr),*) => {$(
        impl Return for $t {
            type Raw = $t;
            const TYPE: Type = $ty;
            fn into_raw(self) -> $t {
                self
            }
        }
    )*};
}
plain_return!(f64 => Type::Number, i64 => Type::Integer, bool => Type::Boolean, String => Type::String);

impl Return for EntityId {
    type Raw = i64;
    const TYPE: Type = Type::Entity;
    fn into_raw(self) -> i64 {
        self.to_lua()
    }
}

impl<T: Return> Return for Option<T> {
    type Raw = Option<T::Raw>;
    const TYPE: Type = T::TYPE;
    const OPTIONAL: bool = true;
    fn into_raw(self) -> Option<T::Raw> {
        self.map(T::into_raw)
    }
}

impl Returns for () {
    type Raw = ();
    fn types() -> Vec<(Type, bool)> {
        Vec::new()
    }
    fn into_raw(self) {}
}

impl<T: Return> Returns for T {
    type Raw = T::Raw;
    fn types() -> Vec<(Type, bool)> {
        vec![(T::TYPE, T::OPTIONAL)]
    }
    fn into_raw(self) -> T::Raw {
        Return::into_raw(self)
    }
}

macro_rules! tuples {
    ($(($($name:ident $index:tt),+)),*) => {$(
        impl<$($name: Arg),+> Args for ($($name,)+) {
            type Raw = ($($name::Raw,)+);
            fn types() -> Vec<(Type, bool)> {
                vec![$(($name::TYPE, $name::OPTIONAL)),+]
            }
            fn accept(raw: &Self::Raw) -> Result<Self, usize> {
                Ok(($($name::accept(&raw.$index).ok_or($index as usize)?,)+))
            }
            fn shown(raw: &Self::Raw) -> Vec<Value> {
                vec![$($name::shown(&raw.$index)),+]
            }
        }

        impl<$($name: Return),+> Returns for ($($name,)+) {
            type Raw = ($($name::Raw,)+);
            fn types() -> Vec<(Type, bool)> {
                vec![$(($name::TYPE, $name::OPTIONAL)),+]
            }
            fn into_raw(self) -> Self::Raw {
                ($(self.$index.into_raw(),)+)
            }
        }
    )*};
}
tuples!(
    (A 0),
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
    (A 0, B 1, C 2, D 3, E 4),
    (A 0, B 1, C 2, D 3, E 4, F 5)
);

impl Args for () {
    type Raw = ();
    fn types() -> Vec<(Type, bool)> {
        Vec::new()
    }
    fn accept(_: &()) -> Result<(), usize> {
        Ok(())
    }
    fn shown(_: &()) -> Vec<Value> {
        Vec::new()
    }
}

/// A typed implementation, able to install itself as a closure over its
/// own Rust types.
pub(crate) trait TypedImp: Send + Sync {
    /// Adds the function to the registry of typed functions.
    fn register(&self, registry: &mut UserDataRegistry<ZephyrBinding>, binding: Binding);
}

/// The implementation behind [`Function::typed`](super::Function::typed).
pub(crate) struct Typed<A, R, F> {
    f: Arc<F>,
    types: PhantomData<fn(A) -> R>,
}

impl<A, R, F> Typed<A, R, F> {
    pub(crate) fn new(f: F) -> Self {
        Typed {
            f: Arc::new(f),
            types: PhantomData,
        }
    }
}

impl<A, R, F> TypedImp for Typed<A, R, F>
where
    A: Args,
    R: Returns,
    F: Fn(&Call<'_>, A) -> mlua::Result<R> + Send + Sync + 'static,
{
    fn register(&self, registry: &mut UserDataRegistry<ZephyrBinding>, b: Binding) {
        let f = self.f.clone();
        let name = b.spec.path();
        registry.add_function(name, move |lua: &Lua, raw: A::Raw| {
            let site = b.site(lua);
            if b.spec.access == Access::MainThread && b.worker.0.is_set() {
                return Err(crate::recording::require_main_thread(lua, &b.spec.path()));
            }
            let args = match A::accept(&raw) {
                Ok(args) => args,
                Err(_) => return Err(site.refuse_values(&A::shown(&raw))),
            };
            f(&site.typed_call(), args).map(Returns::into_raw)
        });
    }
}

/// The declared parameters of a typed function: `names` with the types of
/// `A` (a name missing is `argN`).
pub(crate) fn params_of<A: Args>(names: &[&'static str]) -> Vec<Param> {
    A::types()
        .into_iter()
        .enumerate()
        .map(|(i, (ty, optional))| Param {
            name: names.get(i).copied().unwrap_or("arg"),
            ty,
            optional,
            default: None,
        })
        .collect()
}

/// The declared returns of a typed function, named `value` (the builder
/// renames them).
pub(crate) fn returns_of<R: Returns>() -> Vec<Param> {
    R::types()
        .into_iter()
        .map(|(ty, optional)| Param {
            name: "value",
            ty,
            optional,
            default: None,
        })
        .collect()
}
