//! The safe profile's `io`: writing goes to the script's output (the same
//! bytes `print` would write, without its newline), reading works on files
//! inside the script roots with Lua's formats, and the rest of stock `io`
//! (writing files, running programs, reading standard input) raises an
//! error that names the function and says the safe profile leaves it out.
//!
//! Files are mlua userdata (`FILE*`), read through a buffer; what a read
//! returns becomes a Lua string, so the state's memory limit bounds it.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;

use mlua::{
    AnyUserData, Lua, MetaMethod, MultiValue, Table, UserData, UserDataMethods, Value, Variadic,
};

use super::files::ScriptFiles;
use crate::script_error::lua_error;

/// What the safe profile says about a function it leaves out.
pub(crate) fn left_out_message(function: &str, what: &str) -> String {
    format!(
        "{function}: {what} is left out of the safe profile \
         (the trusted profile, `zephyr run --trusted`, has it)"
    )
}

/// A function that raises [`left_out_message`] when called.
pub(crate) fn left_out(
    lua: &Lua,
    function: &'static str,
    what: &'static str,
) -> mlua::Result<mlua::Function> {
    lua.create_function(move |lua, _: MultiValue| -> mlua::Result<()> {
        Err(lua_error(lua, left_out_message(function, what)))
    })
}

/// A file a script holds: the script's output (`io.stdout`, `io.stderr`)
/// or a file opened for reading.
#[derive(Debug)]
enum Handle {
    Output,
    Reader(BufReader<File>),
    Closed,
}

/// `FILE*` userdata.
#[derive(Debug)]
struct LuaFile {
    handle: Handle,
    /// The state's memory limit (0: none): a read never asks for more.
    memory_limit: usize,
}

/// One of Lua's read formats.
#[derive(Debug, Clone, Copy)]
enum Format {
    Number,
    Line { keep_newline: bool },
    All,
    Count(usize),
}

/// Reads one format argument; `arg` is its position counting `self`.
fn format_of(lua: &Lua, value: &Value, arg: usize, function: &str) -> mlua::Result<Format> {
    match value {
        Value::Integer(n) => Ok(Format::Count(usize::try_from(*n).unwrap_or(0))),
        Value::Number(n) if n.fract() == 0.0 => Ok(Format::Count(n.max(0.0) as usize)),
        Value::String(s) => {
            let bytes = s.as_bytes();
            let bytes: &[u8] = bytes.strip_prefix(b"*").unwrap_or(&bytes);
            match bytes.first() {
                Some(b'n') => Ok(Format::Number),
                Some(b'l') => Ok(Format::Line {
                    keep_newline: false,
                }),
                Some(b'L') => Ok(Format::Line { keep_newline: true }),
                Some(b'a') => Ok(Format::All),
                _ => Err(super::arg_error(lua, arg, function, "invalid format")),
            }
        }
        other => Err(super::arg_error(
            lua,
            arg,
            function,
            &format!("string expected, got {}", super::type_name(other)),
        )),
    }
}

/// Lua's whitespace (C's `isspace` in the C locale).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

impl LuaFile {
    fn reader(&mut self, lua: &Lua) -> mlua::Result<Option<&mut BufReader<File>>> {
        match &mut self.handle {
            Handle::Reader(reader) => Ok(Some(reader)),
            Handle::Output => Ok(None),
            Handle::Closed => Err(lua_error(lua, "attempt to use a closed file")),
        }
    }

    /// Room for a read's result: what the memory limit still allows.
    fn room(&self, lua: &Lua) -> usize {
        if self.memory_limit == 0 {
            usize::MAX
        } else {
            self.memory_limit.saturating_sub(lua.used_memory())
        }
    }

