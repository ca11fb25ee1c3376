//! `string.find`, `string.match`, `string.gmatch` and `string.gsub` for the
//! safe profile: every step of a match counts against the instruction
//! budget, which stock Lua's C matcher never does (its instruction hook
//! cannot fire inside a C function, so one pattern could stall a worker for
//! minutes). A match that runs out of budget stops the execution with an
//! error naming the script's line and the function, like the hook would.
//!
//! Two implementations, one behaviour:
//! - **Lua's own C functions, counted.** The Lua Zephyr builds
//!   (`vendor/lua-src`, its fourth change) has counted variants of the four
//!   functions that charge their matching steps to the count hook, as the
//!   VM charges instructions; its `luaopen_string` leaves them in the
//!   registry. They are stock Lua's code, so the safe profile's patterns
//!   run at C speed with stock's exact results and messages.
//! - **Zephyr's own matcher** ([`matcher`]), in Rust, for a host whose Lua
//!   lacks that patch (a workspace that builds the published `lua-src`):
//!   the same results, the same errors but one ("got nil" for an argument
//!   left out), slower per call.

mod matcher;

use std::sync::Arc;

use mlua::{BString, Either, Function, Lua, LuaString, MultiValue, Table, Value};

use crate::budget::ExecControl;
use crate::script_error::lua_error;
use matcher::{Captured, Matcher, Stop, no_specials, start_position};

/// The registry field where the patched `luaopen_string` leaves its counted
/// pattern functions.
const COUNTED_KEY: &str = "zephyr.counted_string";

/// The four function names, as both implementations spell them.
const FUNCTIONS: [&str; 4] = ["find", "match", "gmatch", "gsub"];

/// Replaces the pattern functions of the state's `string` table (the one
/// string values reach through their metatable) with ones whose steps go
/// to `control`'s budget: the counted C functions when the Lua built has
/// them, else Zephyr's matcher ([`install_own`]).
pub(crate) fn install(lua: &Lua, string: &Table, control: &Arc<ExecControl>) -> mlua::Result<()> {
    match lua.named_registry_value::<Option<Table>>(COUNTED_KEY)? {
        Some(counted) => {
            for name in FUNCTIONS {
                string.raw_set(name, counted.raw_get::<Function>(name)?)?;
            }
            Ok(())
        }
        None => install_own(lua, string, control),
    }
}

/// Installs Zephyr's own matcher ([`install`] when Lua has no counted
/// functions; tests compare both).
///
/// The arguments arrive typed rather than as a [`MultiValue`]: a Lua string
/// held as a reference costs mlua a slot in its reference thread, a shared
/// count and a lock to read, about as much as a plain `find` itself, so the
/// pattern (and `gmatch`'s subject, which it scans whole) are copied
/// straight off the stack ([`Text`]), and only the subjects of `find`,
/// `match` and `gsub` stay references (a lexer calls `find` at every token
/// of one large string: a copy would make it quadratic). The one cost of
/// typed arguments: an absent argument reads as `nil`, so "got no value"
/// becomes "got nil".
pub(crate) fn install_own(
    lua: &Lua,
    string: &Table,
    control: &Arc<ExecControl>,
) -> mlua::Result<()> {
    for (name, find) in [("find", true), ("match", false)] {
        let control = control.clone();
        string.set(
            name,
            lua.create_function(move |lua, args: (Value, Text, Value, Value)| {
                find_aux(lua, &control, args, find)
            })?,
        )?;
    }
    let gmatch_control = control.clone();
    string.set(
        "gmatch",
        lua.create_function(move |lua, args: (Text, Text, Value)| {
            gmatch(lua, &gmatch_control, args)
        })?,
    )?;
    let control = control.clone();
    string.set(
        "gsub",
        lua.create_function(move |lua, args: (Value, Text, Text, Value)| {
            gsub(lua, &control, args)
        })?,
    )?;
    Ok(())
}

/// A string argument read straight off the stack (a number is turned into
/// its string, as `luaL_checklstring` does), or what came instead.
type Text = Either<BString, Value>;

