//! What a stopped thread shows: its frames, their scopes and variables, and
//! expressions evaluated in a frame. The reading is done by `inspect.lua`,
//! whose functions hold Lua's debug library and are held by Rust alone.

use std::sync::atomic::Ordering;

use mlua::{Function, Lua, MultiValue, Table, Value};

use super::StopReason;

/// How many instructions an evaluated expression (a watch, a condition, a
/// logpoint's `{expression}`) may run before it is stopped.
pub(crate) const EVALUATION_BUDGET: u64 = 10_000_000;

/// The helpers of `inspect.lua` in one state.
pub(crate) struct Inspector {
    helpers: Table,
}

impl Inspector {
    pub(crate) fn new(lua: &Lua) -> mlua::Result<Self> {
        let debug = crate::trusted::debug_library(lua)?;
        let compile = lua.create_function(
            |lua, (code, name, env): (mlua::LuaString, String, Table)| match lua
                .load(code.as_bytes().to_vec())
                .set_name(format!("={name}"))
                .set_mode(mlua::chunk::ChunkMode::Text)
                .set_environment(env)
                .into_function()
            {
                Ok(f) => Ok((Some(f), None)),
                Err(e) => Ok((None, Some(crate::script_error::root_message(lua, &e)))),
            },
        )?;
        let run = lua.create_function(|lua, f: Function| {
            let thread = lua.create_thread(f)?;
            let mut out = MultiValue::new();
            match thread.resume::<MultiValue>(()) {
                Ok(values) => {
                    out.push_back(Value::Boolean(true));
                    out.extend(values);
                }
                Err(e) => {
                    out.push_back(Value::Boolean(false));
                    let message = crate::script_error::root_message(lua, &e);
                    out.push_back(Value::String(lua.create_string(message)?));
                }
            }
            Ok(out)
        })?;
        let env = lua.create_table()?;
        let globals = lua.globals();
        for name in ["next", "select", "setmetatable", "type", "table"] {
            env.raw_set(name, globals.raw_get::<Value>(name)?)?;
        }
        let helpers: Table = lua
            .load(include_str!("inspect.lua"))
            .set_name("=zephyr.debugger")
            .set_environment(env)
            .call((
                debug.get::<Function>("getinfo")?,
                debug.get::<Function>("getlocal")?,
                debug.get::<Function>("setlocal")?,
                debug.get::<Function>("getupvalue")?,
                debug.get::<Function>("setupvalue")?,
                compile,
                run,
                lua.globals(),
            ))?;
        Ok(Inspector { helpers })
    }

    fn helper(&self, name: &str) -> mlua::Result<Function> {
        self.helpers.raw_get(name)
    }

    /// Evaluates `code` in frame `frame`: whether it ran, and its values or
    /// message.
    fn evaluate(&self, frame: usize, code: &str) -> mlua::Result<Result<MultiValue, String>> {
        let values: MultiValue = self.helper("evaluate")?.call((frame, code, "evaluate"))?;
        let mut values = values.into_iter();
        match values.next() {
            Some(Value::Boolean(true)) => Ok(Ok(values.collect())),
            _ => Ok(Err(values
                .next()
                .map(|v| plain(&v))
                .unwrap_or_else(|| "evaluation failed".into()))),
        }
    }

    /// A breakpoint's condition, in the stopped function's frame.
    pub(crate) fn condition(&self, _lua: &Lua, condition: &str) -> bool {
        matches!(
            self.evaluate(0, condition),
            Ok(Ok(values)) if values.front().is_some_and(|v| !matches!(v, Value::Nil | Value::Boolean(false)))
        )
    }

