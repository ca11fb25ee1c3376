//! Argument checking for bindings: every bad argument becomes a Lua error
//! that names the script position, the function and the argument.

use mlua::{Function, Lua, MultiValue, Value};

use crate::outcome::lua_number_text;

/// Builds a Lua error prefixed with the calling script's `chunk:line:`, as
/// `luaL_error` does.
pub(crate) fn lua_error(lua: &Lua, message: impl std::fmt::Display) -> mlua::Error {
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

/// A CVar handler given to `cvar.on_change` or `console.register`.
pub(crate) enum HandlerArg {
    Name(String),
    Function(Function),
    None,
}

/// The arguments of one binding call.
pub(crate) struct Args<'a> {
    lua: &'a Lua,
    function: &'static str,
    values: MultiValue,
}

impl<'a> Args<'a> {
    pub(crate) fn new(lua: &'a Lua, function: &'static str, values: MultiValue) -> Self {
        Args {
            lua,
            function,
            values,
        }
    }

    /// An error about the call as a whole, naming the function.
    pub(crate) fn error(&self, message: impl std::fmt::Display) -> mlua::Error {
        lua_error(self.lua, format!("{}: {message}", self.function))
    }

    /// How many arguments were passed.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    fn get(&self, index: usize) -> Option<&Value> {
        self.values.get(index - 1)
    }

    fn bad(&self, index: usize, name: &str, expected: &str) -> mlua::Error {
        let got = match self.get(index) {
            None => "no value",
            Some(v) => v.type_name(),
        };
        self.error(format!(
            "argument {index} ({name}) must be {expected}, got {got}"
        ))
    }

    /// A string argument (numbers are not coerced).
    pub(crate) fn string(&self, index: usize, name: &str) -> mlua::Result<String> {
        match self.get(index) {
            Some(Value::String(s)) => Ok(s.to_string_lossy()),
            _ => Err(self.bad(index, name, "a string")),
        }
    }

    /// An optional string argument (`nil` or absent gives `None`).
    pub(crate) fn opt_string(&self, index: usize, name: &str) -> mlua::Result<Option<String>> {
        match self.get(index) {
            None | Some(Value::Nil) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.to_string_lossy())),
            _ => Err(self.bad(index, name, "a string or nil")),
        }
    }

    /// A string, number or boolean, as text (`90`, `90.0`, `true`).
    pub(crate) fn value_text(&self, index: usize, name: &str) -> mlua::Result<String> {
        match self.get(index) {
            Some(Value::String(s)) => Ok(s.to_string_lossy()),
            Some(Value::Integer(i)) => Ok(i.to_string()),
            Some(Value::Number(n)) => Ok(lua_number_text(*n)),
            Some(Value::Boolean(b)) => Ok(b.to_string()),
            _ => Err(self.bad(index, name, "a string, number or boolean")),
        }
    }

    /// Any value except absence (`nil` is allowed when present).
    pub(crate) fn value(&self, index: usize) -> Value {
        self.get(index).cloned().unwrap_or(Value::Nil)
    }

    /// An optional integer (`nil` or absent gives `None`).
    pub(crate) fn opt_integer(&self, index: usize, name: &str) -> mlua::Result<Option<i64>> {
        match self.get(index) {
            None | Some(Value::Nil) => Ok(None),
            Some(Value::Integer(i)) => Ok(Some(*i)),
            Some(Value::Number(n)) if n.fract() == 0.0 && n.is_finite() => Ok(Some(*n as i64)),
            _ => Err(self.bad(index, name, "an integer or nil")),
        }
    }

    /// A handler: a function name, a function, or `nil` (to remove it).
    pub(crate) fn handler(&self, index: usize, name: &str) -> mlua::Result<HandlerArg> {
        match self.get(index) {
            None | Some(Value::Nil) => Ok(HandlerArg::None),
            Some(Value::String(s)) => Ok(HandlerArg::Name(s.to_string_lossy())),
            Some(Value::Function(f)) => Ok(HandlerArg::Function(f.clone())),
            _ => Err(self.bad(index, name, "a function name, a function or nil")),
        }
    }
}
