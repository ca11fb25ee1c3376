//! The sandbox: what scripts see (`sandbox.lua` builds their environments
//! over a frozen base of the standard library and the engine API), the
//! shared loaders that find their caller's environment, and file access
//! confined to the script roots.

use std::sync::Arc;

use mlua::chunk::ChunkMode;
use mlua::{Function, Lua, MultiValue, Table};

use crate::budget::ExecControl;
use crate::script_error::CallSite;
pub(crate) use crate::script_error::arg_error;

mod debug;
mod files;
mod io;

pub use files::ScriptFiles;

/// What a script may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// The default. No `io`; `os` limited to `clock`, `time`, `date` and
    /// `difftime`; `debug` limited to `traceback` and a read-only `getinfo`;
    /// no `string.dump`; `load` takes text chunks only; `dofile`, `loadfile`
    /// and `require` read `.lua` files only inside the script roots;
    /// `collectgarbage` limited to `collect`, `count`, `step` and
    /// `isrunning`; `setmetatable` refuses `__gc` finalizers. `_G` holds the
    /// built-ins (`pairs(_G)` lists them) but is each script's own table.
    #[default]
    Safe,
    /// An explicit opt-in: stock Lua 5.4, the whole standard library
    /// including `debug`, `io`, `os`, `package` (with native C modules) and
    /// binary chunks. Each execution gets its own copy of the global table,
    /// but the libraries are the real, shared ones. **A trusted script has the
    /// whole process**: the `debug` library can break memory safety, so only
    /// run code you would link into the engine.
    Trusted,
}

/// What the sandbox is built from (a state's configuration, in the parts
/// the sandbox reads).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Setup<'a> {
    pub(crate) profile: Profile,
    pub(crate) script_roots: &'a [std::path::PathBuf],
    /// The state's memory limit (0: none): reads from files stay under it.
    pub(crate) memory_limit: usize,
    /// Where `require` keeps each environment's modules' captures of their
    /// top-level locals (weak-keyed by environment), for hot reload; only
    /// the loaders and the state's Rust side hold it.
    pub(crate) module_captures: &'a Table,
    /// The state's instrumented sources (`reload.rs`), shared by `require`
    /// and the state's own reloadable chunks: a file is parsed once.
    pub(crate) instrumentations: &'a Arc<parking_lot::Mutex<crate::reload::Instrumentations>>,
}