    /// A logpoint's message with each `{expression}` replaced by its value
    /// (`{{` and `}}` are braces).
    pub(crate) fn interpolate(&self, _lua: &Lua, message: &str) -> String {
        let mut out = String::new();
        let mut rest = message;
        while let Some(at) = rest.find(['{', '}']) {
            out.push_str(&rest[..at]);
            let brace = &rest[at..];
            if brace.starts_with("{{") || brace.starts_with("}}") {
                out.push_str(&brace[..1]);
                rest = &brace[2..];
                continue;
            }
            if let Some(after) = brace.strip_prefix('}') {
                out.push('}');
                rest = after;
                continue;
            }
            let Some(end) = brace.find('}') else {
                out.push_str(brace);
                rest = "";
                break;
            };
            let expression = &brace[1..end];
            let text = match self.evaluate(0, expression) {
                Ok(Ok(values)) => values.iter().map(plain).collect::<Vec<_>>().join(", "),
                Ok(Err(message)) => format!("<{message}>"),
                Err(e) => format!("<{e}>"),
            };
            out.push_str(if text.is_empty() { "nil" } else { &text });
            rest = &brace[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// One frame of a stopped thread's stack, innermost first.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The function's name: as its caller named it, or as its script
    /// does (a callback the engine calls), `main chunk`, or `None`.
    pub name: Option<String>,
    /// Its chunk's name (`scripts/enemy.lua`); `[C]` for a C function.
    pub source: String,
    /// The line it is at; `None` for a C function.
    pub line: Option<u32>,
    /// The line its definition starts on; `None` for a main chunk or a C
    /// function.
    pub defined: Option<u32>,
    /// Whether it is a C (or Rust) function.
    pub native: bool,
}

/// A scope of a frame: `Locals`, `Upvalues` or `Globals`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    /// Its name.
    pub name: &'static str,
    /// Pass to [`Stop::variables`] for its variables.
    pub reference: u64,
    /// How many variables it has.
    pub count: usize,
}

/// A variable, a table's field, or an evaluated value.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// Its name (`x`, `[1]`, `["a key"]`, `(metatable)`).
    pub name: String,
    /// Its value as Lua shows it: `42`, `0.5`, `"text"`, `true`, `nil`,
    /// `table: 0x...`, `function: 0x...`.
    pub value: String,
    /// Its Lua type (`number`, `string`, `table`, ...).
    pub kind: &'static str,
    /// Non-zero when it has fields: pass to [`Stop::variables`].
    pub reference: u64,
}

/// What [`Stop::variables`] can list.
enum Held {
    /// A frame's `Locals` or `Upvalues` (the frame, as [`Stop::frames`]
    /// counts them).
    List(usize, Vec<(String, Value)>),
    Value(Value),
}

/// A stopped thread, for the [`Controller`](super::Controller) to inspect.
/// References it hands out are good until the thread goes on.
pub struct Stop<'a> {
    lua: &'a Lua,
    inspector: &'a Inspector,
    reason: StopReason,
    held: Vec<Held>,
    /// Frames on top that are the runtime's (C functions, `=zephyr.*`
    /// chunks: where `error` raises) and not shown: frame 0 is the
    /// script's.
    skip: usize,
}

impl std::fmt::Debug for Stop<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stop")
            .field("reason", &self.reason)
            .field("held", &self.held.len())
            .finish()
    }
}

impl<'a> Stop<'a> {
    pub(crate) fn new(lua: &'a Lua, inspector: &'a Inspector, reason: StopReason) -> Self {
        let mut stop = Stop {
            lua,
            inspector,
            reason,
            held: Vec::new(),
            skip: 0,
        };
        let frames = stop.all_frames();
        let runtime = |f: &Frame| f.native || f.source.starts_with("zephyr.");
        if frames.iter().any(|f| !runtime(f)) {
            stop.skip = frames.iter().take_while(|f| runtime(f)).count();
        }
        stop
    }

    /// Why the thread stopped.
    pub fn reason(&self) -> &StopReason {
        &self.reason
    }

    /// The stack, innermost frame first (from the script's frame: the C
    /// functions and the runtime's Lua an error was raised through are
    /// left out on top).
    pub fn frames(&mut self) -> Vec<Frame> {
        let mut frames = self.all_frames();
        frames.drain(..self.skip.min(frames.len()));
        frames
    }

    fn all_frames(&self) -> Vec<Frame> {
        let Ok(frames) = self
            .inspector
            .helper("frames")
            .and_then(|f| f.call::<Table>(()))
        else {
            return Vec::new();
        };
        frames
            .sequence_values::<Table>()
            .flatten()
            .map(|frame| {
                let what: String = frame.get("what").unwrap_or_default();
                let line: Option<i64> = frame.get("line").ok().flatten();
                let defined: Option<i64> = frame.get("defined").ok().flatten();
                Frame {
                    name: frame.get("name").ok().flatten(),
                    source: frame.get("source").unwrap_or_default(),
                    line: line.filter(|l| *l > 0).map(|l| l as u32),
                    defined: defined.filter(|l| *l > 0).map(|l| l as u32),
                    native: what == "C",
                }
            })
            .collect()
    }

