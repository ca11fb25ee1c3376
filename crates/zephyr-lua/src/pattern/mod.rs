//! `string.find`, `string.match`, `string.gmatch` and `string.gsub` for the
//! safe profile, on our own Lua-pattern matcher ([`matcher`]): the same
//! semantics and messages as Lua's, but every step of a match counts
//! against the instruction budget, which Lua's C matcher never does (its
//! instruction hook cannot fire inside a C function, so one pattern could
//! stall a worker for minutes). A match that runs out of budget stops the
//! execution with an error naming the function, like the hook would.

mod matcher;

use std::sync::Arc;

use mlua::{Function, Lua, LuaString, MultiValue, Table, Value};

use crate::budget::ExecControl;
use crate::script_error::lua_error;
use matcher::{Captured, Matcher, Stop, no_specials, start_position};

/// Replaces the pattern functions of the state's `string` table (the one
/// string values reach through their metatable).
pub(crate) fn install(lua: &Lua, string: &Table) -> mlua::Result<()> {
    string.set(
        "find",
        lua.create_function(|lua, args: MultiValue| find_aux(lua, &args, true))?,
    )?;
    string.set(
        "match",
        lua.create_function(|lua, args: MultiValue| find_aux(lua, &args, false))?,
    )?;
    string.set("gmatch", lua.create_function(gmatch)?)?;
    string.set("gsub", lua.create_function(gsub)?)?;
    Ok(())
}

fn arg_error(lua: &Lua, n: usize, function: &str, message: &str) -> mlua::Error {
    lua_error(
        lua,
        format!("bad argument #{n} to '{function}' ({message})"),
    )
}

fn type_name(value: Option<&Value>) -> &'static str {
    match value {
        None => "no value",
        Some(v) => v.type_name(),
    }
}

/// `luaL_checklstring`: a string, or a number turned into one.
fn check_string(lua: &Lua, args: &MultiValue, n: usize, function: &str) -> mlua::Result<LuaString> {
    let value = args.get(n - 1);
    match value {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => lua
            .coerce_string(v.clone())?
            .ok_or_else(|| arg_error(lua, n, function, "string expected")),
        other => Err(arg_error(
            lua,
            n,
            function,
            &format!("string expected, got {}", type_name(other)),
        )),
    }
}

