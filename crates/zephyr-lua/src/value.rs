//! [`ScriptValue`]: a value a script returned, copied out of Lua, and
//! numbers as Lua's `tostring` writes them.

use std::fmt;

use mlua::Value;

/// A value returned by a script, copied out of Lua so it can cross threads.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptValue {
    /// `nil`.
    Nil,
    /// A boolean.
    Boolean(bool),
    /// A Lua integer.
    Integer(i64),
    /// A Lua float.
    Number(f64),
    /// A string that is valid UTF-8.
    String(String),
    /// A string that is not valid UTF-8 (Lua strings are bytes: a Latin-1
    /// `"caf\233"`), kept byte for byte.
    Bytes(Vec<u8>),
    /// Any other value (table, function, userdata, thread), kept as its type
    /// name and the text Lua's `tostring` would give.
    Other {
        /// The Lua type name.
        type_name: String,
        /// Its `tostring` form, such as `table: 0x5581...`.
        text: String,
    },
}

impl ScriptValue {
    /// Copies a Lua value.
    pub fn from_lua(value: &Value) -> Self {
        match value {
            Value::Nil => ScriptValue::Nil,
            Value::Boolean(b) => ScriptValue::Boolean(*b),
            Value::Integer(i) => ScriptValue::Integer(*i),
            Value::Number(n) => ScriptValue::Number(*n),
            Value::String(s) => match std::str::from_utf8(&s.as_bytes()) {
                Ok(text) => ScriptValue::String(text.to_owned()),
                Err(_) => ScriptValue::Bytes(s.as_bytes().to_vec()),
            },
            other => ScriptValue::Other {
                type_name: other.type_name().to_owned(),
                text: other
                    .to_string()
                    .unwrap_or_else(|_| other.type_name().to_owned()),
            },
        }
    }
}

impl ScriptValue {
    /// The value in Lua: plain values as themselves; [`ScriptValue::Other`]
    /// (a table or function copied out of another state) as its text.
    pub fn to_lua(&self, lua: &mlua::Lua) -> mlua::Result<Value> {
        Ok(match self {
            ScriptValue::Nil => Value::Nil,
            ScriptValue::Boolean(b) => Value::Boolean(*b),
            ScriptValue::Integer(i) => Value::Integer(*i),
            ScriptValue::Number(n) => Value::Number(*n),
            ScriptValue::String(s) => Value::String(lua.create_string(s)?),
            ScriptValue::Bytes(b) => Value::String(lua.create_string(b)?),
            ScriptValue::Other { text, .. } => Value::String(lua.create_string(text)?),
        })
    }
}

impl ScriptValue {
    /// The value as `print` writes it, byte for byte: Lua's `tostring` form,
    /// and a string's own bytes (where [`Display`](fmt::Display) shows
    /// invalid UTF-8 as U+FFFD).
    pub fn to_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match self {
            ScriptValue::String(s) => s.as_bytes().into(),
            ScriptValue::Bytes(b) => b.as_slice().into(),
            other => other.to_string().into_bytes().into(),
        }
    }
}

impl From<bool> for ScriptValue {
    fn from(b: bool) -> Self {
        ScriptValue::Boolean(b)
    }
}

impl From<i64> for ScriptValue {
    fn from(i: i64) -> Self {
        ScriptValue::Integer(i)
    }
}

impl From<f64> for ScriptValue {
    fn from(n: f64) -> Self {
        ScriptValue::Number(n)
    }
}

impl From<&str> for ScriptValue {
    fn from(s: &str) -> Self {
        ScriptValue::String(s.to_owned())
    }
}

impl From<String> for ScriptValue {
    fn from(s: String) -> Self {
        ScriptValue::String(s)
    }
}

impl fmt::Display for ScriptValue {
    /// Lua's `tostring` form (`4`, `4.0`, `0.1`, `1e+15`, `true`, `nil`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScriptValue::Nil => f.write_str("nil"),
            ScriptValue::Boolean(b) => write!(f, "{b}"),
            ScriptValue::Integer(i) => write!(f, "{i}"),
            ScriptValue::Number(n) => f.write_str(&lua_number_text(*n)),
            ScriptValue::String(s) => f.write_str(s),
            ScriptValue::Bytes(b) => f.write_str(&String::from_utf8_lossy(b)),
            ScriptValue::Other { text, .. } => f.write_str(text),
        }
    }
}

/// Formats a float as Lua 5.4's `tostring` does (`%.14g`, plus `.0` when the
/// result looks like an integer).
pub fn lua_number_text(v: f64) -> String {
    let mut text = lua_g14(v);
    if !text.contains(['.', 'e', 'n', 'i']) {
        text.push_str(".0");
    }
    text
}

/// A float as C's `%.14g` formats it (Lua's `LUA_NUMBER_FMT`: what
/// `io.write` and `string.format("%.14g")` give).
pub(crate) fn lua_g14(v: f64) -> String {
    if v.is_nan() {
        return if v.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sci = format!("{v:.13e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..14).contains(&exp) {
        let mantissa = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = usize::try_from(13 - exp).unwrap_or(0);
        trim_fraction(&format!("{v:.decimals$}")).to_owned()
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_like_lua_tostring() {
        let lua = mlua::Lua::new();
        let tostring: mlua::Function = lua.globals().get("tostring").unwrap();
        let samples = [
            0.0,
            -0.0,
            1.0,
            4.0,
            0.1,
            1.0 / 3.0,
            1e15,
            1e14,
            123456789012345.0,
            1e16,
            1e-5,
            0.0001,
            2.5e-7,
            -7.25,
            1e100,
            2.5e-3 * 7.0,
            100.0,
            99999999999999.9,
        ];
        for v in samples {
            let expected: String = tostring.call(v).unwrap();
            assert_eq!(lua_number_text(v), expected, "for {v:e}");
        }
    }
}
