//! One sandboxed Lua state: its profile, instruction budget, memory limit and
//! the fresh environment each execution gets.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use mlua::chunk::ChunkMode;
use mlua::{Function, HookTriggers, IntoLuaMulti, Lua, MultiValue, Table, VmState};
use parking_lot::Mutex;

use crate::chunk::{ChunkCache, ChunkCacheStats, CompiledChunk};
use crate::error::{Error, Result};
use crate::outcome::{
    BudgetExceeded, MainThreadRequired, ScriptError, ScriptErrorKind, ScriptValue,
};

/// The default per-execution instruction budget: 50 million Lua VM
/// instructions, roughly a tenth to half a second of pure Lua on a desktop CPU.
pub const DEFAULT_INSTRUCTION_BUDGET: u64 = 50_000_000;

/// The default memory limit of one Lua state: 64 MiB.
pub const DEFAULT_MEMORY_LIMIT: usize = 64 * 1024 * 1024;

/// How often (in VM instructions) the budget hook runs.
const HOOK_STEP: u32 = 1000;

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

/// How to build a [`ScriptState`]. Plain data with documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct StateConfig {
    /// The sandbox profile. Default: [`Profile::Safe`].
    pub profile: Profile,
    /// The most VM instructions one execution (a script, a handler call) may
    /// run before it is stopped with an error; `0` turns the budget off.
    /// Default: [`DEFAULT_INSTRUCTION_BUDGET`].
    pub instruction_budget: u64,
    /// The most bytes the state may allocate; `0` turns the limit off.
    /// Default: [`DEFAULT_MEMORY_LIMIT`].
    pub memory_limit: usize,
    /// Folders that `dofile`, `loadfile`, `require` and the console's `exec`
    /// may read from in the safe profile (relative paths only, no `..`).
    /// Default: the working directory, `.`.
    pub script_roots: Vec<PathBuf>,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            profile: Profile::Safe,
            instruction_budget: DEFAULT_INSTRUCTION_BUDGET,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            script_roots: vec![PathBuf::from(".")],
        }
    }
}

/// Why the current execution was halted.
#[derive(Debug, Clone)]
pub(crate) enum Halt {
    Budget(BudgetExceeded),
    MainThread(MainThreadRequired),
}

impl Halt {
    fn to_lua_error(&self) -> mlua::Error {
        match self {
            Halt::Budget(e) => mlua::Error::external(e.clone()),
            Halt::MainThread(e) => mlua::Error::external(e.clone()),
        }
    }
}

/// Per-state execution control: the instruction counter, the nesting depth of
/// executions, and the halt flag. Shared with the hook and, as app data, with
/// the bindings.
#[derive(Debug)]
pub(crate) struct ExecControl {
    used: AtomicU64,
    limit: u64,
    depth: AtomicU32,
    /// Whether `halt` is set: read on every hook tick and every execution,
    /// so the mutex is only taken once something halted.
    halted: AtomicBool,
    halt: Mutex<Option<Halt>>,
}

impl ExecControl {
    fn set_halt(&self, halt: Halt) {
        let mut slot = self.halt.lock();
        if slot.is_none() {
            *slot = Some(halt);
        }
        self.halted.store(true, Ordering::Release);
    }

    fn tick(&self, debug: &mlua::debug::Debug) -> mlua::Result<VmState> {
        if self.halted.load(Ordering::Acquire)
            && let Some(halt) = &*self.halt.lock()
        {
            return Err(halt.to_lua_error());
        }
        let used = self.used.fetch_add(u64::from(HOOK_STEP), Ordering::Relaxed);
        if used < self.limit {
            return Ok(VmState::Continue);
        }
        let source = debug.source();
        let location = match debug.current_line() {
            Some(line) => format!("{}:{line}: ", source.short_src.as_deref().unwrap_or("?")),
            None => String::new(),
        };
        let halt = Halt::Budget(BudgetExceeded {
            budget: self.limit,
            location,
        });
        let err = halt.to_lua_error();
        self.set_halt(halt);
        Err(err)
    }

    /// Halts the current execution because it must run on the main thread.
    pub(crate) fn require_main_thread(&self, function: &'static str) -> mlua::Error {
        let halt = Halt::MainThread(MainThreadRequired { function });
        let err = halt.to_lua_error();
        self.set_halt(halt);
        err
    }