    /// `file:read(...)`: one value per format (a line without any); the
    /// first that fails gives `nil` and ends the list (as Lua's `g_read`).
    fn read(&mut self, lua: &Lua, formats: &[Value], function: &str) -> mlua::Result<MultiValue> {
        let room = self.room(lua);
        let Some(reader) = self.reader(lua)? else {
            return fail(lua, "Bad file descriptor", 9);
        };
        if formats.is_empty() {
            let line = Format::Line {
                keep_newline: false,
            };
            let value = read_one(lua, reader, line, room)
                .map_err(|e| lua_error(lua, format!("{function}: {e}")))?;
            return Ok(MultiValue::from_iter([value]));
        }
        let mut out = MultiValue::new();
        for (i, format) in formats.iter().enumerate() {
            let format = format_of(lua, format, i + 2, function)?;
            let value = read_one(lua, reader, format, room)
                .map_err(|e| lua_error(lua, format!("{function}: {e}")))?;
            let failed = value.is_nil();
            out.push_back(value);
            if failed {
                break;
            }
        }
        Ok(out)
    }
}

/// Reads one format; `Nil` when it fails (end of file, not a number).
fn read_one(
    lua: &Lua,
    reader: &mut BufReader<File>,
    format: Format,
    room: usize,
) -> std::io::Result<Value> {
    let too_big = || std::io::Error::other("not enough memory for what the read returns");
    match format {
        Format::Count(0) => {
            let at_end = reader.fill_buf()?.is_empty();
            Ok(if at_end {
                Value::Nil
            } else {
                Value::String(lua.create_string("").map_err(std::io::Error::other)?)
            })
        }
        Format::Count(n) => {
            if n > room {
                return Err(too_big());
            }
            let mut buffer = Vec::new();
            reader.take(n as u64).read_to_end(&mut buffer)?;
            if buffer.is_empty() {
                return Ok(Value::Nil);
            }
            Ok(Value::String(
                lua.create_string(&buffer).map_err(std::io::Error::other)?,
            ))
        }
        Format::Line { keep_newline } => {
            let mut line = Vec::new();
            let mut limited = reader.take(room as u64);
            limited.read_until(b'\n', &mut line)?;
            if line.is_empty() {
                return Ok(Value::Nil);
            }
            if line.last() != Some(&b'\n') && line.len() as u64 >= room as u64 {
                return Err(too_big());
            }
            if !keep_newline && line.last() == Some(&b'\n') {
                line.pop();
            }
            Ok(Value::String(
                lua.create_string(&line).map_err(std::io::Error::other)?,
            ))
        }
        Format::All => {
            let mut buffer = Vec::new();
            let mut limited = reader.take(room as u64);
            limited.read_to_end(&mut buffer)?;
            if buffer.len() >= room && !reader.fill_buf()?.is_empty() {
                return Err(too_big());
            }
            Ok(Value::String(
                lua.create_string(&buffer).map_err(std::io::Error::other)?,
            ))
        }
        Format::Number => read_number(lua, reader),
    }
}

/// The next byte without taking it.
fn peek(reader: &mut BufReader<File>) -> std::io::Result<Option<u8>> {
    Ok(reader.fill_buf()?.first().copied())
}