    fn hold(&mut self, held: Held) -> u64 {
        self.held.push(held);
        self.held.len() as u64
    }

    fn list(&self, helper: &str, frame: usize) -> Vec<(String, Value)> {
        let Ok((names, values, count)) = self
            .inspector
            .helper(helper)
            .and_then(|f| f.call::<(Table, Table, usize)>(frame + self.skip))
        else {
            return Vec::new();
        };
        (1..=count)
            .map(|i| {
                (
                    names.raw_get::<String>(i).unwrap_or_default(),
                    values.raw_get::<Value>(i).unwrap_or(Value::Nil),
                )
            })
            .collect()
    }

    /// Frame `frame`'s scopes: `Locals` (with varargs as `...1`, `...2`),
    /// `Upvalues`, and `Globals` (the fields its script defined: its
    /// environment's own, not the engine's libraries it falls back to).
    pub fn scopes(&mut self, frame: usize) -> Vec<Scope> {
        let mut scopes = Vec::new();
        for (name, helper) in [("Locals", "locals"), ("Upvalues", "upvalues")] {
            let list = self.list(helper, frame);
            let count = list.len();
            let reference = self.hold(Held::List(frame, list));
            scopes.push(Scope {
                name,
                reference,
                count,
            });
        }
        let globals = self
            .inspector
            .helper("globals")
            .and_then(|f| f.call::<Value>(frame + self.skip));
        if let Ok(Value::Table(env)) = globals {
            let count = env.pairs::<Value, Value>().count();
            let reference = self.hold(Held::Value(Value::Table(env)));
            scopes.push(Scope {
                name: "Globals",
                reference,
                count,
            });
        }
        scopes
    }

    /// The variables under `reference` (a scope's, or a table's fields,
    /// keys in order: integers, then strings, then the rest; its metatable
    /// last, as `(metatable)`).
    pub fn variables(&mut self, reference: u64) -> Vec<Variable> {
        let entries = match reference
            .checked_sub(1)
            .and_then(|i| self.held.get(i as usize))
        {
            Some(Held::List(_, list)) => list.clone(),
            Some(Held::Value(Value::Table(table))) => fields(table),
            _ => return Vec::new(),
        };
        entries
            .into_iter()
            .map(|(name, value)| self.variable(name, value))
            .collect()
    }

    fn variable(&mut self, name: String, value: Value) -> Variable {
        // Whether it has fields, without listing them.
        let expandable = matches!(&value, Value::Table(t)
            if t.metatable().is_some() || t.pairs::<Value, Value>().next().is_some());
        Variable {
            name,
            value: shown(self.lua, &value),
            kind: value.type_name(),
            reference: if expandable {
                self.hold(Held::Value(value))
            } else {
                0
            },
        }
    }

    /// Evaluates `expression` in frame `frame` (its locals, upvalues, then
    /// globals; an assignment changes the variable). `zephyr.*` calls work.
    /// The first value, or the message of what went wrong.
    pub fn evaluate(&mut self, frame: usize, expression: &str) -> Result<Variable, String> {
        match self.inspector.evaluate(frame + self.skip, expression) {
            Ok(Ok(values)) => {
                let value = values.into_iter().next().unwrap_or(Value::Nil);
                Ok(self.variable(expression.to_owned(), value))
            }
            Ok(Err(message)) => Err(message),
            Err(e) => Err(crate::script_error::root_message(self.lua, &e)),
        }
    }