/// Builds the sandbox of a state from its engine API table; returns its
/// `new_env()` function.
pub(crate) fn build(
    lua: &Lua,
    config: &Setup<'_>,
    api: Table,
    control: &Arc<ExecControl>,
) -> mlua::Result<Function> {
    let profile = config.profile;
    let memory_limit = config.memory_limit;
    let rust = lua.create_table()?;
    rust.set(
        "profile",
        match profile {
            Profile::Safe => "safe",
            Profile::Trusted => "trusted",
        },
    )?;
    let halted = {
        let control = control.clone();
        lua.create_function(move |_, ()| Ok(control.is_halted()))?
    };
    rust.set("halted", halted)?;
    // Work a C function does beyond what its input's size bounds (see
    // `sandbox.lua`), charged to the budget like VM instructions.
    let charge = {
        let control = control.clone();
        lua.create_function(move |lua, (steps, function): (f64, String)| {
            let steps = if steps.is_nan() || steps <= 0.0 {
                0
            } else {
                steps as u64
            };
            control.charge(lua, steps, &function)
        })?
    };
    rust.set("charge", charge)?;
    rust.set(
        "error_text",
        lua.create_function(|lua, value: mlua::Value| match value {
            mlua::Value::Error(error) => Ok(mlua::Value::String(
                lua.create_string(crate::script_error::root_message(lua, &error))?,
            )),
            other => Ok(other),
        })?,
    )?;
    rust.set(
        "raise",
        lua.create_function(|lua, (message, skip): (mlua::LuaString, Option<usize>)| {
            Err::<(), _>(raise(lua, &message.to_string_lossy(), skip.unwrap_or(0)))
        })?,
    )?;
    rust.set(
        "note_error_table",
        lua.create_function(crate::script_error::note_error_table)?,
    )?;
    let files = Arc::new(ScriptFiles {
        roots: config.script_roots.to_vec(),
        trusted: profile == Profile::Trusted,
    });
    if profile == Profile::Trusted {
        rust.set("trusted_package_path", files.trusted_package_path())?;
    }
    if profile == Profile::Safe {
        // The pattern functions count their steps against the budget.
        crate::pattern::install(lua, &lua.globals().get::<Table>("string")?, control)?;
        rust.set("safe_debug", debug::library(lua)?)?;
        // `io` and the `os` functions left out are made on first use: a
        // pooled state whose scripts never touch them does not hold them.
        let io_files = files.clone();
        let memory = memory_limit;
        rust.set(
            "make_io",
            lua.create_function(move |lua, ()| io::library(lua, io_files.clone(), memory))?,
        )?;
        rust.set(
            "make_os_left_out",
            lua.create_function(|lua, os: Table| io::os_left_out(lua, &os))?,
        )?;
        // The base environment's `__index` until a script first needs a
        // loader (see the end of `sandbox.lua`): a Rust function, so a missing
        // global costs no VM instructions; it runs `loaders.lua` on a thread of
        // its own without the budget's hook, since building the loaders is the
        // sandbox's work, not the script's.
        let loader_files = files.clone();
        let module_captures = config.module_captures.clone();
        let instrumentations = config.instrumentations.clone();
        rust.set(
            "make_loaders",
            lua.create_function(move |lua, (base, key): (Table, mlua::Value)| {
                let Some(sandbox) = base.metatable() else {
                    return Ok(mlua::Value::Nil);
                };
                // Any other name (any key: `_ENV[{}]`) the base lacks is nil.
                let wanted = match &key {
                    mlua::Value::Nil => true,
                    mlua::Value::String(key) => {
                        LOADERS.iter().any(|name| key.as_bytes() == name.as_bytes())
                    }
                    _ => false,
                };
                if !wanted {
                    return Ok(mlua::Value::Nil);
                }
                let chunk = lua
                    .load(include_str!("loaders.lua"))
                    .set_name(SANDBOX_SOURCE)
                    .set_mode(ChunkMode::Text)
                    .into_function()?;
                let thread = lua.create_thread(chunk)?;
                thread.remove_hook();
                let helpers = loader_helpers(lua, &loader_files)?;
                helpers.set("module_captures", &module_captures)?;
                helpers.set("instrument", instrument(lua, instrumentations.clone())?)?;
                thread.resume::<()>((&base, sandbox, helpers))?;
                base.raw_get(key)
            })?,
        )?;
    }
    let with_caller_env = lua.create_function(|lua, f: Function| {
        lua.create_function(move |lua, args: MultiValue| {
            let env = caller_env(lua).ok_or_else(|| {
                mlua::Error::runtime(
                    "cannot tell the calling script's environment (no caller uses globals): \
                         pass one to load",
                )
            })?;
            f.call::<MultiValue>((env, args))
        })
    })?;
    rust.set("with_caller_env", with_caller_env)?;
    lua.load(include_str!("sandbox.lua"))
        .set_name(SANDBOX_SOURCE)
        .set_mode(ChunkMode::Text)
        .call((rust, api))
}

/// `require`'s `files.instrument(source)`: a module's source with the
/// capture of its top-level locals (and the names it captures), or as it
/// is (and nil); see `reload.rs`.
fn instrument(
    lua: &Lua,
    instrumentations: Arc<parking_lot::Mutex<crate::reload::Instrumentations>>,
) -> mlua::Result<Function> {
    lua.create_function(move |lua, source: mlua::LuaString| {
        let made = instrumentations.lock().get(&source.as_bytes());
        Ok(match made {
            Some(made) => (
                mlua::Value::String(lua.create_string(&made.text)?),
                mlua::Value::Table(lua.create_sequence_from(made.names.iter().cloned())?),
            ),
            None => (mlua::Value::String(source), mlua::Value::Nil),
        })
    })
}