/// `luaL_argerror` for `string.<function>`, named as the call wrote it.
fn arg_error(lua: &Lua, n: usize, function: &str, message: &str) -> mlua::Error {
    crate::script_error::arg_error(lua, n, &format!("string.{function}"), message)
}

fn string_expected(lua: &Lua, n: usize, function: &str, got: &Value) -> mlua::Error {
    arg_error(
        lua,
        n,
        function,
        &format!("string expected, got {}", got.type_name()),
    )
}

/// `luaL_checklstring` of a copied argument.
fn check_text(lua: &Lua, text: Text, n: usize, function: &str) -> mlua::Result<BString> {
    match text {
        Either::Left(bytes) => Ok(bytes),
        Either::Right(other) => Err(string_expected(lua, n, function, &other)),
    }
}

/// `luaL_checklstring` of an argument kept as a reference.
fn check_string(lua: &Lua, value: Value, n: usize, function: &str) -> mlua::Result<LuaString> {
    match value {
        Value::String(s) => Ok(s),
        v @ (Value::Integer(_) | Value::Number(_)) => lua
            .coerce_string(v)?
            .ok_or_else(|| arg_error(lua, n, function, "string expected")),
        other => Err(string_expected(lua, n, function, &other)),
    }
}

/// `luaL_optinteger`.
fn opt_integer(lua: &Lua, value: Value, n: usize, function: &str) -> mlua::Result<Option<i64>> {
    match value {
        Value::Nil => Ok(None),
        Value::Integer(i) => Ok(Some(i)),
        v => match lua.coerce_integer(v.clone())? {
            Some(i) => Ok(Some(i)),
            None => Err(arg_error(
                lua,
                n,
                function,
                &if matches!(v, Value::Number(_)) || lua.coerce_number(v.clone())?.is_some() {
                    "number has no integer representation".to_owned()
                } else {
                    format!("number expected, got {}", v.type_name())
                },
            )),
        },
    }
}

fn truthy(value: &Value) -> bool {
    !matches!(value, Value::Nil | Value::Boolean(false))
}

/// The meter of one call: steps go to the execution's budget.
fn meter<'l>(
    lua: &'l Lua,
    control: &'l ExecControl,
    function: &'static str,
) -> impl FnMut(u64) -> mlua::Result<()> + 'l {
    move |steps| control.charge(lua, steps, function)
}

fn stopped(lua: &Lua, stop: Stop<mlua::Error>) -> mlua::Error {
    match stop {
        Stop::Pattern(message) => lua_error(lua, message),
        Stop::Meter(error) => error,
    }
}

fn captured<E, M: FnMut(u64) -> Result<(), E>>(
    lua: &Lua,
    m: &Matcher<'_, E, M>,
    i: usize,
    s: usize,
    e: usize,
) -> mlua::Result<Value> {
    match m
        .capture(i, s, e)
        .map_err(|message| lua_error(lua, message))?
    {
        Captured::Text(a, b) => Ok(Value::String(lua.create_string(&m.src[a..b])?)),
        Captured::Position(at) => Ok(Value::Integer(at as i64)),
    }
}

/// Lua's `push_captures`: the captures of a match of `s..e` (with none,
/// the whole match when `whole`), appended to the values already in `out`.
fn push_captures<E, M: FnMut(u64) -> Result<(), E>>(
    lua: &Lua,
    m: &Matcher<'_, E, M>,
    whole: Option<(usize, usize)>,
    mut out: Vec<Value>,
) -> mlua::Result<MultiValue> {
    let (s, e) = whole.unwrap_or((0, 0));
    let count = m.capture_count(whole.is_some());
    out.reserve_exact(count);
    for i in 0..count {
        out.push(captured(lua, m, i, s, e)?);
    }
    Ok(MultiValue::from_vec(out))
}

fn captures<E, M: FnMut(u64) -> Result<(), E>>(
    lua: &Lua,
    m: &Matcher<'_, E, M>,
    whole: Option<(usize, usize)>,
) -> mlua::Result<MultiValue> {
    push_captures(lua, m, whole, Vec::new())
}

/// `find`'s and `match`'s one-value answer: no match.
fn no_match() -> MultiValue {
    MultiValue::from_vec(vec![Value::Nil])
}