    pub(crate) fn is_halted(&self) -> bool {
        self.halted.load(Ordering::Acquire)
    }

    /// Starts an execution: the outermost one resets the count and the halt.
    fn enter(&self) -> DepthGuard<'_> {
        if self.depth.fetch_add(1, Ordering::AcqRel) == 0 {
            self.used.store(0, Ordering::Relaxed);
            if self.halted.swap(false, Ordering::AcqRel) {
                *self.halt.lock() = None;
            }
        }
        DepthGuard(self)
    }

    /// The script error for a failed execution: the halt, if any, says what
    /// really happened (the script may have replaced the error value in
    /// xpcall's handler).
    fn error(&self, lua: &Lua, err: &mlua::Error, chunk: &str) -> ScriptError {
        let mut error = ScriptError::from_lua(err, chunk);
        if self.is_halted()
            && let Some(Halt::Budget(budget)) = &*self.halt.lock()
        {
            error.kind = ScriptErrorKind::BudgetExceeded;
            error.message = budget.to_string();
        }
        if error.kind == ScriptErrorKind::OutOfMemory {
            let _ = lua.gc_collect();
        }
        error
    }

    /// Like [`run`](Self::run) for a body that returns nothing: no values
    /// are copied out (the per-frame callbacks' path).
    pub(crate) fn run_unit(
        &self,
        lua: &Lua,
        chunk: &str,
        body: impl FnOnce() -> mlua::Result<()>,
    ) -> std::result::Result<(), ScriptError> {
        let guard = self.enter();
        let result = catch_unwind(AssertUnwindSafe(body));
        drop(guard);
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(self.error(lua, &err, chunk)),
            Err(payload) => Err(ScriptError::panic(chunk, payload.as_ref())),
        }
    }

    /// Runs `body` as one budgeted execution, converting errors and panics.
    /// Nested executions (a handler called from inside a script) share the
    /// outermost execution's budget.
    pub(crate) fn run(
        &self,
        lua: &Lua,
        chunk: &str,
        body: impl FnOnce() -> mlua::Result<MultiValue>,
    ) -> std::result::Result<Vec<ScriptValue>, ScriptError> {
        let guard = self.enter();
        let result = catch_unwind(AssertUnwindSafe(body));
        drop(guard);
        match result {
            Ok(Ok(values)) => Ok(values.iter().map(ScriptValue::from_lua).collect()),
            Ok(Err(err)) => Err(self.error(lua, &err, chunk)),
            Err(payload) => Err(ScriptError::panic(chunk, payload.as_ref())),
        }
    }
}

struct DepthGuard<'a>(&'a ExecControl);

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        self.0.depth.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A sandboxed Lua 5.4 state.
///
/// Each execution runs in a fresh environment table that falls back to a
/// read-only view of the standard library and the engine API, under the
/// instruction budget; the state's memory limit bounds everything it holds.
/// A *persistent* state (the main thread's) instead keeps one environment, so
/// that functions one script defines are there for the next (CVar handlers,
/// `on_update`).
///
/// ```
/// use zephyr_runtime::{ScriptState, StateConfig};
/// let state = ScriptState::new(&StateConfig::default(), |_lua, _api| Ok(()))?;
/// state.execute("leaked = 1", "first")?;
/// let values = state.execute("return leaked", "second")?;
/// assert_eq!(values[0].to_string(), "nil"); // every execution starts clean
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Thread safety
///
/// `Send` (mlua's `send` feature), so pools can hand states to worker
/// threads; one thread uses a state at a time.
pub struct ScriptState {
    lua: Lua,
    new_env: Function,
    persistent_env: Option<Table>,
    control: Arc<ExecControl>,
    config: StateConfig,
    chunks: Mutex<ChunkCache>,
}

impl fmt::Debug for ScriptState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptState")
            .field("profile", &self.config.profile)
            .field("persistent", &self.persistent_env.is_some())
            .field("used_memory", &self.lua.used_memory())
            .finish_non_exhaustive()
    }
}

