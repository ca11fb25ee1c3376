//! One sandboxed Lua state: its configuration, its budget and memory limit,
//! its compile cache, and the executions it runs (each in an environment
//! the sandbox builds).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mlua::chunk::ChunkMode;
use mlua::{Function, IntoLuaMulti, Lua, MultiValue, Table};
use parking_lot::Mutex;

use crate::budget::ExecControl;
use crate::budget::HaltReason;
use crate::budget::Limits;
use crate::chunk::{ChunkCache, ChunkCacheStats, CompiledChunk};
use crate::error::{Error, Result};
use crate::sandbox::Profile;
use crate::script_error::{ScriptError, ScriptErrorKind};
use crate::value::ScriptValue;

/// How to build a [`ScriptState`]. Plain data with documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct StateConfig {
    /// The sandbox profile. Default: [`Profile::Safe`].
    pub profile: Profile,
    /// The instruction budget and the memory limit. Default:
    /// [`Limits::default`].
    pub limits: Limits,
    /// Folders that `dofile`, `loadfile`, `require`, `io.open`, `io.lines`
    /// and the console's `exec` may read from in the safe profile, relative
    /// to the working directory or absolute. A relative path a script gives
    /// is read under each root in turn (the roots play the part of its
    /// working directory); an absolute one only when it lies inside a root;
    /// `..` is fine while the path stays inside. Default: the working
    /// directory, `.`.
    pub script_roots: Vec<PathBuf>,
    /// The seed of `math.random`: each behaviour instance and each job gets
    /// its own stream, derived from this seed and its attach or enqueue
    /// order, so a run's numbers depend on the seed alone. Default:
    /// [`DEFAULT_SEED`](crate::DEFAULT_SEED).
    pub seed: u64,
    /// Records where the Lua time goes (see [`Profiler`]); one profiler
    /// may record many states. Default: none (no call or return hook).
    ///
    /// [`Profiler`]: crate::profile::Profiler
    pub profiler: Option<crate::profile::Profiler>,
    /// A debugging session the state takes part in (see [`Debugger`]).
    /// Default: none.
    ///
    /// [`Debugger`]: crate::debugger::Debugger
    pub debugger: Option<crate::debugger::Debugger>,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            profile: Profile::Safe,
            limits: Limits::default(),
            script_roots: vec![PathBuf::from(".")],
            seed: crate::random::DEFAULT_SEED,
            profiler: None,
            debugger: None,
        }
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
/// use zephyr_lua::{ScriptState, StateConfig};
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
    /// `bind_fresh(factory)`: a compiled chunk's body over a fresh
    /// environment, in one call where `new_env` then the factory are two
    /// (a job's setup, safe profile).
    bind_fresh: Function,
    persistent_env: Option<Table>,
    control: Arc<ExecControl>,
    config: StateConfig,
    chunks: Mutex<ChunkCache>,
    /// Trusted profile: Lua's own `package.loaded`, whose `_G` follows the
    /// running execution's global table.
    loaded: Option<Table>,
    /// Where `math.random` finds the running instance's or job's stream.
    streams: crate::random::StreamSlot,
    /// The stream a job draws from, started over for each job, and
    /// whether a job holds it (a job run while another runs on this state,
    /// from its thread or another, gets a stream of its own).
    job_stream: crate::random::Stream,
    job_stream_held: AtomicBool,
    /// Hot reload's side: the base functions its joins use, the join
    /// function (made on first use), and the instrumented sources.
    reload: Mutex<ReloadSide>,
}

/// A job's hold on its state's job stream; dropped, it lets it go.
struct JobStreamHold<'a>(&'a AtomicBool);

impl<'a> JobStreamHold<'a> {
    /// The hold, unless another job has it.
    fn take(held: &'a AtomicBool) -> Option<Self> {
        held.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
            .then_some(JobStreamHold(held))
    }
}

impl Drop for JobStreamHold<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// See [`ScriptState::keep_locals`].
#[derive(Debug)]
struct ReloadSide {
    /// `require`'s captures of modules' top-level locals, by environment.
    module_captures: Table,
    base: crate::reload::Base,
    joiner: Option<Function>,
    instrumentations: Arc<Mutex<crate::reload::Instrumentations>>,
}

/// A chunk compiled so that running it captures its top-level locals (see
/// [`ScriptState::compile_reloadable`]).
#[derive(Debug, Clone)]
pub struct ReloadableChunk {
    chunk: CompiledChunk,
    /// The captured locals, if the chunk captures any.
    names: Option<Arc<[String]>>,
}

