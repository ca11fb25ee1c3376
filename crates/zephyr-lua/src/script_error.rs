//! [`ScriptError`]: how a script failed, with its chunk, line and
//! traceback, and the messages scripts see and raise as Lua words them.

use std::fmt;
use std::sync::Arc;

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

/// Rewrites an argument error that mlua raised while converting a typed
/// function's arguments into the words of the function's declaration. A
/// state's builder installs one ([`set_error_describer`]); `script_error`
/// knows no declarations.
pub type ErrorDescriber = Arc<dyn Fn(&mlua::Error, Option<&str>) -> Option<String> + Send + Sync>;

/// The describer a state's errors go through.
#[derive(Clone)]
struct Describer(ErrorDescriber);

/// Installs `describe` for the errors of `lua`'s executions and of the
/// messages scripts catch (see [`ErrorDescriber`]).
pub fn set_error_describer(lua: &mlua::Lua, describe: ErrorDescriber) {
    lua.set_app_data(Describer(describe));
}

fn describer_of(lua: &mlua::Lua) -> Option<ErrorDescriber> {
    lua.app_data_ref::<Describer>().map(|d| d.0.clone())
}

impl ScriptError {
    /// Builds a script error from an mlua error raised while running `chunk`.
    pub fn from_lua(err: &mlua::Error, chunk: &str) -> Self {
        Self::described(err, chunk, None)
    }

    /// [`from_lua`](Self::from_lua) with the describer `lua` has installed
    /// (see [`set_error_describer`]).
    pub fn from_lua_in(lua: &mlua::Lua, err: &mlua::Error, chunk: &str) -> Self {
        Self::described(err, chunk, describer_of(lua))
    }

    fn described(err: &mlua::Error, chunk: &str, describe: Option<ErrorDescriber>) -> Self {
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
                    let text = describe
                        .as_ref()
                        .and_then(|describe| describe(other, traceback.as_deref()))
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
    pub fn panic(chunk: &str, payload: &(dyn std::any::Any + Send)) -> Self {
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
pub fn root_message(lua: &mlua::Lua, err: &mlua::Error) -> String {
    let (cause, traceback) = root_cause(err);
    let text = match cause {
        mlua::Error::RuntimeError(m) | mlua::Error::MemoryError(m) => m.clone(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => describer_of(lua)
            .and_then(|describe| describe(other, traceback))
            .unwrap_or_else(|| other.to_string()),
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
pub fn line_at(lua: &mlua::Lua, level: usize) -> Option<String> {
    lua.inspect_stack(level, |frame| {
        let line = frame.current_line()?;
        Some(format!("{}:{line}", frame.source().short_src.as_deref()?))
    })
    .flatten()
}

/// An error as Lua's `luaL_error` words it: the calling script's
/// `file:line: ` first (nothing when a C function called).
pub fn lua_error(lua: &mlua::Lua, message: impl std::fmt::Display) -> mlua::Error {
    match line_at(lua, 1) {
        Some(place) => mlua::Error::runtime(format!("{place}: {message}")),
        None => mlua::Error::runtime(message.to_string()),
    }
}

/// How the script called a function: the name its call wrote (`rep` in
/// `string.rep(...)`) and whether as a method (`s:rep(...)`); nothing
/// through `pcall` or a tail call.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallSite {
    name: Option<String>,
    method: bool,
}

impl CallSite {
    pub(crate) fn of(frame: &mlua::debug::Debug) -> Self {
        let names = frame.names();
        CallSite {
            name: names.name.map(|n| n.into_owned()),
            method: names.name_what == Some("method"),
        }
    }

    /// An argument error (`bad argument #N to 'F' (...)`) worded as Lua's
    /// `luaL_argerror` words it for this call: the name the call used,
    /// and for a method the argument counted without `self`.
    pub(crate) fn reword(&self, message: &str) -> String {
        let Some(rest) = message.strip_prefix("bad argument #") else {
            return message.to_owned();
        };
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let Ok(mut arg) = rest[..digits].parse::<usize>() else {
            return message.to_owned();
        };
        let Some(after) = rest[digits..].strip_prefix(" to '") else {
            return message.to_owned();
        };
        let Some(close) = after.find('\'') else {
            return message.to_owned();
        };
        let (qualified, tail) = (&after[..close], &after[close + 1..]);
        let name = self.name.as_deref().unwrap_or(qualified);
        if self.method {
            arg -= 1;
            if arg == 0 {
                let extra = tail
                    .trim_start()
                    .trim_start_matches('(')
                    .trim_end_matches(')');
                return format!("calling '{name}' on bad self ({extra})");
            }
        }
        format!("bad argument #{arg} to '{name}'{tail}")
    }
}

/// `luaL_argerror` for a library function written in Rust and called by
/// the script: `bad argument #arg to 'name' (extra)`, named as the call
/// wrote it (`qualified`, such as `io.write`, through `pcall`), at the
/// caller's line. `arg` counts `self`.
pub(crate) fn arg_error(lua: &mlua::Lua, arg: usize, qualified: &str, extra: &str) -> mlua::Error {
    let site = lua.inspect_stack(0, CallSite::of).unwrap_or_default();
    let message = site.reword(&format!("bad argument #{arg} to '{qualified}' ({extra})"));
    lua_error(lua, message)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_parsed_only_after_the_chunk_name() {
        assert_eq!(parse_line("init.lua:12: boom", "init.lua"), Some(12));
        assert_eq!(parse_line("init.lua: out of memory", "init.lua"), None);
        assert_eq!(parse_line("other:3: x", "init.lua"), None);
    }
}