/// Lua's `read_number` (liolib.c): takes at most 200 characters that can
/// form a numeral (sign, hex prefix, digits, one decimal point, exponent),
/// leaves the first one that cannot, and converts them as `tonumber` would.
fn read_number(lua: &Lua, reader: &mut BufReader<File>) -> std::io::Result<Value> {
    const MAX: usize = 200;
    let mut text = Vec::new();
    let mut overflow = false;
    // Takes the look-ahead byte when it is in `set`.
    let mut take_if = |reader: &mut BufReader<File>,
                       text: &mut Vec<u8>,
                       accept: &dyn Fn(u8) -> bool|
     -> std::io::Result<bool> {
        match peek(reader)? {
            Some(c) if accept(c) => {
                if text.len() >= MAX {
                    overflow = true;
                    return Ok(false);
                }
                text.push(c);
                reader.consume(1);
                Ok(true)
            }
            _ => Ok(false),
        }
    };
    while peek(reader)?.is_some_and(is_space) {
        reader.consume(1);
    }
    take_if(reader, &mut text, &|c| c == b'-' || c == b'+')?;
    let mut count = 0;
    let mut hex = false;
    if take_if(reader, &mut text, &|c| c == b'0')? {
        if take_if(reader, &mut text, &|c| c == b'x' || c == b'X')? {
            hex = true;
        } else {
            count = 1;
        }
    }
    let digit = move |c: u8| {
        if hex {
            c.is_ascii_hexdigit()
        } else {
            c.is_ascii_digit()
        }
    };
    while take_if(reader, &mut text, &digit)? {
        count += 1;
    }
    if take_if(reader, &mut text, &|c| c == b'.')? {
        while take_if(reader, &mut text, &digit)? {
            count += 1;
        }
    }
    let exponent = move |c: u8| {
        if hex {
            c == b'p' || c == b'P'
        } else {
            c == b'e' || c == b'E'
        }
    };
    if count > 0 && take_if(reader, &mut text, &exponent)? {
        take_if(reader, &mut text, &|c| c == b'-' || c == b'+')?;
        while take_if(reader, &mut text, &|c: u8| c.is_ascii_digit())? {}
    }
    if overflow {
        return Ok(Value::Nil);
    }
    let text = lua.create_string(&text).map_err(std::io::Error::other)?;
    let tonumber: mlua::Function = lua
        .globals()
        .get("tonumber")
        .map_err(std::io::Error::other)?;
    let value: Value = tonumber.call(text).map_err(std::io::Error::other)?;
    Ok(match value {
        Value::Integer(_) | Value::Number(_) => value,
        _ => Value::Nil,
    })
}

/// Lua's failure triple: `nil, message, code`.
fn fail(lua: &Lua, message: &str, code: i64) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_iter([
        Value::Nil,
        Value::String(lua.create_string(message)?),
        Value::Integer(code),
    ]))
}

/// The bytes `io.write` writes for one argument: strings as they are,
/// numbers as Lua's `fprintf` formats them (`%d`, `%.14g`).
fn write_bytes(lua: &Lua, value: &Value, arg: usize, function: &str) -> mlua::Result<Vec<u8>> {
    match value {
        Value::String(s) => Ok(s.as_bytes().to_vec()),
        Value::Integer(i) => Ok(i.to_string().into_bytes()),
        Value::Number(n) => Ok(crate::value::lua_g14(*n).into_bytes()),
        other => Err(super::arg_error(
            lua,
            arg,
            function,
            &format!("string expected, got {}", super::type_name(other)),
        )),
    }
}

/// Writes the arguments to the script's output.
fn write_all(lua: &Lua, args: &[Value], first_arg: usize, function: &str) -> mlua::Result<()> {
    let mut bytes = Vec::new();
    for (i, value) in args.iter().enumerate() {
        bytes.extend(write_bytes(lua, value, first_arg + i, function)?);
    }
    super::write_output(lua, &bytes);
    Ok(())
}

/// The file a function works on (argument 1): `FILE*` userdata, or the
/// error Lua's `luaL_checkudata` gives.
fn file_arg(lua: &Lua, value: Option<&Value>, function: &str) -> mlua::Result<AnyUserData> {
    match value {
        Some(Value::UserData(ud)) if ud.is::<LuaFile>() => Ok(ud.clone()),
        other => Err(super::arg_error(
            lua,
            1,
            function,
            &format!(
                "FILE* expected, got {}",
                other.map_or("no value", super::type_name)
            ),
        )),
    }
}

/// Splits a method's arguments: the file, then the rest.
fn method_args(
    lua: &Lua,
    args: MultiValue,
    function: &str,
) -> mlua::Result<(AnyUserData, Vec<Value>)> {
    let mut args = args.into_iter();
    let first = args.next();
    let file = file_arg(lua, first.as_ref(), function)?;
    Ok((file, args.collect()))
}