/// What `loaders.lua` needs from Rust: made with the loaders, on first use.
fn loader_helpers(lua: &Lua, files: &Arc<ScriptFiles>) -> mlua::Result<Table> {
    let helpers = lua.create_table()?;
    helpers.set(
        "left_out_message",
        lua.create_function(|_, (function, what): (String, String)| {
            Ok(io::left_out_message(&function, &what))
        })?,
    )?;
    helpers.set(
        "note_refusal",
        lua.create_function(|lua, (function, message): (String, String)| {
            if let Some(place) = caller_place(lua, 1) {
                crate::script_error::note_refusal(
                    lua,
                    place,
                    format!("{function} returned nil: {message}"),
                );
            }
            Ok(())
        })?,
    )?;
    helpers.set("read_script", {
        let files = files.clone();
        lua.create_function(move |lua, path: String| {
            let (source, name) = files.read(&path).map_err(mlua::Error::runtime)?;
            Ok((lua.create_string(&source)?, name))
        })?
    })?;
    helpers.set("package_path", ScriptFiles::PACKAGE_PATH)?;
    helpers.set("check_package_path", {
        let files = files.clone();
        lua.create_function(move |_, path: String| Ok(files.check_package_path(&path).err()))?
    })?;
    helpers.set("read_module", {
        let files = files.clone();
        lua.create_function(move |lua, (name, path): (String, String)| {
            let (source, name) =
                read_module(&files, &name, &path).map_err(|e| raise(lua, &e, 1))?;
            Ok((lua.create_string(&source)?, name))
        })?
    })?;
    helpers.set("searchpath", {
        let files = files.clone();
        lua.create_function(
            move |lua, (name, path, sep, rep): (String, String, Option<String>, Option<String>)| {
                let name = match sep.as_deref().unwrap_or(".") {
                    "" => name,
                    sep => name.replace(sep, rep.as_deref().unwrap_or("/")),
                };
                // One value when found; `nil` and the files tried when not.
                Ok(match files.search(&name, &path) {
                    Ok(file) => {
                        MultiValue::from_iter([mlua::Value::String(lua.create_string(file)?)])
                    }
                    Err(tried) => {
                        let list = not_found_list(&tried);
                        let list = list.strip_prefix("\n\t").unwrap_or(&list);
                        MultiValue::from_iter([
                            mlua::Value::Nil,
                            mlua::Value::String(lua.create_string(list)?),
                        ])
                    }
                })
            },
        )?
    })?;
    Ok(helpers)
}

/// What `loaders.lua` makes: the safe profile's loaders, made on first use.
const LOADERS: [&str; 5] = ["load", "loadfile", "dofile", "require", "package"];

/// The source name of `sandbox.lua` (chunk `zephyr.sandbox`).
pub(crate) const SANDBOX_SOURCE: &str = "=zephyr.sandbox";

/// The environment of the nearest script function on the call stack (for
/// the shared `load`, `require`, ...): the `_ENV` upvalue of the first Lua
/// function above the calling Rust function that is not the sandbox's own
/// and has one. `None` when no such function is on the stack.
pub fn caller_env(lua: &Lua) -> Option<Table> {
    for level in 1.. {
        let found = lua.inspect_stack(level, |frame| {
            // The runtime's own chunks (`=zephyr.sandbox`, `=zephyr.task`).
            if crate::chunk::is_runtime_chunk(frame.source().source.as_deref()) {
                return None;
            }
            frame.function().environment()
        })?;
        if found.is_some() {
            return found;
        }
    }
    None
}

/// The place (`file:line: `) Lua's `luaL_error` would give an error raised
/// for the public function the sandbox's code runs for: past the sandbox's
/// own frames and `c_frames` C functions more (a loader's Rust function),
/// the frame that called it; nothing when that is a C function (`pcall`).
/// Also how that public function was called.
fn caller_site(lua: &Lua, c_frames: usize) -> (Option<String>, CallSite) {
    let mut skip = c_frames;
    let mut site = CallSite::default();
    for level in 1.. {
        let Some((own, c, place, this)) = lua.inspect_stack(level, |frame| {
            let source = frame.source();
            let own = crate::chunk::is_runtime_chunk(source.source.as_deref());
            let place = frame
                .current_line()
                .and_then(|line| Some(format!("{}:{line}: ", source.short_src.as_deref()?)));
            (own, source.what == "C", place, CallSite::of(frame))
        }) else {
            break;
        };
        if own || (c && skip > 0) {
            if !own {
                skip -= 1;
            }
            site = this;
            continue;
        }
        return (place, site);
    }
    (None, site)
}

