//! What a script produces: returned values or a typed error, and its text
//! form in the reference's `OK` / `ERROR: <message>` convention.

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
pub(crate) fn lua_number_text(v: f64) -> String {
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

/// What kind of failure a [`ScriptError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScriptErrorKind {
    /// The source did not compile.
    Syntax,
    /// A runtime error: `error()`, a failed operation, or a binding refusing
    /// its arguments.
    Runtime,
    /// The script ran past its instruction budget.
    BudgetExceeded,
    /// The script's state ran out of memory (its memory limit).
    OutOfMemory,
    /// Rust code panicked: a binding, or the job's completion callback.
    Panic,
}

/// A script failure: message, chunk name, line and Lua traceback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    /// What kind of failure.
    pub kind: ScriptErrorKind,
    /// The message, usually starting with `chunk:line:` as Lua writes it.
    pub message: String,
    /// The chunk (script) name.
    pub chunk: String,
    /// The line the error was raised at, when known.
    pub line: Option<u32>,
    /// The Lua stack traceback, when there is one.
    pub traceback: Option<String>,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScriptError {}

/// Raised by the instruction-count hook when an execution exceeds its budget.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{location}instruction budget of {budget} exceeded")]
pub(crate) struct BudgetExceeded {
    pub(crate) budget: u64,
    pub(crate) location: String,
}

/// Raised by a main-thread-only binding called from a worker script; the
/// runner then moves the whole script to the main thread.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{function} must run on the main thread: this script will be re-run there")]
pub(crate) struct MainThreadRequired {
    pub(crate) function: &'static str,
}

/// Rewrites an argument error that mlua raised while converting a typed
/// binding's arguments into the registry's words. The API installs it
/// (`outcome` knows no bindings, so that it depends on nothing).
type ArgumentErrorDescriber = fn(&mlua::Error, Option<&str>) -> Option<String>;

static ARGUMENT_ERRORS: std::sync::OnceLock<ArgumentErrorDescriber> = std::sync::OnceLock::new();

/// Installs the describer of binding argument errors (once per process;
/// every state installs the same one).
pub(crate) fn set_argument_error_describer(describe: ArgumentErrorDescriber) {
    let _ = ARGUMENT_ERRORS.set(describe);
}

fn describe_argument_error(error: &mlua::Error, traceback: Option<&str>) -> Option<String> {
    ARGUMENT_ERRORS
        .get()
        .and_then(|describe| describe(error, traceback))
}