/// An I/O error's text as C's `strerror` gives it (Rust appends
/// ` (os error N)`).
fn os_message(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// An optional string argument (`luaL_optstring`): `default` when absent.
fn opt_string(
    lua: &Lua,
    value: Option<&Value>,
    arg: usize,
    function: &str,
    default: &str,
) -> mlua::Result<String> {
    match value {
        None | Some(Value::Nil) => Ok(default.to_owned()),
        Some(Value::String(s)) => Ok(s.to_string_lossy()),
        Some(other) => Err(super::arg_error(
            lua,
            arg,
            function,
            &format!("string expected, got {}", super::type_name(other)),
        )),
    }
}

/// `seek`'s `whence` and `offset`.
fn seek_target(lua: &Lua, rest: &[Value]) -> mlua::Result<SeekFrom> {
    let whence = opt_string(lua, rest.first(), 2, "seek", "cur")?;
    let offset = match rest.get(1) {
        None | Some(Value::Nil) => 0,
        Some(Value::Integer(i)) => *i,
        Some(Value::Number(n)) if n.fract() == 0.0 => *n as i64,
        Some(other) => {
            return Err(super::arg_error(
                lua,
                3,
                "seek",
                &format!("number expected, got {}", super::type_name(other)),
            ));
        }
    };
    match whence.as_str() {
        "set" => Ok(SeekFrom::Start(u64::try_from(offset).unwrap_or(0))),
        "cur" => Ok(SeekFrom::Current(offset)),
        "end" => Ok(SeekFrom::End(offset)),
        other => Err(super::arg_error(
            lua,
            2,
            "seek",
            &format!("invalid option '{other}'"),
        )),
    }
}

impl UserData for LuaFile {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        fields.add_meta_field(MetaMethod::Type.name(), "FILE*");
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_function("read", |lua, args: MultiValue| {
            let (file, formats) = method_args(lua, args, "read")?;
            file.borrow_mut::<LuaFile>()?.read(lua, &formats, "read")
        });
        methods.add_function("lines", |lua, args: MultiValue| {
            let (file, formats) = method_args(lua, args, "lines")?;
            lines(lua, file, formats, false)
        });
        methods.add_function("write", |lua, args: MultiValue| {
            let (file, args) = method_args(lua, args, "write")?;
            let kind = match &file.borrow::<LuaFile>()?.handle {
                Handle::Output => 0,
                Handle::Reader(_) => 1,
                Handle::Closed => 2,
            };
            match kind {
                0 => {
                    write_all(lua, &args, 2, "write")?;
                    Ok(MultiValue::from_iter([Value::UserData(file)]))
                }
                1 => fail(lua, "Bad file descriptor", 9),
                _ => Err(lua_error(lua, "attempt to use a closed file")),
            }
        });
        methods.add_function("close", |lua, args: MultiValue| {
            let (file, _) = method_args(lua, args, "close")?;
            let mut this = file.borrow_mut::<LuaFile>()?;
            close(lua, &mut this)
        });
        methods.add_function("flush", |lua, args: MultiValue| {
            let (file, _) = method_args(lua, args, "flush")?;
            if matches!(file.borrow::<LuaFile>()?.handle, Handle::Closed) {
                return Err(lua_error(lua, "attempt to use a closed file"));
            }
            Ok(file)
        });
        methods.add_function("setvbuf", |lua, args: MultiValue| {
            let (file, _) = method_args(lua, args, "setvbuf")?;
            if matches!(file.borrow::<LuaFile>()?.handle, Handle::Closed) {
                return Err(lua_error(lua, "attempt to use a closed file"));
            }
            Ok(true)
        });
        methods.add_function("seek", |lua, args: MultiValue| {
            let (file, rest) = method_args(lua, args, "seek")?;
            let to = seek_target(lua, &rest)?;
            let mut this = file.borrow_mut::<LuaFile>()?;
            let Some(reader) = this.reader(lua)? else {
                return fail(lua, "Illegal seek", 29);
            };
            match reader.seek(to) {
                Ok(position) => Ok(MultiValue::from_iter([Value::Integer(
                    i64::try_from(position).unwrap_or(i64::MAX),
                )])),
                Err(e) => fail(
                    lua,
                    &os_message(&e),
                    i64::from(e.raw_os_error().unwrap_or(0)),
                ),
            }
        });
        // A to-be-closed file (`io.lines`' fourth value) closes when its
        // scope ends, if it is still open.
        methods.add_meta_method_mut(MetaMethod::Close, |_, this, _: MultiValue| {
            if matches!(this.handle, Handle::Reader(_)) {
                this.handle = Handle::Closed;
            }
            Ok(())
        });
        methods.add_meta_function(MetaMethod::ToString, |_, file: AnyUserData| {
            let closed = matches!(file.borrow::<LuaFile>()?.handle, Handle::Closed);
            Ok(if closed {
                "file (closed)".to_owned()
            } else {
                format!("file ({:p})", file.to_pointer())
            })
        });
    }
}

