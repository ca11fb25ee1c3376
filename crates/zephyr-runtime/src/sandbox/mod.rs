//! The sandbox: what scripts see (`sandbox.lua` builds their environments
//! over a frozen base of the standard library and the engine API), the
//! shared loaders that find their caller's environment, and file access
//! confined to the script roots.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use mlua::chunk::ChunkMode;
use mlua::{Function, Lua, MultiValue, Table};

use crate::budget::ExecControl;

mod debug;

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

/// Builds the sandbox of a state from its engine API table; returns its
/// `new_env()` function.
pub(crate) fn build(
    lua: &Lua,
    profile: Profile,
    roots: &[PathBuf],
    api: Table,
    control: &Arc<ExecControl>,
) -> mlua::Result<Function> {
    let halted = {
        let control = control.clone();
        lua.create_function(move |_, ()| Ok(control.is_halted()))?
    };
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
    let error_text = lua.create_function(|lua, value: mlua::Value| match value {
        mlua::Value::Error(error) => Ok(mlua::Value::String(
            lua.create_string(crate::outcome::root_message(&error))?,
        )),
        other => Ok(other),
    })?;
    let files = Arc::new(ScriptFiles {
        roots: roots.to_vec(),
        trusted: profile == Profile::Trusted,
    });
    let read_script = {
        let files = files.clone();
        lua.create_function(move |lua, path: String| {
            let (source, name) = files.read(&path).map_err(mlua::Error::runtime)?;
            Ok((lua.create_string(&source)?, name))
        })?
    };
    let roots_path = files.package_path();
    let read_module = lua.create_function(move |lua, name: String| {
        let (source, name) = files.read_module(&name).map_err(mlua::Error::runtime)?;
        Ok((lua.create_string(&source)?, name))
    })?;
    let safe_debug = match profile {
        Profile::Safe => {
            // The pattern functions count their steps against the budget.
            crate::pattern::install(lua, &lua.globals().get::<Table>("string")?)?;
            Some(debug::library(lua)?)
        }
        Profile::Trusted => None,
    };
    let profile = match profile {
        Profile::Safe => "safe",
        Profile::Trusted => "trusted",
    };
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
    lua.load(include_str!("sandbox.lua"))
        .set_name(SANDBOX_SOURCE)
        .set_mode(ChunkMode::Text)
        .call((
            profile,
            api,
            halted,
            error_text,
            read_script,
            read_module,
            with_caller_env,
            safe_debug,
            roots_path,
            charge,
            lua.create_function(crate::outcome::note_error_table)?,
        ))
}

/// The source name of `sandbox.lua` (chunk `zephyr.sandbox`).
pub(crate) const SANDBOX_SOURCE: &str = "=zephyr.sandbox";

/// The environment of the nearest script function on the call stack (for
/// the shared `load`, `require`, ...): the `_ENV` upvalue of the first Lua
/// function above the calling Rust function that is not the sandbox's own
/// and has one. `None` when no such function is on the stack.
pub(crate) fn caller_env(lua: &Lua) -> Option<Table> {
    for level in 1.. {
        let found = lua.inspect_stack(level, |frame| {
            // The runtime's own chunks (`=zephyr.sandbox`, `=zephyr.task`).
            if frame
                .source()
                .source
                .as_deref()
                .is_some_and(|s| s.starts_with("=zephyr."))
            {
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

/// Joins `print`'s arguments as Lua does: `tostring` of each, tab-separated.
pub(crate) fn print_line(lua: &Lua, args: MultiValue) -> mlua::Result<String> {
    let tostring: Function = lua.globals().get("tostring")?;
    let mut parts = Vec::with_capacity(args.len());
    for value in args {
        parts.push(tostring.call::<mlua::LuaString>(value)?.to_string_lossy());
    }
    Ok(parts.join("\t"))
}

/// File access for `dofile`, `loadfile`, `require` and `exec`.
#[derive(Debug, Clone)]
pub(crate) struct ScriptFiles {
    pub(crate) roots: Vec<PathBuf>,
    pub(crate) trusted: bool,
}

impl ScriptFiles {
    /// Finds `path` inside the roots (anywhere when trusted). Returns the
    /// resolved file path.
    pub(crate) fn resolve(&self, path: &str) -> std::result::Result<PathBuf, String> {
        let relative = Path::new(path);
        if self.trusted {
            return Ok(relative.to_path_buf());
        }
        let escapes = relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
        if path.is_empty() || escapes {
            return Err(format!(
                "'{path}' is outside the script roots: use a relative path without '..'"
            ));
        }
        if self.roots.is_empty() {
            return Err(format!(
                "cannot read '{path}': no script roots are configured"
            ));
        }
        self.roots
            .iter()
            .map(|root| root.join(relative))
            .find(|candidate| candidate.is_file())
            .ok_or_else(|| format!("cannot find '{path}' in the script roots"))
    }

    /// Reads a script as bytes, as `lua` does (a UTF-8 BOM and a `#` first
    /// line skipped): `(source, chunk name)`.
    pub(crate) fn read(&self, path: &str) -> std::result::Result<(Vec<u8>, String), String> {
        let file = self.resolve(path)?;
        let bytes = std::fs::read(&file).map_err(|e| format!("cannot read '{path}': {e}"))?;
        Ok((
            crate::chunk::file_source(&bytes).into_owned(),
            path.to_owned(),
        ))
    }

    /// `package.path` for the roots: `root/?.lua;root/?/init.lua;...`.
    fn package_path(&self) -> String {
        self.roots
            .iter()
            .flat_map(|root| {
                let root = root.display().to_string();
                let root = root.trim_end_matches('/');
                [format!("{root}/?.lua"), format!("{root}/?/init.lua")]
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    /// Reads module `a.b` from `a/b.lua` or `a/b/init.lua`.
    fn read_module(&self, name: &str) -> std::result::Result<(Vec<u8>, String), String> {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            && !name.split('.').any(str::is_empty);
        if !valid {
            return Err(format!("require: invalid module name '{name}'"));
        }
        let base = name.replace('.', "/");
        let candidates = [format!("{base}.lua"), format!("{base}/init.lua")];
        for candidate in &candidates {
            if self.resolve(candidate).is_ok() {
                return self.read(candidate);
            }
        }
        Err(format!(
            "require: module '{name}' not found in the script roots (tried {})",
            candidates.join(", ")
        ))
    }
}
