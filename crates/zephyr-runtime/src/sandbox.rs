//! The sandbox: what scripts see (`sandbox.lua` builds their environments
//! over a frozen base of the standard library and the engine API), the
//! shared loaders that find their caller's environment, and file access
//! confined to the script roots.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use mlua::chunk::ChunkMode;
use mlua::{Function, Lua, MultiValue, Table};

use crate::budget::ExecControl;

/// What a script may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// The default. No `io`; `os` limited to `clock`, `time`, `date` and
    /// `difftime`; no `debug`; no `string.dump`; `load` takes text chunks only;
    /// `dofile`, `loadfile` and `require` read `.lua` files only inside the
    /// script roots; `collectgarbage` limited to `collect`, `count`, `step` and
    /// `isrunning`; `setmetatable` refuses `__gc` finalizers.
    #[default]
    Safe,
    /// An explicit opt-in: the standard library as mlua's safe mode loads it
    /// (`io`, full `os`, `package`/`require` from disk, binary chunks,
    /// `string.dump`, unrestricted file paths). Two things stay out even here:
    /// the `debug` library and native C modules, because mlua opens them only
    /// through `unsafe` constructors and this project forbids `unsafe` code.
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
        lua.create_function(move |_, path: String| files.read(&path).map_err(mlua::Error::runtime))?
    };
    let read_module = lua.create_function(move |_, name: String| {
        files.read_module(&name).map_err(mlua::Error::runtime)
    })?;
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
        ))
}

/// The source name of `sandbox.lua` (chunk `zephyr.sandbox`).
const SANDBOX_SOURCE: &str = "=zephyr.sandbox";

/// The environment of the nearest script function on the call stack (for
/// the shared `load`, `require`, ...): the `_ENV` upvalue of the first Lua
/// function above the calling Rust function that is not the sandbox's own
/// and has one. `None` when no such function is on the stack.
fn caller_env(lua: &Lua) -> Option<Table> {
    for level in 1.. {
        let found = lua.inspect_stack(level, |frame| {
            if frame.source().source.as_deref() == Some(SANDBOX_SOURCE) {
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

    /// Reads a script: `(source, chunk name)`.
    pub(crate) fn read(&self, path: &str) -> std::result::Result<(String, String), String> {
        let file = self.resolve(path)?;
        let source =
            std::fs::read_to_string(&file).map_err(|e| format!("cannot read '{path}': {e}"))?;
        Ok((source, path.to_owned()))
    }

    /// Reads module `a.b` from `a/b.lua` or `a/b/init.lua`.
    fn read_module(&self, name: &str) -> std::result::Result<(String, String), String> {
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