    /// Sets the variable `name` under `reference` (a frame's local or
    /// upvalue, a global, a table's field: `x`, `[2]`) to the value of
    /// `expression`, evaluated in that frame (frame 0 for a table's
    /// field); the variable as it now is.
    pub fn set_variable(
        &mut self,
        reference: u64,
        name: &str,
        expression: &str,
    ) -> Result<Variable, String> {
        let held = reference
            .checked_sub(1)
            .and_then(|i| self.held.get(i as usize));
        match held {
            Some(Held::List(frame, _)) => {
                let frame = *frame;
                if !is_identifier(name) {
                    return Err(format!("{name}: not a variable name"));
                }
                self.evaluate(frame, &format!("{name} = ({expression})"))?;
                self.evaluate(frame, name).map(|mut v| {
                    v.name = name.to_owned();
                    v
                })
            }
            Some(Held::Value(Value::Table(table))) => {
                let table = table.clone();
                let key = if is_identifier(name) {
                    Value::String(self.lua.create_string(name).map_err(|e| e.to_string())?)
                } else {
                    match name
                        .strip_prefix('[')
                        .and_then(|n| n.strip_suffix(']'))
                        .and_then(|n| n.parse::<i64>().ok())
                    {
                        Some(index) => Value::Integer(index),
                        None => {
                            return Err(format!(
                                "{name}: only names and [integer] fields can be set"
                            ));
                        }
                    }
                };
                let value = match self.inspector.evaluate(self.skip, expression) {
                    Ok(Ok(values)) => values.into_iter().next().unwrap_or(Value::Nil),
                    Ok(Err(message)) => return Err(message),
                    Err(e) => return Err(crate::script_error::root_message(self.lua, &e)),
                };
                table
                    .raw_set(key, value.clone())
                    .map_err(|e| e.to_string())?;
                Ok(self.variable(name.to_owned(), value))
            }
            _ => Err("no such variables".to_owned()),
        }
    }

    /// The value of the local `name` in frame `frame` (the last one of that
    /// name), copied out.
    pub fn local(&self, frame: usize, name: &str) -> Option<crate::ScriptValue> {
        self.list("locals", frame)
            .into_iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| crate::ScriptValue::from_lua(&v))
    }

    /// The name of the thread that stopped (`main`, a worker's name).
    pub fn thread_name(&self) -> String {
        std::thread::current()
            .name()
            .unwrap_or("a worker")
            .to_owned()
    }
}

/// A table's fields, raw (no `__pairs`, no `__index`), sorted; its
/// metatable last.
fn fields(table: &Table) -> Vec<(String, Value)> {
    let mut integers = Vec::new();
    let mut strings = Vec::new();
    let mut others = Vec::new();
    for (key, value) in table.pairs::<Value, Value>().flatten() {
        match &key {
            Value::Integer(i) => integers.push((*i, value)),
            Value::String(s) => {
                let text = s.to_string_lossy();
                let name = if is_identifier(&text) {
                    text
                } else {
                    format!("[{}]", quoted(&s.as_bytes()))
                };
                strings.push((name, value));
            }
            other => others.push((format!("[{}]", plain(other)), value)),
        }
    }
    integers.sort_by_key(|(i, _)| *i);
    strings.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<(String, Value)> = integers
        .into_iter()
        .map(|(i, v)| (format!("[{i}]"), v))
        .collect();
    out.extend(strings);
    out.extend(others);
    if let Some(meta) = table.metatable() {
        out.push(("(metatable)".to_owned(), Value::Table(meta)));
    }
    out
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A string as a Lua literal: `"text"`, control bytes and bytes that are
/// not UTF-8 escaped.
fn quoted(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    out.push_str(&format!("\\{}", c as u32))
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\{byte}"));
        }
    }
    out.push('"');
    out
}

/// A value as `tostring` shows it without metamethods (strings bare).
pub(crate) fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.to_string_lossy(),
        other => shown_raw(other),
    }
}

/// A value as the debugger shows it: strings quoted, the rest as Lua's
/// `tostring` without metamethods.
fn shown(_lua: &Lua, value: &Value) -> String {
    match value {
        Value::String(s) => quoted(&s.as_bytes()),
        other => shown_raw(other),
    }
}

fn shown_raw(value: &Value) -> String {
    match value {
        Value::Nil => "nil".into(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Number(n) => crate::value::lua_number_text(*n),
        Value::String(s) => s.to_string_lossy(),
        Value::LightUserData(p) => format!("userdata: {:p}", p.0),
        other => format!("{}: {:p}", other.type_name(), other.to_pointer()),
    }
}

/// The evaluation's budget, charged by the hook's count events.
pub(crate) fn charge_evaluation(steps: &std::sync::atomic::AtomicU64) -> mlua::Result<()> {
    let used = steps.fetch_add(u64::from(crate::budget::HOOK_STEP), Ordering::Relaxed);
    if used >= EVALUATION_BUDGET {
        return Err(mlua::Error::runtime(format!(
            "the expression ran {EVALUATION_BUDGET} instructions and was stopped"
        )));
    }
    Ok(())
}