impl ScriptState {
    /// Builds a state whose every execution gets a fresh environment.
    ///
    /// `install(lua, api)` adds the engine API: every key it sets on `api`
    /// becomes a read-only global of the scripts (tables are frozen deeply).
    pub fn new(
        config: &StateConfig,
        install: impl FnOnce(&Lua, &Table) -> mlua::Result<()>,
    ) -> Result<Self> {
        Self::build(config, install, false)
    }

    /// Builds a state with one persistent environment shared by all its
    /// executions (for the main thread).
    pub fn new_persistent(
        config: &StateConfig,
        install: impl FnOnce(&Lua, &Table) -> mlua::Result<()>,
    ) -> Result<Self> {
        Self::build(config, install, true)
    }

    fn build(
        config: &StateConfig,
        install: impl FnOnce(&Lua, &Table) -> mlua::Result<()>,
        persistent: bool,
    ) -> Result<Self> {
        let lua = Lua::new();
        let control = Arc::new(ExecControl {
            used: AtomicU64::new(0),
            limit: if config.instruction_budget == 0 {
                u64::MAX
            } else {
                config.instruction_budget
            },
            depth: AtomicU32::new(0),
            halted: AtomicBool::new(false),
            halt: Mutex::new(None),
        });
        lua.set_app_data(control.clone());
        if config.instruction_budget > 0 {
            let hook_control = control.clone();
            lua.set_global_hook(
                HookTriggers::new().every_nth_instruction(HOOK_STEP),
                move |_lua, debug| hook_control.tick(debug),
            )?;
        }

        let api = lua.create_table()?;
        api.set(
            "print",
            lua.create_function(|lua, args: MultiValue| {
                tracing::info!(target: "zephyr::print", "{}", print_line(lua, args)?);
                Ok(())
            })?,
        )?;
        install(&lua, &api)?;

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
            roots: config.script_roots.clone(),
            trusted: config.profile == Profile::Trusted,
        });
        let read_script = {
            let files = files.clone();
            lua.create_function(move |_, path: String| {
                files.read(&path).map_err(mlua::Error::runtime)
            })?
        };
        let read_module = lua.create_function(move |_, name: String| {
            files.read_module(&name).map_err(mlua::Error::runtime)
        })?;
        let profile = match config.profile {
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
        let new_env: Function = lua
            .load(include_str!("sandbox.lua"))
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
            ))?;
        let persistent_env = if persistent {
            Some(new_env.call::<Table>(())?)
        } else {
            None
        };
        if config.memory_limit > 0 {
            lua.set_memory_limit(config.memory_limit)?;
        }
        Ok(ScriptState {
            lua,
            new_env,
            persistent_env,
            control,
            config: config.clone(),
            chunks: Mutex::new(ChunkCache::default()),
        })
    }

    /// The underlying mlua state, for engine code that needs raw access.
    pub fn lua(&self) -> &Lua {
        &self.lua
    }

    /// The configuration the state was built with.
    pub fn config(&self) -> &StateConfig {
        &self.config
    }

    /// A fresh sandbox environment.
    pub fn new_env(&self) -> Result<Table> {
        Ok(self.new_env.call(())?)
    }

    /// The persistent environment, for a persistent state.
    pub fn persistent_env(&self) -> Option<&Table> {
        self.persistent_env.as_ref()
    }

    /// The environment an execution gets: the persistent one, or a fresh one.
    pub fn execution_env(&self) -> Result<Table> {
        match &self.persistent_env {
            Some(env) => Ok(env.clone()),
            None => self.new_env(),
        }
    }

    /// Runs `source` (text only) as a chunk named `chunk_name`, under the
    /// budget, in [`execution_env`](Self::execution_env). Returns the chunk's
    /// return values.
    pub fn execute(
        &self,
        source: &str,
        chunk_name: &str,
    ) -> std::result::Result<Vec<ScriptValue>, ScriptError> {
        let env = self
            .execution_env()
            .map_err(|e| internal_error(chunk_name, &e))?;
        self.execute_in(&env, source, chunk_name)
    }

    /// Runs `source` in the given environment.
    pub fn execute_in(
        &self,
        env: &Table,
        source: &str,
        chunk_name: &str,
    ) -> std::result::Result<Vec<ScriptValue>, ScriptError> {
        self.run(chunk_name, || {
            self.lua
                .load(source)
                .set_name(format!("={chunk_name}"))
                .set_mode(ChunkMode::Text)
                .set_environment(env.clone())
                .call::<MultiValue>(())
        })
    }

    /// Compiles `source` for this state, once: a later call with the same
    /// text and chunk name returns the cached chunk (see
    /// [`chunk_cache_stats`](Self::chunk_cache_stats)). The chunk runs in any
    /// environment with [`run_chunk`](Self::run_chunk).
    pub fn compile(
        &self,
        source: &[u8],
        chunk_name: &str,
    ) -> std::result::Result<CompiledChunk, ScriptError> {
        self.chunks
            .lock()
            .get_or_compile(&self.lua, source, chunk_name)
            .map_err(|e| ScriptError::from_lua(&e, chunk_name))
    }

    /// Runs a compiled chunk in `env` with `args` (the chunk's `...`),
    /// under the budget. Returns the chunk's return values.
    pub fn run_chunk(
        &self,
        chunk: &CompiledChunk,
        env: &Table,
        args: impl IntoLuaMulti,
    ) -> std::result::Result<Vec<ScriptValue>, ScriptError> {
        self.run(&chunk.name, || chunk.bind(env)?.call::<MultiValue>(args))
    }

    /// Runs a job: `source` compiled through the compile cache, in a fresh
    /// environment (the persistent one on a persistent state), with `args`
    /// as the chunk's `...`. Returns the values and whether the compiled
    /// chunk came from the cache.
    pub(crate) fn execute_job(
        &self,
        source: &str,
        chunk_name: &str,
        args: &[ScriptValue],
    ) -> (std::result::Result<Vec<ScriptValue>, ScriptError>, bool) {
        let before = self.chunk_cache_stats().hits;
        let chunk = match self.compile(source.as_bytes(), chunk_name) {
            Ok(chunk) => chunk,
            Err(error) => return (Err(error), false),
        };
        let hit = self.chunk_cache_stats().hits > before;
        let env = match self.execution_env() {
            Ok(env) => env,
            Err(e) => return (Err(internal_error(chunk_name, &e)), hit),
        };
        let values = args
            .iter()
            .map(|a| a.to_lua(&self.lua))
            .collect::<mlua::Result<MultiValue>>();
        let result = match values {
            Ok(values) => self.run_chunk(&chunk, &env, values),
            Err(e) => Err(ScriptError::from_lua(&e, chunk_name)),
        };
        (result, hit)
    }

    /// Hits and misses of this state's compile cache.
    pub fn chunk_cache_stats(&self) -> ChunkCacheStats {
        self.chunks.lock().stats
    }

    /// Calls a Lua function under the budget and drops what it returns: the
    /// cheaper form of [`call_function`](Self::call_function) for callbacks.
    pub fn call_unit(
        &self,
        function: &Function,
        args: impl IntoLuaMulti,
        label: &str,
    ) -> std::result::Result<(), ScriptError> {
        self.control.run_unit(&self.lua, label, || {
            function.call::<mlua::Value>(args).map(drop)
        })
    }

    /// Calls a Lua function under the budget; `label` names it in errors.
    pub fn call_function(
        &self,
        function: &Function,
        args: impl IntoLuaMulti,
        label: &str,
    ) -> std::result::Result<Vec<ScriptValue>, ScriptError> {
        self.run(label, || function.call::<MultiValue>(args))
    }

    fn run(
        &self,
        chunk: &str,
        body: impl FnOnce() -> mlua::Result<MultiValue>,
    ) -> std::result::Result<Vec<ScriptValue>, ScriptError> {
        self.control.run(&self.lua, chunk, body)
    }

    /// The main-thread-only function that halted the last execution, if any.
    pub(crate) fn main_thread_required(&self) -> Option<&'static str> {
        match &*self.control.halt.lock() {
            Some(Halt::MainThread(m)) => Some(m.function),
            _ => None,
        }
    }

    /// Bytes the state currently uses.
    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }
}

fn internal_error(chunk: &str, err: &Error) -> ScriptError {
    ScriptError {
        kind: match err {
            Error::Lua(mlua::Error::MemoryError(_)) => ScriptErrorKind::OutOfMemory,
            _ => ScriptErrorKind::Runtime,
        },
        message: format!("{chunk}: {err}"),
        chunk: chunk.to_owned(),
        line: None,
        traceback: None,
    }
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