/// `luaL_optinteger`.
fn opt_integer(
    lua: &Lua,
    args: &MultiValue,
    n: usize,
    function: &str,
) -> mlua::Result<Option<i64>> {
    match args.get(n - 1) {
        None | Some(Value::Nil) => Ok(None),
        Some(v) => match lua.coerce_integer(v.clone())? {
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

fn truthy(value: Option<&Value>) -> bool {
    !matches!(value, None | Some(Value::Nil) | Some(Value::Boolean(false)))
}

/// The meter of one call: steps go to the execution's budget.
fn meter<'l>(lua: &'l Lua, function: &'static str) -> impl FnMut(u64) -> mlua::Result<()> + 'l {
    let control = lua.app_data_ref::<Arc<ExecControl>>().map(|c| c.clone());
    move |steps| match &control {
        Some(control) => control.charge(lua, steps, function),
        None => Ok(()),
    }
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
/// the whole match when `whole`).
fn captures<E, M: FnMut(u64) -> Result<(), E>>(
    lua: &Lua,
    m: &Matcher<'_, E, M>,
    whole: Option<(usize, usize)>,
) -> mlua::Result<MultiValue> {
    let (s, e) = whole.unwrap_or((0, 0));
    let count = m.capture_count(whole.is_some());
    let mut out = MultiValue::with_capacity(count);
    for i in 0..count {
        out.push_back(captured(lua, m, i, s, e)?);
    }
    Ok(out)
}

/// `string.find` and `string.match`: Lua's `str_find_aux`.
fn find_aux(lua: &Lua, args: &MultiValue, find: bool) -> mlua::Result<MultiValue> {
    let (name, full) = if find {
        ("find", "string.find")
    } else {
        ("match", "string.match")
    };
    let subject = check_string(lua, args, 1, name)?;
    let pattern = check_string(lua, args, 2, name)?;
    let (s, p) = (subject.as_bytes(), pattern.as_bytes());
    let init = start_position(opt_integer(lua, args, 3, name)?.unwrap_or(1), s.len()) - 1;
    if init > s.len() {
        return Ok(MultiValue::from_vec(vec![Value::Nil]));
    }
    if find && (truthy(args.get(3)) || no_specials(&p)) {
        return Ok(match memchr::memmem::find(&s[init..], &p) {
            Some(at) => MultiValue::from_vec(vec![
                Value::Integer((init + at + 1) as i64),
                Value::Integer((init + at + p.len()) as i64),
            ]),
            None => MultiValue::from_vec(vec![Value::Nil]),
        });
    }
    let anchor = p.first() == Some(&b'^');
    let pat = if anchor { &p[1..] } else { &p[..] };
    let mut m = Matcher::new(&s, pat, meter(lua, full));
    let mut s1 = init;
    loop {
        m.reset();
        if let Some(e) = m.do_match(s1, 0).map_err(|stop| stopped(lua, stop))? {
            m.flush()?;
            return if find {
                let mut out = captures(lua, &m, None)?;
                out.push_front(Value::Integer(e as i64));
                out.push_front(Value::Integer((s1 + 1) as i64));
                Ok(out)
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
    Ok(MultiValue::from_vec(vec![Value::Nil]))
}

/// `string.gmatch(s, pattern [, init])`: an iterator over the matches (a
/// `^` is an ordinary character here, as in Lua 5.4).
fn gmatch(lua: &Lua, args: MultiValue) -> mlua::Result<Function> {
    let subject = check_string(lua, &args, 1, "gmatch")?;
    let pattern = check_string(lua, &args, 2, "gmatch")?;
    let len = subject.as_bytes().len();
    let init = start_position(opt_integer(lua, &args, 3, "gmatch")?.unwrap_or(1), len) - 1;
    let mut src = init.min(len + 1);
    let mut last_match: Option<usize> = None;
    lua.create_function_mut(move |lua, ()| {
        let (s, p) = (subject.as_bytes(), pattern.as_bytes());
        let mut m = Matcher::new(&s, &p, meter(lua, "string.gmatch"));
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
    Text(LuaString),
    Table(Table),
    Function(Function),
}

/// `string.gsub(s, pattern, repl [, n])`: Lua's `str_gsub`.
fn gsub(lua: &Lua, args: MultiValue) -> mlua::Result<(LuaString, i64)> {
    let subject = check_string(lua, &args, 1, "gsub")?;
    let pattern = check_string(lua, &args, 2, "gsub")?;
    let replacement = match args.get(2) {
        Some(Value::String(s)) => Replacement::Text(s.clone()),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => Replacement::Text(
            lua.coerce_string(v.clone())?
                .ok_or_else(|| arg_error(lua, 3, "gsub", "string expected"))?,
        ),
        Some(Value::Table(t)) => Replacement::Table(t.clone()),
        Some(Value::Function(f)) => Replacement::Function(f.clone()),
        other => {
            return Err(arg_error(
                lua,
                3,
                "gsub",
                &format!("string/function/table expected, got {}", type_name(other)),
            ));
        }
    };
    let (s, p) = (subject.as_bytes(), pattern.as_bytes());
    let max = opt_integer(lua, &args, 4, "gsub")?.unwrap_or(s.len() as i64 + 1);
    let anchor = p.first() == Some(&b'^');
    let pat = if anchor { &p[1..] } else { &p[..] };
    let mut m = Matcher::new(&s, pat, meter(lua, "string.gsub"));
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
    let value = match replacement {
        Replacement::Text(text) => {
            add_text(lua, m, out, s, e, &text.as_bytes())?;
            return Ok(true);
        }
        Replacement::Table(table) => table.get::<Value>(captured(lua, m, 0, s, e)?)?,
        Replacement::Function(f) => {
            m.flush()?;
            f.call::<Value>(captures(lua, m, Some((s, e)))?)?
        }
    };
    match value {
        Value::Nil | Value::Boolean(false) => {
            out.extend_from_slice(&m.src[s..e]);
            Ok(false)
        }
        Value::String(text) => {
            out.extend_from_slice(&text.as_bytes());
            Ok(true)
        }
        v @ (Value::Integer(_) | Value::Number(_)) => {
            if let Some(text) = lua.coerce_string(v)? {
                out.extend_from_slice(&text.as_bytes());
            }
            Ok(true)
        }
        other => Err(lua_error(
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
            d if d.is_ascii_digit() => match captured(lua, m, usize::from(d - b'1'), s, e)? {
                Value::String(t) => out.extend_from_slice(&t.as_bytes()),
                Value::Integer(at) => out.extend_from_slice(at.to_string().as_bytes()),
                _ => {}
            },
            _ => {
                return Err(lua_error(lua, "invalid use of '%' in replacement string"));
            }
        }
    }
    Ok(())
}