impl ReloadableChunk {
    /// The compiled chunk.
    pub fn chunk(&self) -> &CompiledChunk {
        &self.chunk
    }

    /// The top-level locals a run captures (none: the chunk runs as
    /// written, and a reload keeps nothing of it).
    pub fn captured(&self) -> &[String] {
        self.names.as_deref().unwrap_or_default()
    }
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
        let lua = match config.profile {
            Profile::Safe => Lua::new(),
            Profile::Trusted => crate::trusted::full_lua(),
        };
        let recorder = config
            .profiler
            .as_ref()
            .map(|profiler| profiler.recorder(config.profile == Profile::Safe));
        let labels = Arc::new(crate::profile::Labels::new(recorder.clone()));
        lua.set_app_data(labels.clone());
        let control = Arc::new(ExecControl::new(config.limits.instructions, labels));
        lua.set_app_data(control.clone());

        let api = lua.create_table()?;
        api.set("print", crate::sandbox::print_function(&lua)?)?;
        install(&lua, &api)?;
        let streams =
            crate::random::install(&lua, &lua.globals().get::<Table>("math")?, config.seed)?;

        let instrumentations = Arc::default();
        let module_captures = lua.create_table()?;
        let weak_keys = lua.create_table()?;
        weak_keys.raw_set("__mode", "k")?;
        module_captures.set_metatable(Some(weak_keys))?;
        let setup = crate::sandbox::Setup {
            profile: config.profile,
            script_roots: &config.script_roots,
            memory_limit: config.limits.memory,
            module_captures: &module_captures,
            instrumentations: &instrumentations,
        };
        let new_env = crate::sandbox::build(&lua, &setup, api, &control)?;
        let bind_fresh = lua
            .load("local new_env = ... return function(factory) return (factory(new_env())) end")
            .set_name("=zephyr.jobs")
            .call::<Function>(&new_env)?;
        let persistent_env = if persistent {
            Some(new_env.call::<Table>(())?)
        } else {
            None
        };
        if config.limits.memory > 0 {
            lua.set_memory_limit(config.limits.memory)?;
        }
        // Building leaves garbage behind (the sandbox's setup code, the
        // install's temporaries): a pooled state starts without it.
        lua.gc_collect()?;
        // Last: building the sandbox is the runtime's work, not a script's,
        // and runs outside the budget (however small the budget).
        let debugger = config
            .debugger
            .as_ref()
            .map(crate::debugger::Debugger::attach);
        crate::hook::install(&lua, &control, recorder, debugger)?;
        let loaded = match config.profile {
            Profile::Trusted => Some(lua.named_registry_value::<Table>("_LOADED")?),
            Profile::Safe => None,
        };
        let reload = Mutex::new(ReloadSide {
            module_captures,
            base: crate::reload::Base::of(&lua)?,
            joiner: None,
            instrumentations,
        });
        Ok(ScriptState {
            reload,
            loaded,
            streams,
            job_stream: crate::random::Stream::derived(0, crate::random::StreamKind::Job, 0),
            job_stream_held: AtomicBool::new(false),
            lua,
            new_env,
            bind_fresh,
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

    /// Makes `stream` the one `math.random` draws from on this state, in
    /// the executions the calling thread runs, until the guard drops (the
    /// previous one comes back: callbacks nest). Entering costs no lock.
    /// [`random::enter`](crate::random::enter) without the state's app-data
    /// lookup.
    ///
    /// ```
    /// use zephyr_lua::random::{Stream, StreamKind};
    /// use zephyr_lua::{ScriptState, StateConfig};
    /// let state = ScriptState::new(&StateConfig::default(), |_, _| Ok(()))?;
    /// let draw = |state: &ScriptState| -> Result<String, zephyr_lua::ScriptError> {
    ///     Ok(state.execute("return math.random(1, 1000000)", "draw")?[0].to_string())
    /// };
    /// let (a, same_as_a) = (Stream::derived(7, StreamKind::Job, 1), Stream::derived(7, StreamKind::Job, 1));
    /// let from_a = {
    ///     let _a = state.enter_stream(&a);
    ///     {
    ///         // A nested stream, then a's again once it is dropped.
    ///         let b = Stream::derived(7, StreamKind::Job, 2);
    ///         let _b = state.enter_stream(&b);
    ///         draw(&state)?;
    ///     }
    ///     draw(&state)?
    /// };
    /// let _again = state.enter_stream(&same_as_a);
    /// assert_eq!(from_a, draw(&state)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use = "the stream is the current one only while the guard lives"]
    pub fn enter_stream<'s>(
        &self,
        stream: &'s crate::random::Stream,
    ) -> crate::random::Entered<'s> {
        self.streams.enter(stream)
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
        source: impl AsRef<[u8]>,
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
        source: impl AsRef<[u8]>,
        chunk_name: &str,
    ) -> std::result::Result<Vec<ScriptValue>, ScriptError> {
        self.enter(env)?;
        self.run(chunk_name, || {
            self.lua
                .load(source.as_ref())
                .set_name(crate::chunk::chunk_name(chunk_name))
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
        self.compile_counted(source, chunk_name).0
    }

    /// [`compile`](Self::compile), and whether the chunk came from the
    /// cache.
    fn compile_counted(
        &self,
        source: &[u8],
        chunk_name: &str,
    ) -> (std::result::Result<CompiledChunk, ScriptError>, bool) {
        let mut chunks = self.chunks.lock();
        let before = chunks.stats.hits;
        let chunk = chunks
            .get_or_compile(
                &self.lua,
                source,
                chunk_name,
                self.config.profile == Profile::Trusted,
            )
            .map_err(|e| ScriptError::from_lua(&e, crate::chunk::display_name(chunk_name)));
        (chunk, chunks.stats.hits > before)
    }

    /// Runs a compiled chunk in `env` with `args` (the chunk's `...`),
    /// under the budget. Returns the chunk's return values.
    pub fn run_chunk(
        &self,
        chunk: &CompiledChunk,
        env: &Table,
        args: impl IntoLuaMulti,
    ) -> std::result::Result<Vec<ScriptValue>, ScriptError> {
        self.enter(env)?;
        self.run(chunk.name(), || {
            chunk.bind(&self.lua, env)?.call::<MultiValue>(args)
        })
    }

    /// Runs a job: `source` compiled through the compile cache, in a fresh
    /// environment (the persistent one on a persistent state), with `args`
    /// as the chunk's `...`, drawing `math.random` from the job stream
    /// numbered `stream` (a job's enqueue order). Returns the values and
    /// whether the compiled chunk came from the cache.
    pub fn execute_job(
        &self,
        stream: u64,
        source: &[u8],
        chunk_name: &str,
        args: &[ScriptValue],
    ) -> (std::result::Result<Vec<ScriptValue>, ScriptError>, bool) {
        // The job's own random stream, whichever state runs it: the
        // state's job stream started over, unless another job holds it
        // (then a stream of its own). Held until after the stream's guard
        // has put the generator back (locals drop in reverse order).
        let kind = crate::random::StreamKind::Job;
        let own;
        let held = JobStreamHold::take(&self.job_stream_held);
        let stream = if held.is_some() {
            self.job_stream.start_over(self.config.seed, kind, stream);
            &self.job_stream
        } else {
            own = crate::random::Stream::derived(self.config.seed, kind, stream);
            &own
        };
        let _stream = self.enter_stream(stream);
        let (chunk, hit) = self.compile_counted(source, chunk_name);
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(error) => return (Err(error), hit),
        };
        let values = match args
            .iter()
            .map(|a| a.to_lua(&self.lua))
            .collect::<mlua::Result<MultiValue>>()
        {
            Ok(values) => values,
            Err(e) => return (Err(ScriptError::from_lua(&e, chunk_name)), hit),
        };
        // A safe state's fresh environment needs nothing but the chunk's
        // body over it: one call makes both (a tiny job's setup was three
        // calls through mlua, each a protected call).
        if self.persistent_env.is_none()
            && self.loaded.is_none()
            && let Some(factory) = chunk.factory()
        {
            let body = match self.bind_fresh.call::<Function>(factory) {
                Ok(body) => body,
                Err(e) => return (Err(internal_error(chunk_name, &e.into())), hit),
            };
            return (self.run(chunk.name(), || body.call(values)), hit);
        }
        let env = match self.execution_env() {
            Ok(env) => env,
            Err(e) => return (Err(internal_error(chunk_name, &e)), hit),
        };
        (self.run_chunk(&chunk, &env, values), hit)
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
        self.enter_function(function, label)?;
        self.control.run(&self.lua, label, || {
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
        self.enter_function(function, label)?;
        self.run(label, || function.call::<MultiValue>(args))
    }

    /// Trusted profile: makes `env` the state's global table (what Lua's own
    /// `load`, `loadfile`, `dofile` and `require` give the code they load),
    /// so that each execution's environment is its `_G` in every respect.
    /// The safe profile's loaders find the caller's environment instead.
    fn enter(&self, env: &Table) -> std::result::Result<(), ScriptError> {
        if let Some(loaded) = &self.loaded {
            self.make_global(loaded, env.clone())
                .map_err(|e| ScriptError::from_lua(&e, "enter"))?;
        }
        Ok(())
    }

    /// Trusted: `env` becomes the global table and `package.loaded._G`.
    fn make_global(&self, loaded: &Table, env: Table) -> mlua::Result<()> {
        loaded.raw_set("_G", &env)?;
        self.lua.set_globals(env)
    }

    /// [`enter`](Self::enter) the environment of the function about to run.
    fn enter_function(
        &self,
        function: &Function,
        label: &str,
    ) -> std::result::Result<(), ScriptError> {
        if let Some(loaded) = &self.loaded
            && let Some(env) = function.environment()
        {
            self.make_global(loaded, env)
                .map_err(|e| ScriptError::from_lua(&e, label))?;
        }
        Ok(())
    }

    fn run(
        &self,
        chunk: &str,
        body: impl FnOnce() -> mlua::Result<MultiValue>,
    ) -> std::result::Result<Vec<ScriptValue>, ScriptError> {
        self.control.run_values(&self.lua, chunk, body)
    }

    /// Compiles `source` so that a run of it also captures its top-level
    /// locals, for [`keep_locals`](Self::keep_locals) to keep them at the
    /// next reload: one more return value is added on the line of the
    /// chunk's last statement (line numbers stay). A source that is not
    /// UTF-8, or declares no top-level local, compiles as written.
    pub fn compile_reloadable(
        &self,
        source: &[u8],
        chunk_name: &str,
    ) -> std::result::Result<ReloadableChunk, ScriptError> {
        let instrumentations = self.reload.lock().instrumentations.clone();
        let instrumented = instrumentations.lock().get(source);
        if let Some(instrumented) = instrumented
            && let Ok(chunk) = self.compile(&instrumented.text, chunk_name)
        {
            return Ok(ReloadableChunk {
                chunk,
                names: Some(instrumented.names),
            });
        }
        // Nothing to capture, or the capture does not compile (too many
        // upvalues): as written, with the error the source itself gives.
        Ok(ReloadableChunk {
            chunk: self.compile(source, chunk_name)?,
            names: None,
        })
    }

    /// Runs a [reloadable](Self::compile_reloadable) chunk in `env` under
    /// the budget; returns its capture (`None` when it captures nothing).
    pub fn run_reloadable(
        &self,
        chunk: &ReloadableChunk,
        env: &Table,
    ) -> std::result::Result<Option<crate::reload::Capture>, ScriptError> {
        self.enter(env)?;
        let name = chunk.chunk.name().to_owned();
        let values = self.control.run(&self.lua, &name, || {
            chunk.chunk.bind(&self.lua, env)?.call::<MultiValue>(())
        })?;
        let (Some(names), Some(mlua::Value::Function(capture))) = (&chunk.names, values.back())
        else {
            return Ok(None);
        };
        // The capture only reads its upvalues: a handful of instructions.
        crate::reload::Capture::of(capture.clone(), names)
            .map(Some)
            .map_err(|e| ScriptError::from_lua(&e, &name))
    }

    /// Keeps a chunk's top-level locals across a reload: `old` is the
    /// capture of the version that ran before, `new` that of the version
    /// that just ran in `env`. Every closure the new version made
    /// (reachable from `env`) shares the old version's variable for each
    /// local both declare, so old and new code see one state; a local
    /// whose initial value changed in the file takes the new value; see
    /// [`KeptLocals`](crate::reload::KeptLocals). Runs under the budget.
    pub fn keep_locals(
        &self,
        old: Option<&crate::reload::Capture>,
        new: Option<&crate::reload::Capture>,
        env: &Table,
    ) -> std::result::Result<crate::reload::KeptLocals, ScriptError> {
        self.keep_locals_from(old, new, std::slice::from_ref(env))
    }

    /// [`keep_locals`](Self::keep_locals), the new closures reachable from
    /// any of `roots`.
    fn keep_locals_from(
        &self,
        old: Option<&crate::reload::Capture>,
        new: Option<&crate::reload::Capture>,
        roots: &[Table],
    ) -> std::result::Result<crate::reload::KeptLocals, ScriptError> {
        use crate::reload::KeptLocals;
        let (old, new) = match (old, new) {
            (None, None) => return Ok(KeptLocals::default()),
            (Some(old), None) => {
                let mut dropped: Vec<String> = old.names().map(str::to_owned).collect();
                dropped.sort();
                return Ok(KeptLocals {
                    dropped,
                    ..KeptLocals::default()
                });
            }
            (None, Some(new)) => {
                return Ok(KeptLocals {
                    added: new.names().map(str::to_owned).collect(),
                    ..KeptLocals::default()
                });
            }
            (Some(old), Some(new)) => (old, new),
        };
        let name = "reload";
        let fail = |e: mlua::Error| ScriptError::from_lua(&e, name);
        let joiner = {
            let mut side = self.reload.lock();
            match &side.joiner {
                Some(joiner) => joiner.clone(),
                None => {
                    let joiner = side.base.joiner(&self.lua).map_err(fail)?;
                    side.joiner = Some(joiner.clone());
                    joiner
                }
            }
        };
        let renew = self.lua.create_table().map_err(fail)?;
        for local in old.renewed_in(new) {
            renew.raw_set(local, true).map_err(fail)?;
        }
        let roots = self
            .lua
            .create_sequence_from(roots.iter().cloned())
            .map_err(fail)?;
        self.join(&joiner, old, new, roots, renew)
    }

    /// Runs the join (see `reload.rs`) under the budget.
    fn join(
        &self,
        joiner: &Function,
        old: &crate::reload::Capture,
        new: &crate::reload::Capture,
        roots: Table,
        renew: Table,
    ) -> std::result::Result<crate::reload::KeptLocals, ScriptError> {
        use crate::reload::KeptLocals;
        let values = self.control.run(&self.lua, "reload", || {
            joiner.call::<MultiValue>((
                old.function().clone(),
                new.function().clone(),
                roots,
                renew,
            ))
        })?;
        let list = |i: usize| {
            values
                .get(i)
                .map(crate::reload::strings)
                .unwrap_or_default()
        };
        Ok(KeptLocals {
            kept: list(0),
            renewed: list(1),
            added: list(2),
            dropped: list(3),
        })
    }

    /// Reloads module `name` in `env`, if that environment has required
    /// it: re-runs its file there (the new fields go into the old module
    /// table, so every `local m = require "m"` sees the new functions) and
    /// keeps its top-level locals as [`keep_locals`](Self::keep_locals)
    /// does. `Ok(None)` when `env` has not required it. Safe profile (the
    /// trusted profile's `require` is Lua's own: its modules re-run, and
    /// keep nothing).
    pub fn reload_module(
        &self,
        env: &Table,
        name: &str,
    ) -> std::result::Result<Option<crate::reload::KeptLocals>, ScriptError> {
        let fail = |e: mlua::Error| ScriptError::from_lua(&e, "reload");
        let captures = self.reload.lock().module_captures.clone();
        let old = crate::reload::module_capture(&captures, env, name).map_err(fail)?;
        let chunk = self.compile(crate::reload::RELOAD_MODULE.as_bytes(), "reload")?;
        self.enter(env)?;
        let values = self.control.run(&self.lua, "reload", || {
            chunk.bind(&self.lua, env)?.call::<MultiValue>(name)
        })?;
        if !matches!(values.front(), Some(mlua::Value::Boolean(true))) {
            return Ok(None);
        }
        let new = crate::reload::module_capture(&captures, env, name).map_err(fail)?;
        let mut roots = vec![env.clone()];
        if let Some(mlua::Value::Table(module)) = values.get(1) {
            roots.push(module.clone());
        }
        self.keep_locals_from(old.as_ref(), new.as_ref(), &roots)
            .map(Some)
    }

    /// The host's reason for halting the last execution, if it halted it
    /// (see [`halt`](crate::binding::halt)).
    pub fn halt_reason(&self) -> Option<HaltReason> {
        self.control.host_halt_reason()
    }

    /// Bytes the state currently uses.
    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }

    /// Puts Zephyr's own pattern matcher (the one a Lua without Zephyr's
    /// patch gets) in place of the counted C functions, so that tests run
    /// both on one build. Not for hosts.
    #[doc(hidden)]
    pub fn use_own_pattern_matcher(&self) -> Result<()> {
        let string = self.lua.globals().get::<mlua::Table>("string")?;
        crate::pattern::install_own(&self.lua, &string, &self.control)?;
        Ok(())
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