/// `string.find` and `string.match`: Lua's `str_find_aux`.
fn find_aux(
    lua: &Lua,
    control: &ExecControl,
    (subject, pattern, init, plain): (Value, Text, Value, Value),
    find: bool,
) -> mlua::Result<MultiValue> {
    let (name, full) = if find {
        ("find", "string.find")
    } else {
        ("match", "string.match")
    };
    let subject = check_string(lua, subject, 1, name)?;
    let p = check_text(lua, pattern, 2, name)?;
    let s = subject.as_bytes();
    let init = start_position(opt_integer(lua, init, 3, name)?.unwrap_or(1), s.len()) - 1;
    if init > s.len() {
        return Ok(no_match());
    }
    if find && (truthy(&plain) || no_specials(&p)) {
        let found = memchr::memmem::find(&s[init..], &p);
        // A step per 64 bytes scanned, as the counted C function charges.
        let scanned = found.map_or(s.len() - init, |at| at + p.len());
        if scanned >= 64 {
            control.charge(lua, (scanned >> 6) as u64, full)?;
        }
        return Ok(match found {
            Some(at) => MultiValue::from_vec(vec![
                Value::Integer((init + at + 1) as i64),
                Value::Integer((init + at + p.len()) as i64),
            ]),
            None => no_match(),
        });
    }
    let anchor = p.first() == Some(&b'^');
    let pat = if anchor { &p[1..] } else { &p[..] };
    let mut m = Matcher::new(&s, pat, meter(lua, control, full));
    let mut s1 = init;
    loop {
        m.reset();
        if let Some(e) = m.do_match(s1, 0).map_err(|stop| stopped(lua, stop))? {
            m.flush()?;
            return if find {
                let positions = vec![Value::Integer((s1 + 1) as i64), Value::Integer(e as i64)];
                push_captures(lua, &m, None, positions)
            } else {
                captures(lua, &m, Some((s1, e)))
            };
        }
        if anchor || s1 >= s.len() {
            break;
        }
        s1 += 1;
    }
    m.flush()?;
    Ok(no_match())
}

/// `string.gmatch(s, pattern [, init])`: an iterator over the matches (a
/// `^` is an ordinary character here, as in Lua 5.4). The iterator owns a
/// copy of the subject and the pattern: each step reads them without
/// asking mlua.
fn gmatch(
    lua: &Lua,
    control: &Arc<ExecControl>,
    (subject, pattern, init): (Text, Text, Value),
) -> mlua::Result<Function> {
    let subject = check_text(lua, subject, 1, "gmatch")?;
    let pattern = check_text(lua, pattern, 2, "gmatch")?;
    let len = subject.len();
    let init = start_position(opt_integer(lua, init, 3, "gmatch")?.unwrap_or(1), len) - 1;
    let mut src = init.min(len + 1);
    let mut last_match: Option<usize> = None;
    let control = control.clone();
    lua.create_function_mut(move |lua, ()| {
        let (s, p) = (&subject[..], &pattern[..]);
        let mut m = Matcher::new(s, p, meter(lua, &control, "string.gmatch"));
        while src <= s.len() {
            m.reset();
            let end = m.do_match(src, 0).map_err(|stop| stopped(lua, stop))?;
            if let Some(e) = end
                && Some(e) != last_match
            {
                let start = src;
                src = e;
                last_match = Some(e);
                m.flush()?;
                return captures(lua, &m, Some((start, e)));
            }
            src += 1;
        }
        m.flush()?;
        Ok(MultiValue::new())
    })
}

/// What `gsub` replaces matches with.
enum Replacement {
    Text(BString),
    Table(Table),
    Function(Function),
}