fn close(lua: &Lua, file: &mut LuaFile) -> mlua::Result<MultiValue> {
    match file.handle {
        Handle::Output => Ok(MultiValue::from_iter([
            Value::Nil,
            Value::String(lua.create_string("cannot close standard file")?),
        ])),
        Handle::Closed => Err(lua_error(lua, "attempt to use a closed file")),
        Handle::Reader(_) => {
            file.handle = Handle::Closed;
            Ok(MultiValue::from_iter([Value::Boolean(true)]))
        }
    }
}

/// The iterator of `file:lines(...)` and `io.lines(path, ...)`; the latter
/// closes the file when it reaches the end.
fn lines(
    lua: &Lua,
    file: AnyUserData,
    formats: Vec<Value>,
    close_at_end: bool,
) -> mlua::Result<mlua::Function> {
    if formats.len() > 250 {
        return Err(lua_error(
            lua,
            "bad argument #251 to 'lines' (too many arguments)",
        ));
    }
    if matches!(file.borrow::<LuaFile>()?.handle, Handle::Closed) {
        return Err(lua_error(lua, "attempt to use a closed file"));
    }
    lua.create_function_mut(move |lua, _: MultiValue| {
        let mut this = file.borrow_mut::<LuaFile>()?;
        if matches!(this.handle, Handle::Closed) {
            return Err(lua_error(lua, "file is already closed"));
        }
        let values = this.read(lua, &formats, "lines")?;
        if values.front().is_none_or(Value::is_nil) && close_at_end {
            this.handle = Handle::Closed;
        }
        Ok(values)
    })
}

/// Opens `path` (inside the roots) for reading.
fn open_reader(files: &ScriptFiles, path: &str, memory_limit: usize) -> Result<LuaFile, String> {
    let resolved = files.resolve(path)?;
    let file = File::open(&resolved).map_err(|e| format!("{path}: {}", os_message(&e)))?;
    Ok(LuaFile {
        handle: Handle::Reader(BufReader::new(file)),
        memory_limit,
    })
}

/// Whether `mode` is one `fopen` takes (Lua's `l_checkmode`).
fn valid_mode(mode: &str) -> bool {
    let mut bytes = mode.bytes();
    matches!(bytes.next(), Some(b'r' | b'w' | b'a')) && {
        let rest: Vec<u8> = bytes.collect();
        let rest = rest.strip_prefix(b"+").unwrap_or(&rest);
        rest.iter().all(|&b| b == b'b')
    }
}

