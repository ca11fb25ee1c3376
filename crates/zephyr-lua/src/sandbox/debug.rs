//! The safe profile's `debug` library: `debug.traceback` and a read-only
//! `debug.getinfo`, built on mlua's safe stack inspection. Nothing here can
//! read or change a local, an upvalue or a metatable, or set a hook.

use mlua::{Function, Lua, MultiValue, Table, Value};

use super::SANDBOX_SOURCE;

/// The `getinfo` options the safe profile answers (`f`, `L` and `r` hand out
/// functions and line tables, and are left out).
const SAFE_OPTIONS: &str = "Slntu";

/// Builds the `debug` table of the safe profile.
pub(crate) fn library(lua: &Lua) -> mlua::Result<Table> {
    let debug = lua.create_table()?;
    debug.set("traceback", lua.create_function(traceback)?)?;
    debug.set("getinfo", lua.create_function(getinfo)?)?;
    Ok(debug)
}

/// `debug.traceback([thread,] [message [, level]])`, as Lua's: a message
/// that is neither a string nor nil comes back untouched. The sandbox's own
/// frames (its `xpcall` message handler) are left out.
fn traceback(lua: &Lua, args: MultiValue) -> mlua::Result<Value> {
    let mut args = args.into_iter().peekable();
    let thread = match args.peek() {
        Some(Value::Thread(_)) => args.next(),
        _ => None,
    };
    let message = args.next().unwrap_or(Value::Nil);
    let text = match &message {
        Value::Nil => None,
        Value::String(s) => Some(s.to_string_lossy()),
        Value::Integer(_) | Value::Number(_) => Some(message.to_string()?),
        _ => return Ok(message),
    };
    if thread.is_some() {
        // mlua inspects only the running coroutine's stack.
        let mut out = text.map(|t| format!("{t}\n")).unwrap_or_default();
        out.push_str(
            "stack traceback:\n\t(another coroutine's stack is not shown in the safe profile)",
        );
        return Ok(Value::String(lua.create_string(out)?));
    }
    let level = match args.next() {
        None | Some(Value::Nil) => 1,
        Some(Value::Integer(n)) => usize::try_from(n).unwrap_or(0),
        Some(Value::Number(n)) if n.fract() == 0.0 => n.max(0.0) as usize,
        Some(other) => {
            return Err(mlua::Error::runtime(format!(
                "bad argument #2 to 'traceback' (number expected, got {})",
                other.type_name()
            )));
        }
    };
    let full = lua.traceback(text.as_deref(), level)?;
    let full = full.to_string_lossy();
    let own = format!("\t{}:", &SANDBOX_SOURCE[1..]);
    let kept: Vec<&str> = full
        .lines()
        .filter(|line| !line.starts_with(&own))
        .collect();
    Ok(Value::String(lua.create_string(kept.join("\n"))?))
}

/// `debug.getinfo([thread,] f [, what])`: `f` a function or a stack level
/// (0 is `getinfo` itself); `what` among `S`, `l`, `n`, `t`, `u` (default:
/// all of them). Returns nil for a level past the stack's end.
fn getinfo(lua: &Lua, args: MultiValue) -> mlua::Result<Value> {
    let mut args = args.into_iter().peekable();
    if let Some(Value::Thread(_)) = args.peek() {
        return Err(mlua::Error::runtime(
            "debug.getinfo: another coroutine's stack is not available in the safe profile",
        ));
    }
    let target = args.next().unwrap_or(Value::Nil);
    let what = match args.next() {
        None | Some(Value::Nil) => SAFE_OPTIONS.to_owned(),
        Some(Value::String(s)) => s.to_str()?.to_owned(),
        Some(other) => {
            return Err(mlua::Error::runtime(format!(
                "bad argument #2 to 'getinfo' (string expected, got {})",
                other.type_name()
            )));
        }
    };
    let what = what.strip_prefix('>').unwrap_or(&what);
    for option in what.chars() {
        if !"SlntufLr".contains(option) {
            return Err(mlua::Error::runtime(
                "bad argument #2 to 'getinfo' (invalid option)",
            ));
        }
        if !SAFE_OPTIONS.contains(option) {
            return Err(mlua::Error::runtime(format!(
                "debug.getinfo: option '{option}' is not available in the safe profile \
                 (available: {SAFE_OPTIONS})"
            )));
        }
    }
    let info = Info::wanted(what);
    match target {
        Value::Function(f) => info.of_function(lua, &f).map(Value::Table),
        Value::Integer(level) => info.of_level(lua, level),
        Value::Number(level) if level.fract() == 0.0 => info.of_level(lua, level as i64),
        other => Err(mlua::Error::runtime(format!(
            "bad argument #1 to 'getinfo' (function or level expected, got {})",
            other.type_name()
        ))),
    }
}

struct Info {
    source: bool,
    line: bool,
    name: bool,
    tail: bool,
    upvalues: bool,
}

impl Info {
    fn wanted(what: &str) -> Self {
        Info {
            source: what.contains('S'),
            line: what.contains('l'),
            name: what.contains('n'),
            tail: what.contains('t'),
            upvalues: what.contains('u'),
        }
    }

    fn of_function(&self, lua: &Lua, f: &Function) -> mlua::Result<Table> {
        let info = f.info();
        let t = lua.create_table()?;
        if self.source {
            t.set("source", info.source.as_deref())?;
            t.set("short_src", info.short_src.as_deref())?;
            t.set("what", info.what)?;
            t.set("linedefined", line_or_minus(info.line_defined))?;
            t.set("lastlinedefined", line_or_minus(info.last_line_defined))?;
        }
        if self.line {
            t.set("currentline", -1)?;
        }
        if self.tail {
            t.set("istailcall", false)?;
        }
        if self.upvalues {
            t.set("nups", info.num_upvalues)?;
            t.set("nparams", info.num_params)?;
            t.set("isvararg", info.is_vararg)?;
        }
        Ok(t)
    }

    fn of_level(&self, lua: &Lua, level: i64) -> mlua::Result<Value> {
        let Ok(level) = usize::try_from(level) else {
            return Ok(Value::Nil);
        };
        let found = lua.inspect_stack(level, |frame| -> mlua::Result<Table> {
            let t = lua.create_table()?;
            if self.source {
                let source = frame.source();
                t.set("source", source.source.as_deref())?;
                t.set("short_src", source.short_src.as_deref())?;
                t.set("what", source.what)?;
                t.set("linedefined", line_or_minus(source.line_defined))?;
                t.set("lastlinedefined", line_or_minus(source.last_line_defined))?;
            }
            if self.line {
                t.set("currentline", line_or_minus(frame.current_line()))?;
            }
            if self.name {
                let names = frame.names();
                t.set("name", names.name.as_deref())?;
                t.set("namewhat", names.name_what.unwrap_or(""))?;
            }
            if self.tail {
                t.set("istailcall", frame.is_tail_call())?;
            }
            if self.upvalues {
                let stack = frame.stack();
                t.set("nups", stack.num_upvalues)?;
                t.set("nparams", stack.num_params)?;
                t.set("isvararg", stack.is_vararg)?;
            }
            Ok(t)
        });
        match found {
            Some(table) => table.map(Value::Table),
            None => Ok(Value::Nil),
        }
    }
}

fn line_or_minus(line: Option<usize>) -> i64 {
    line.and_then(|l| i64::try_from(l).ok()).unwrap_or(-1)
}