fn caller_place(lua: &Lua, c_frames: usize) -> Option<String> {
    caller_site(lua, c_frames).0
}

/// The error `raise` gives: `message` at the place [`caller_site`] finds
/// (an argument error worded for the call the script wrote).
pub(crate) fn raise(lua: &Lua, message: &str, c_frames: usize) -> mlua::Error {
    let (place, site) = caller_site(lua, c_frames);
    let message = site.reword(message);
    mlua::Error::runtime(format!("{}{message}", place.unwrap_or_default()))
}

/// Reads module `name` through the templates of `path`.
fn read_module(
    files: &ScriptFiles,
    name: &str,
    path: &str,
) -> std::result::Result<(Vec<u8>, String), String> {
    if !files::valid_module_name(name) {
        return Err(format!(
            "require: invalid module name '{name}' (its parts cannot be empty or '..')"
        ));
    }
    match files.search(&name.replace('.', "/"), path) {
        Ok(file) => files.read(&file),
        Err(tried) => Err(format!(
            "module '{name}' not found:\n\tno field package.preload['{name}']{}",
            not_found_list(&tried)
        )),
    }
}

/// `\n\tno file 'x'` for each file tried, as Lua's `searchpath` lists them.
fn not_found_list(tried: &[String]) -> String {
    tried.iter().map(|f| format!("\n\tno file '{f}'")).collect()
}

/// Lua's name of a value's type (`luaL_typename`).
pub fn type_name(value: &mlua::Value) -> &'static str {
    match value {
        mlua::Value::Error(_) | mlua::Value::UserData(_) | mlua::Value::LightUserData(_) => {
            "userdata"
        }
        mlua::Value::Integer(_) | mlua::Value::Number(_) => "number",
        other => other.type_name(),
    }
}

/// Where a state's script output goes: the bytes of `print` (its line
/// and newline) and of `io.write`, in order. The API installs one (the
/// host's print sink, or a worker's recording); without it output goes to
/// the `zephyr::print` tracing target.
#[derive(Clone)]
pub(crate) struct Output(pub(crate) Arc<WriteFn>);

/// Writes script output for a state.
pub(crate) type WriteFn = dyn Fn(&Lua, &[u8]) + Send + Sync;

/// Sets where the state's script output goes.
pub fn set_output(lua: &Lua, output: impl Fn(&Lua, &[u8]) + Send + Sync + 'static) {
    lua.set_app_data(Output(Arc::new(output)));
}

/// Writes script output.
pub fn write_output(lua: &Lua, bytes: &[u8]) {
    let output = lua.app_data_ref::<Output>().map(|o| o.0.clone());
    match output {
        Some(output) => output(lua, bytes),
        None => tracing::info!(
            target: "zephyr::print",
            "{}",
            String::from_utf8_lossy(bytes.strip_suffix(b"\n").unwrap_or(bytes))
        ),
    }
}

/// The bytes `print` writes: `tostring` of each argument, tab-separated,
/// and a newline.
pub fn print_bytes(lua: &Lua, args: MultiValue) -> mlua::Result<Vec<u8>> {
    let tostring: Function = lua.globals().get("tostring")?;
    let mut line = Vec::new();
    for (i, value) in args.into_iter().enumerate() {
        if i > 0 {
            line.push(b'\t');
        }
        line.extend_from_slice(&tostring.call::<mlua::LuaString>(value)?.as_bytes());
    }
    line.push(b'\n');
    Ok(line)
}

/// The safe profile's `print`: to the script's output, byte for byte.
pub(crate) fn print_function(lua: &Lua) -> mlua::Result<Function> {
    lua.create_function(|lua, args: MultiValue| {
        let line = print_bytes(lua, args)?;
        write_output(lua, &line);
        Ok(())
    })
}