impl ScriptError {
    /// Builds a script error from an mlua error raised while running `chunk`.
    pub fn from_lua(err: &mlua::Error, chunk: &str) -> Self {
        let (cause, traceback) = root_cause(err);
        let traceback = traceback.map(str::to_owned);
        let (kind, text) = match cause {
            mlua::Error::SyntaxError { message, .. } => (ScriptErrorKind::Syntax, message.clone()),
            mlua::Error::MemoryError(m) => (
                ScriptErrorKind::OutOfMemory,
                format!("{chunk}: out of memory ({m})"),
            ),
            mlua::Error::RuntimeError(m) => (ScriptErrorKind::Runtime, m.clone()),
            other => {
                if other.downcast_ref::<BudgetExceeded>().is_some() {
                    (ScriptErrorKind::BudgetExceeded, other.to_string())
                } else {
                    let text = describe_argument_error(other, traceback.as_deref())
                        .unwrap_or_else(|| other.to_string());
                    (ScriptErrorKind::Runtime, text)
                }
            }
        };
        let (message, tb) = match text.split_once("\nstack traceback:") {
            Some((m, t)) => (m.to_owned(), Some(format!("stack traceback:{t}"))),
            None => (text, None),
        };
        // The traceback taken where the error was raised (in its message,
        // when it crossed a Rust function such as the sandbox's `dofile`)
        // has every frame; the one taken where it left the Rust function
        // has lost the frames inside. The runtime's own frames (the
        // sandbox's `error` and `pcall`, the task scheduler, the sandbox's
        // `raise`) are not the script's: left out.
        let traceback = tb.or(traceback).map(|t| {
            t.trim_end()
                .lines()
                .filter(|line| {
                    let line = line.trim_start();
                    !line.starts_with("zephyr.") && line != "[C]: in upvalue 'raise'"
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
        let line = parse_line(&message, chunk);
        ScriptError {
            kind,
            message,
            chunk: chunk.to_owned(),
            line,
            traceback,
        }
    }

    /// A panic in Rust code while running `chunk`.
    pub(crate) fn panic(chunk: &str, payload: &(dyn std::any::Any + Send)) -> Self {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_owned());
        ScriptError {
            kind: ScriptErrorKind::Panic,
            message: format!("{chunk}: panic: {text}"),
            chunk: chunk.to_owned(),
            line: None,
            traceback: None,
        }
    }
}

/// The error a chain of callback and context wrappers started from, and the
/// outermost traceback on the way.
fn root_cause(err: &mlua::Error) -> (&mlua::Error, Option<&str>) {
    let mut traceback = None;
    let mut cause = err;
    loop {
        match cause {
            mlua::Error::CallbackError {
                traceback: tb,
                cause: inner,
            } => {
                traceback.get_or_insert(tb.as_str());
                cause = inner;
            }
            mlua::Error::WithContext { cause: inner, .. } => cause = inner,
            _ => return (cause, traceback),
        }
    }
}

/// The message a script sees for an engine error it caught with `pcall`:
/// the root cause's own text, without wrappers or traceback.
pub(crate) fn root_message(err: &mlua::Error) -> String {
    let (cause, traceback) = root_cause(err);
    let text = match cause {
        mlua::Error::RuntimeError(m) | mlua::Error::MemoryError(m) => m.clone(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => describe_argument_error(other, traceback).unwrap_or_else(|| other.to_string()),
    };
    match text.split_once("\nstack traceback:") {
        Some((message, _)) => message.to_owned(),
        None => text,
    }
}

/// The line number in a message of the form `chunk:LINE: ...`.
fn parse_line(message: &str, chunk: &str) -> Option<u32> {
    let rest = message.strip_prefix(chunk)?.strip_prefix(':')?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if rest[digits.len()..].starts_with(':') {
        digits.parse().ok()
    } else {
        None
    }
}

/// The result of one script job: exactly one per job, delivered to its
/// callback, its [`ScriptHandle`](crate::ScriptHandle) and, as a
/// `ScriptResult` action, to the main thread.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The script ran to the end and returned these values (empty when it
    /// returned nothing).
    Returned(Vec<ScriptValue>),
    /// The script failed.
    Failed(ScriptError),
    /// The script never ran: the runner shut down first.
    Cancelled,
}

impl Outcome {
    /// Whether the script ran to the end.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Returned(_))
    }

    /// The error, if the script failed.
    pub fn error(&self) -> Option<&ScriptError> {
        match self {
            Outcome::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// The returned values (empty unless [`Outcome::Returned`]).
    pub fn values(&self) -> &[ScriptValue] {
        match self {
            Outcome::Returned(v) => v,
            _ => &[],
        }
    }
}

impl fmt::Display for Outcome {
    /// The reference's `ScriptResult` text: `OK` when nothing was returned,
    /// the returned values separated by tabs (as `print` would show them),
    /// or `ERROR: <message>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Returned(values) if values.is_empty() => f.write_str("OK"),
            Outcome::Returned(values) => {
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\t")?;
                    }
                    write!(f, "{v}")?;
                }
                Ok(())
            }
            Outcome::Failed(e) => write!(f, "ERROR: {}", e.message),
            Outcome::Cancelled => f.write_str("ERROR: cancelled: the script runner shut down"),
        }
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

    #[test]
    fn outcome_text_follows_the_reference() {
        assert_eq!(Outcome::Returned(vec![]).to_string(), "OK");
        assert_eq!(
            Outcome::Returned(vec![ScriptValue::Integer(4)]).to_string(),
            "4"
        );
        assert_eq!(
            Outcome::Returned(vec![
                ScriptValue::Integer(1),
                ScriptValue::String("a".into())
            ])
            .to_string(),
            "1\ta"
        );
        let e = ScriptError {
            kind: ScriptErrorKind::Runtime,
            message: "x:1: boom".into(),
            chunk: "x".into(),
            line: Some(1),
            traceback: None,
        };
        assert_eq!(Outcome::Failed(e).to_string(), "ERROR: x:1: boom");
    }

    #[test]
    fn lines_are_parsed_only_after_the_chunk_name() {
        assert_eq!(parse_line("init.lua:12: boom", "init.lua"), Some(12));
        assert_eq!(parse_line("init.lua: out of memory", "init.lua"), None);
        assert_eq!(parse_line("other:3: x", "init.lua"), None);
    }
}

/// The last table raised with `error` in the safe profile, described: the
/// host shows this instead of `table: 0x...` (see
/// [`described_error_table`]).
#[derive(Debug, Clone)]
struct ErrorTable {
    address: String,
    text: String,
}

/// `error(t)` with a table: remembers the table's description and where it
/// was raised. A table with `__tostring` needs none (the host uses it).
pub(crate) fn note_error_table(lua: &mlua::Lua, t: mlua::Table) -> mlua::Result<()> {
    if t.metatable()
        .is_some_and(|mt| mt.contains_key("__tostring").unwrap_or(false))
    {
        return Ok(());
    }
    let place = line_at(lua, 2).map(|p| p + ": ").unwrap_or_default();
    lua.set_app_data(ErrorTable {
        address: format!("table: {:p}", t.to_pointer()),
        text: format!("{place}error object {}", describe_table(&t, 2)),
    });
    Ok(())
}

/// A short description of a table's fields: `{code = 42, msg = "no"}`.
fn describe_table(t: &mlua::Table, depth: usize) -> String {
    if depth == 0 {
        return "{...}".to_owned();
    }
    let mut parts = Vec::new();
    let mut more = false;
    for (i, pair) in t.pairs::<mlua::Value, mlua::Value>().enumerate() {
        if i == 8 {
            more = true;
            break;
        }
        let Ok((k, v)) = pair else { break };
        let value = match &v {
            mlua::Value::String(s) => format!("{:?}", s.to_string_lossy()),
            mlua::Value::Table(inner) => describe_table(inner, depth - 1),
            other => other
                .to_string()
                .unwrap_or_else(|_| other.type_name().to_owned()),
        };
        let key = match &k {
            mlua::Value::String(s) => s.to_string_lossy(),
            other => format!("[{}]", other.to_string().unwrap_or_default()),
        };
        parts.push(format!("{key} = {value}"));
    }
    if more {
        parts.push("...".to_owned());
    }
    format!("{{{}}}", parts.join(", "))
}

/// The description of the table an error message names by address, if it
/// was raised with the safe profile's `error`.
pub(crate) fn described_error_table(lua: &mlua::Lua, message: &str) -> Option<String> {
    let noted = lua.app_data_ref::<ErrorTable>()?;
    message.contains(&noted.address).then(|| noted.text.clone())
}

/// `file:line` of the Lua line running at stack `level` (1: the caller of
/// the running Rust function), or `None` for a C function or no frame.
pub(crate) fn line_at(lua: &mlua::Lua, level: usize) -> Option<String> {
    lua.inspect_stack(level, |frame| {
        let line = frame.current_line()?;
        Some(format!("{}:{line}", frame.source().short_src.as_deref()?))
    })
    .flatten()
}

/// An error as Lua's `luaL_error` words it: the calling script's
/// `file:line: ` first (nothing when a C function called).
pub(crate) fn lua_error(lua: &mlua::Lua, message: impl std::fmt::Display) -> mlua::Error {
    match line_at(lua, 1) {
        Some(place) => mlua::Error::runtime(format!("{place}: {message}")),
        None => mlua::Error::runtime(message.to_string()),
    }
}

/// What the last refused `loadfile` said, and the place (`file:line: `)
/// of the call.
#[derive(Debug, Clone)]
struct Refusal {
    place: String,
    text: String,
}

/// Remembers a refused `loadfile` (see [`refusal_note`]).
pub(crate) fn note_refusal(lua: &mlua::Lua, place: String, text: String) {
    lua.set_app_data(Refusal { place, text });
}

/// The note for an error raised at the line of a refused `loadfile`
/// (`loadfile("../x.lua")()`: "attempt to call a nil value"): what
/// `loadfile` returned.
pub(crate) fn refusal_note(lua: &mlua::Lua, message: &str) -> Option<String> {
    let refusal = lua.app_data_ref::<Refusal>()?;
    (message.starts_with(&refusal.place) && message.contains("attempt to call a nil value"))
        .then(|| refusal.text.clone())
}