/// `string.gsub(s, pattern, repl [, n])`: Lua's `str_gsub`.
fn gsub(
    lua: &Lua,
    control: &ExecControl,
    (subject, pattern, replacement, max): (Value, Text, Text, Value),
) -> mlua::Result<(LuaString, i64)> {
    let subject = check_string(lua, subject, 1, "gsub")?;
    let p = check_text(lua, pattern, 2, "gsub")?;
    let replacement = match replacement {
        Either::Left(text) => Replacement::Text(text),
        Either::Right(Value::Table(t)) => Replacement::Table(t),
        Either::Right(Value::Function(f)) => Replacement::Function(f),
        Either::Right(other) => {
            return Err(arg_error(
                lua,
                3,
                "gsub",
                &format!("string/function/table expected, got {}", other.type_name()),
            ));
        }
    };
    let s = subject.as_bytes();
    let max = opt_integer(lua, max, 4, "gsub")?.unwrap_or(s.len() as i64 + 1);
    let anchor = p.first() == Some(&b'^');
    let pat = if anchor { &p[1..] } else { &p[..] };
    let mut m = Matcher::new(&s, pat, meter(lua, control, "string.gsub"));
    let mut out: Vec<u8> = Vec::new();
    let mut src = 0;
    let mut last_match = None;
    let mut n: i64 = 0;
    let mut changed = false;
    while n < max {
        m.reset();
        let end = m.do_match(src, 0).map_err(|stop| stopped(lua, stop))?;
        match end {
            Some(e) if Some(e) != last_match => {
                n += 1;
                changed |= add_value(lua, &mut m, &mut out, src, e, &replacement)?;
                src = e;
                last_match = Some(e);
            }
            _ if src < s.len() => {
                out.push(s[src]);
                src += 1;
            }
            _ => break,
        }
        if anchor {
            break;
        }
    }
    m.flush()?;
    if !changed {
        return Ok((subject.clone(), n));
    }
    out.extend_from_slice(&s[src..]);
    Ok((lua.create_string(&out)?, n))
}

/// Lua's `add_value`: appends the replacement of match `s..e`; whether the
/// text changed.
fn add_value<M: FnMut(u64) -> mlua::Result<()>>(
    lua: &Lua,
    m: &mut Matcher<'_, mlua::Error, M>,
    out: &mut Vec<u8>,
    s: usize,
    e: usize,
    replacement: &Replacement,
) -> mlua::Result<bool> {
    // The replacement value comes back copied off the stack (a number as
    // its string), never as a reference.
    let value = match replacement {
        Replacement::Text(text) => {
            // A step per 16 bytes of replacement read, as in C.
            m.charge(text.len() >> 4)
                .map_err(|stop| stopped(lua, stop))?;
            add_text(lua, m, out, s, e, text)?;
            return Ok(true);
        }
        Replacement::Table(table) => table.get::<Text>(captured(lua, m, 0, s, e)?)?,
        Replacement::Function(f) => {
            m.flush()?;
            if m.capture_count(true) == 1 {
                f.call::<Text>(captured(lua, m, 0, s, e)?)?
            } else {
                f.call::<Text>(captures(lua, m, Some((s, e)))?)?
            }
        }
    };
    match value {
        Either::Right(Value::Nil | Value::Boolean(false)) => {
            out.extend_from_slice(&m.src[s..e]);
            Ok(false)
        }
        Either::Left(text) => {
            out.extend_from_slice(&text);
            Ok(true)
        }
        Either::Right(other) => Err(lua_error(
            lua,
            format!("invalid replacement value (a {})", other.type_name()),
        )),
    }
}

/// Lua's `add_s`: a replacement string with `%0`-`%9` and `%%`.
fn add_text<M: FnMut(u64) -> mlua::Result<()>>(
    lua: &Lua,
    m: &Matcher<'_, mlua::Error, M>,
    out: &mut Vec<u8>,
    s: usize,
    e: usize,
    text: &[u8],
) -> mlua::Result<()> {
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        i += 1;
        if c != b'%' {
            out.push(c);
            continue;
        }
        let next = text.get(i).copied().unwrap_or(0);
        i += 1;
        match next {
            b'%' => out.push(b'%'),
            b'0' => out.extend_from_slice(&m.src[s..e]),
            d if d.is_ascii_digit() => match m
                .capture(usize::from(d - b'1'), s, e)
                .map_err(|message| lua_error(lua, message))?
            {
                Captured::Text(a, b) => out.extend_from_slice(&m.src[a..b]),
                Captured::Position(at) => out.extend_from_slice(at.to_string().as_bytes()),
            },
            _ => {
                return Err(lua_error(lua, "invalid use of '%' in replacement string"));
            }
        }
    }
    Ok(())
}