/// Builds the safe profile's `io` table.
pub(crate) fn library(
    lua: &Lua,
    files: Arc<ScriptFiles>,
    memory_limit: usize,
) -> mlua::Result<Table> {
    let io = lua.create_table()?;
    let stdout = lua.create_userdata(LuaFile {
        handle: Handle::Output,
        memory_limit,
    })?;
    let stderr = lua.create_userdata(LuaFile {
        handle: Handle::Output,
        memory_limit,
    })?;
    io.set("stdout", &stdout)?;
    io.set("stderr", &stderr)?;
    let out = stdout.clone();
    io.set(
        "write",
        lua.create_function(move |lua, args: Variadic<Value>| {
            write_all(lua, &args, 1, "io.write")?;
            Ok(out.clone())
        })?,
    )?;
    let out = stdout.clone();
    io.set(
        "output",
        lua.create_function(move |lua, args: MultiValue| {
            if args.is_empty() {
                return Ok(out.clone());
            }
            Err(lua_error(
                lua,
                left_out_message(
                    "io.output",
                    "changing the default output (io.write always goes to the script's output)",
                ),
            ))
        })?,
    )?;
    let open_files = files.clone();
    io.set(
        "open",
        lua.create_function(move |lua, args: MultiValue| {
            let path = match args.front() {
                Some(Value::String(s)) => s.to_string_lossy(),
                Some(v @ (Value::Integer(_) | Value::Number(_))) => v.to_string()?,
                other => {
                    return Err(super::arg_error(
                        lua,
                        1,
                        "io.open",
                        &format!(
                            "string expected, got {}",
                            other.map_or("no value", super::type_name)
                        ),
                    ));
                }
            };
            let mode = opt_string(lua, args.get(1), 2, "io.open", "r")?;
            if !valid_mode(&mode) {
                return Err(super::arg_error(lua, 2, "io.open", "invalid mode"));
            }
            if !mode.starts_with('r') || mode.contains('+') {
                return Err(lua_error(
                    lua,
                    left_out_message("io.open", &format!("mode '{mode}' (writing files)")),
                ));
            }
            match open_reader(&open_files, &path, memory_limit) {
                Ok(file) => Ok(MultiValue::from_iter([Value::UserData(
                    lua.create_userdata(file)?,
                )])),
                Err(message) => Ok(MultiValue::from_iter([
                    Value::Nil,
                    Value::String(lua.create_string(message)?),
                ])),
            }
        })?,
    )?;
    let lines_files = files;
    io.set(
        "lines",
        lua.create_function(move |lua, args: MultiValue| {
            let mut args = args.into_iter();
            let path = match args.next() {
                None | Some(Value::Nil) => {
                    return Err(lua_error(
                        lua,
                        left_out_message(
                            "io.lines",
                            "reading standard input (io.lines without a file name)",
                        ),
                    ));
                }
                Some(Value::String(s)) => s.to_string_lossy(),
                Some(other) => {
                    return Err(super::arg_error(
                        lua,
                        1,
                        "io.lines",
                        &format!("string expected, got {}", super::type_name(&other)),
                    ));
                }
            };
            let file = open_reader(&lines_files, &path, memory_limit)
                .map_err(|message| lua_error(lua, message))?;
            let file = lua.create_userdata(file)?;
            let iterator = lines(lua, file.clone(), args.collect(), true)?;
            Ok((iterator, Value::Nil, Value::Nil, file))
        })?,
    )?;
    io.set(
        "type",
        lua.create_function(|_, value: Value| {
            Ok(match value {
                Value::UserData(ud) => match ud.borrow::<LuaFile>() {
                    Ok(file) if matches!(file.handle, Handle::Closed) => Some("closed file"),
                    Ok(_) => Some("file"),
                    Err(_) => None,
                },
                _ => None,
            })
        })?,
    )?;
    let out = stdout;
    io.set(
        "close",
        lua.create_function(move |lua, args: MultiValue| {
            let file = match args.front() {
                None | Some(Value::Nil) => out.clone(),
                given => file_arg(lua, given, "io.close")?,
            };
            let mut this = file.borrow_mut::<LuaFile>()?;
            close(lua, &mut this)
        })?,
    )?;
    for (name, function, what) in [
        ("read", "io.read", "reading standard input"),
        ("input", "io.input", "reading standard input"),
        ("popen", "io.popen", "running programs"),
        ("tmpfile", "io.tmpfile", "writing files"),
    ] {
        io.set(name, left_out(lua, function, what)?)?;
    }
    Ok(io)
}

/// The `os` functions the safe profile leaves out, as functions that say so.
pub(crate) fn os_left_out(lua: &Lua, os: &Table) -> mlua::Result<()> {
    for (name, function, what) in [
        ("execute", "os.execute", "running programs"),
        ("exit", "os.exit", "ending the process"),
        ("getenv", "os.getenv", "reading the environment"),
        ("remove", "os.remove", "removing files"),
        ("rename", "os.rename", "renaming files"),
        ("tmpname", "os.tmpname", "making files"),
        ("setlocale", "os.setlocale", "changing the process's locale"),
    ] {
        os.set(name, left_out(lua, function, what)?)?;
    }
    Ok(())
}
