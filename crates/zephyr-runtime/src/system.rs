//! The ScriptingSystem: owns the runtime's parts and, once per frame on the
//! main thread, turns CVar changes into handler calls and applies every
//! queued action.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use mlua::Function;
use zephyr_cvar::{CVarDef, CVarRegistry, Console, DEFAULT_HISTORY};
use zephyr_world::{EngineWorld, EntityId, SharedWorld, Time};

use crate::action::{Action, Command, JobId, MainThreadJob};
use crate::api::{self, Host, MainEnv, PrintSink, resolve_handler};
use crate::error::{Error, Result};
use crate::outcome::Outcome;
use crate::pool::StatePool;
use crate::queue::{ActionQueue, DEFAULT_QUEUE_CAPACITY};
use crate::runner::{Job, RunnerConfig, RunnerShared, ScriptHandle, ScriptRunner};
use zephyr_lua::ScriptValue;
use zephyr_lua::{ScriptState, StateConfig};

/// The world's write lock, held by its owner rather than borrowed from the
/// system (see [`ScriptingSystem::apply_commands`]).
pub(crate) type WorldWriteGuard =
    parking_lot::lock_api::ArcRwLockWriteGuard<parking_lot::RawRwLock, dyn EngineWorld>;

/// The cvar holding the gravity of the physics step.
pub const PHYS_GRAVITY: &str = "phys_gravity";

/// The packages a system's states get: the built-in ones (unless turned
/// off) and the engine's, each function path once.
fn packages_of(config: &ScriptingConfig) -> Result<Vec<crate::api::Package>> {
    let mut packages = if config.builtins {
        crate::api::builtin_packages()
    } else {
        Vec::new()
    };
    packages.extend(config.packages.iter().cloned());
    // Lua's own globals stay Lua's: a package named `string` would hide
    // the string library from every script.
    const LUA_GLOBALS: &[&str] = &[
        "_G",
        "_VERSION",
        "_ENV",
        "assert",
        "collectgarbage",
        "coroutine",
        "debug",
        "dofile",
        "error",
        "getmetatable",
        "io",
        "ipairs",
        "load",
        "loadfile",
        "math",
        "next",
        "os",
        "package",
        "pairs",
        "pcall",
        "print",
        "rawequal",
        "rawget",
        "rawlen",
        "rawset",
        "require",
        "select",
        "setmetatable",
        "string",
        "table",
        "tonumber",
        "tostring",
        "type",
        "utf8",
        "xpcall",
    ];
    let mut seen = std::collections::HashSet::new();
    for package in &packages {
        if package.name.is_empty() || package.name.split('.').any(str::is_empty) {
            return Err(crate::Error::Config(format!(
                "a package needs a name of dotted parts, not '{}'",
                package.name
            )));
        }
        let first = package.name.split('.').next().unwrap_or_default();
        if LUA_GLOBALS.contains(&first) {
            return Err(crate::Error::Config(format!(
                "package '{}': '{first}' is one of Lua's own globals; pick another name",
                package.name
            )));
        }
        for name in package
            .functions
            .iter()
            .map(|f| f.name.as_ref())
            .chain(package.constants.iter().map(|c| c.name.as_ref()))
        {
            let path = format!("{}.{name}", package.name);
            if !seen.insert(path.clone()) {
                return Err(crate::Error::Config(format!(
                    "{path} is declared twice (by two packages, or twice in one)"
                )));
            }
        }
    }
    Ok(packages)
}

/// Registers the cvars the engine itself defines (beside the registry's
/// own `sv_cheats`): `phys_gravity`. [`ScriptingSystem::new`] does this; a
/// tool that checks settings without building a system (`zephyr check`)
/// calls it on a registry of its own.
///
/// ```
/// let cvars = zephyr_runtime::cvar::CVarRegistry::new();
/// zephyr_runtime::register_engine_cvars(&cvars)?;
/// assert_eq!(cvars.get_f64(zephyr_runtime::PHYS_GRAVITY), Some(-9.81));
/// # Ok::<(), zephyr_runtime::cvar::Error>(())
/// ```
pub fn register_engine_cvars(cvars: &CVarRegistry) -> zephyr_cvar::Result<()> {
    cvars.register(
        CVarDef::new(PHYS_GRAVITY, -9.81)
            .help("Gravity: acceleration along Y applied to every rigid body"),
    )
}

/// How to build a [`ScriptingSystem`]. Plain data with documented defaults.
#[derive(Clone)]
pub struct ScriptingConfig {
    /// Worker threads of the runner; the pool gets one state per worker and
    /// the main thread one more (the reference's `workers + 1`).
    /// Default: the machine's available parallelism.
    pub workers: usize,
    /// Capacity of the action queue. Default: [`DEFAULT_QUEUE_CAPACITY`] (256).
    pub queue_capacity: usize,
    /// How every Lua state is built (profile, budget, memory, roots).
    /// Default: [`StateConfig::default`].
    pub state: StateConfig,
    /// Output lines the console keeps. Default: [`DEFAULT_HISTORY`] (512).
    pub console_history: usize,
    /// Where scripts' `print` goes. Default (`None`): the console's output and
    /// the `zephyr::console` tracing target.
    pub print: Option<PrintSink>,
    /// The engine's own packages of functions and constants, installed in
    /// every Lua state beside the built-in ones (see
    /// [`Package`](crate::api::Package)). Default: none.
    pub packages: Vec<crate::api::Package>,
    /// Whether scripts get the built-in packages (`zephyr.*`, `console`,
    /// `cvar`, the legacy `ecs` and `input`, `Key`, `Mouse`, tasks and
    /// events). Default: `true`; without them scripts see the standard
    /// library, `print` and the engine's packages only.
    pub builtins: bool,
}

impl Default for ScriptingConfig {
    fn default() -> Self {
        ScriptingConfig {
            workers: RunnerConfig::default().workers,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            state: StateConfig::default(),
            console_history: DEFAULT_HISTORY,
            print: None,
            packages: Vec::new(),
            builtins: true,
        }
    }
}

impl fmt::Debug for ScriptingConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptingConfig")
            .field("workers", &self.workers)
            .field("queue_capacity", &self.queue_capacity)
            .field("state", &self.state)
            .field("console_history", &self.console_history)
            .field("print", &self.print.as_ref().map(|_| "custom"))
            .field(
                "packages",
                &self.packages.iter().map(|p| &p.name).collect::<Vec<_>>(),
            )
            .field("builtins", &self.builtins)
            .finish()
    }
}

/// What one [`ScriptingSystem::update`] did.
#[derive(Debug, Clone, Default)]
pub struct UpdateReport {
    /// CVar handlers called.
    pub handlers_called: usize,
    /// Worker scripts whose outcome was processed.
    pub scripts_finished: usize,
    /// Scripts re-run on the main thread because they called a
    /// main-thread-only function.
    pub scripts_moved_to_main: usize,
    /// Recorded worker writes applied.
    pub commands_applied: usize,
    /// Every error, in the order it happened: a failed script or handler
    /// ([`Error::LuaRuntimeError`]), a handler that cannot be called
    /// ([`Error::Handler`]), a refused write ([`Error::World`],
    /// [`Error::Refused`], [`Error::CVar`]).
    pub errors: Vec<Error>,
}

impl UpdateReport {
    /// Adds `other`'s counts and errors to this report's.
    pub fn absorb(&mut self, other: UpdateReport) {
        self.handlers_called += other.handlers_called;
        self.scripts_finished += other.scripts_finished;
        self.scripts_moved_to_main += other.scripts_moved_to_main;
        self.commands_applied += other.commands_applied;
        self.errors.extend(other.errors);
    }
}

#[derive(Default)]
struct PendingJob {
    commands: Vec<Command>,
    end: Option<JobEnd>,
}

enum JobEnd {
    Finished(Outcome),
    RunOnMain(Box<MainThreadJob>),
}

/// The scripting system of an engine (the reference's `ScriptingSystem`).
///
/// It owns the cvars, the console, a [`StatePool`] of sandboxed states, the
/// [`ActionQueue`], a [`ScriptRunner`] and the main thread's own persistent
/// Lua state. Call [`update`](Self::update) once per frame on the main thread.
///
/// ```
/// use zephyr_runtime::{ScriptingConfig, ScriptingSystem};
/// let mut system = ScriptingSystem::new(ScriptingConfig { workers: 2, ..Default::default() })?;
/// system.cvars().register(zephyr_cvar::CVarDef::new("r_fov", 75.0))?;
/// system.execute(r#"
///     function OnFOVChanged(name, old, new) fov_log = name .. ": " .. old .. " -> " .. new end
///     cvar.on_change("r_fov", "OnFOVChanged")
/// "#, "init.lua");
/// let handle = system.enqueue_script("cvar.set('r_fov', 90)", None)?;
/// handle.wait();
/// system.update(); // applies the worker's write
/// system.update(); // calls the handler for the change
/// assert_eq!(system.execute("return fov_log", "check").to_string(), "r_fov: 75.0 -> 90.0");
/// # Ok::<(), zephyr_runtime::Error>(())
/// ```
///
/// # Order of effects, and determinism
///
/// Worker scripts' writes and results are applied in the order the scripts
/// were *enqueued*, whatever order they finish in: a script's effects wait in
/// `update()` until every earlier script has finished. Within one script,
/// writes apply in call order. A worker script reads the world as it was when
/// it was enqueued, plus its own writes.
///
/// So a batch of scripts ends in the same world with any number of workers.
/// What `update()` does not promise is *when* in the frame sequence a long
/// script's effects land: it never waits for a running script. A script
/// enqueued while earlier scripts' writes are still in flight reads a world
/// without them, and how many have landed by then is a matter of timing.
/// Hosts that need every frame to be reproducible end each frame with
/// [`sync`](Self::sync), a sync point that waits for the frame's scripts.
///
/// # Thread safety
///
/// The system belongs to the main thread: `update`, `execute` and the main
/// state are for it alone. `enqueue` hands work to the workers.
pub struct ScriptingSystem {
    host: Arc<Host>,
    main: ScriptState,
    pool: StatePool,
    queue: ActionQueue,
    runner: Option<ScriptRunner>,
    jobs: BTreeMap<JobId, PendingJob>,
    next_job: JobId,
    /// What `wait` applied, reported by the next `update`.
    carried: UpdateReport,
    /// How states are built (for lanes built later).
    state_config: StateConfig,
}

impl fmt::Debug for ScriptingSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptingSystem")
            .field("pool", &self.pool)
            .field("queue", &self.queue)
            .field("runner", &self.runner)
            .field("waiting_jobs", &self.jobs.len())
            .finish_non_exhaustive()
    }
}

impl ScriptingSystem {
    /// Builds the system with a fresh cvar registry, over an empty Zephyr
    /// world.
    #[cfg(feature = "hecs-world")]
    pub fn new(config: ScriptingConfig) -> Result<Self> {
        Self::with_cvars(config, Arc::new(CVarRegistry::new()))
    }

    /// Builds the system around an existing cvar registry, with an empty
    /// Zephyr world.
    #[cfg(feature = "hecs-world")]
    pub fn with_cvars(config: ScriptingConfig, cvars: Arc<CVarRegistry>) -> Result<Self> {
        Self::with_parts(
            config,
            cvars,
            zephyr_world::share(zephyr_world::World::default()),
        )
    }

    /// Builds the system around an existing cvar registry and world. Also
    /// registers the cvar `phys_gravity` (float, default -9.81: the
    /// acceleration along Y that [`step_physics`](Self::step_physics) applies).
    pub fn with_parts(
        config: ScriptingConfig,
        cvars: Arc<CVarRegistry>,
        world: SharedWorld,
    ) -> Result<Self> {
        register_engine_cvars(&cvars)?;
        let console = Arc::new(Console::with_history(cvars.clone(), config.console_history));
        let mut host = Host::new(cvars, console, world.clone());
        if let Some(print) = config.print.clone() {
            host.print = print;
        }
        host.packages = packages_of(&config)?;
        host.spawns.set_files(zephyr_lua::ScriptFiles::new(
            config.state.script_roots.clone(),
            config.state.profile,
        ));
        let host = Arc::new(host);
        let pool = StatePool::new(config.workers.max(1), |_| {
            Ok(ScriptState::new(&config.state, |lua, table| {
                api::install(lua, table, &host, false)
            })?)
        })?;
        let main = ScriptState::new_persistent(&config.state, |lua, table| {
            api::install(lua, table, &host, true)
        })?;
        if let Some(env) = main.persistent_env() {
            main.lua().set_app_data(MainEnv(env.clone()));
        }
        let queue = ActionQueue::new(config.queue_capacity);
        let runner = ScriptRunner::with_world(
            RunnerConfig {
                workers: config.workers,
            },
            pool.clone(),
            queue.clone(),
            world,
        )?;
        register_script_commands(&host.console, runner.shared(), &config.state)?;
        Ok(ScriptingSystem {
            host,
            main,
            pool,
            queue,
            runner: Some(runner),
            jobs: BTreeMap::new(),
            next_job: JobId(0),
            carried: UpdateReport::default(),
            state_config: config.state.clone(),
        })
    }

    /// A new worker-side state with the whole API, built like the pool's
    /// (for the lanes of a parallel phase).
    pub(crate) fn new_worker_state(&self) -> Result<ScriptState> {
        let host = self.host.clone();
        Ok(ScriptState::new(&self.state_config, |lua, table| {
            api::install(lua, table, &host, false)
        })?)
    }

    /// Applies writes recorded off the main thread, in order (a parallel
    /// phase's), reporting refused ones. World writes apply under the write
    /// lock in `held`, taken at the first of them and kept across calls (a
    /// phase applies its callbacks' writes one callback after another, and
    /// a lock per callback cost more than the writes); any other command
    /// releases it first. The caller drops `held` when it is done.
    pub(crate) fn apply_commands(
        &mut self,
        held: &mut Option<WorldWriteGuard>,
        commands: impl IntoIterator<Item = Command>,
        report: &mut UpdateReport,
    ) {
        for command in commands {
            let Command::World(command) = command else {
                *held = None;
                self.apply(command, report);
                continue;
            };
            let world = held.get_or_insert_with(|| self.host.world.write_arc());
            report.commands_applied += 1;
            if let Err(error) = world.apply(&command) {
                tracing::error!(target: "zephyr::runtime", "parallel write refused: {error}");
                report.errors.push(Error::World(error));
            }
        }
    }

    /// The entity as people read it, `entity 3:1 "Player"` (the world's
    /// [label](zephyr_world::WorldRead::label) and its name), or `None`
    /// when no such entity exists: for a console or a log showing a value
    /// that is an entity id (scripts see the id, an integer).
    pub fn describe_entity(&self, id: EntityId) -> Option<String> {
        let world = self.host.world.read();
        if !world.exists(id) {
            return None;
        }
        let mut text = format!("entity {}", world.label(id));
        if let Ok(Some(name)) = world.name(id) {
            text.push_str(&format!(" {name:?}"));
        }
        Some(text)
    }

    /// Declares a prefab scripts spawn by name (`zephyr.entity.spawn("Bullet")`),
    /// or replaces the one of that name. Its values are checked here: the
    /// error names the prefab and the key.
    pub fn add_prefab(&self, name: &str, template: crate::prefab::EntityTemplate) -> Result<()> {
        self.host
            .spawns
            .add_prefab(name, template)
            .map_err(Error::Config)
    }

    /// The prefab declared as `name`.
    pub fn prefab(&self, name: &str) -> Option<Arc<crate::prefab::EntityTemplate>> {
        self.host.spawns.prefab(name)
    }

    /// The names of the declared prefabs, sorted.
    pub fn prefab_names(&self) -> Vec<String> {
        self.host.spawns.prefab_names()
    }

    /// Spawns an entity from `template` on the main thread, as
    /// `zephyr.entity.spawn` does: the entity exists at once; its
    /// behaviour (if the template has a script) is attached by the next
    /// start phase ([`Stage::Start`](crate::Stage::Start)).
    pub fn spawn(&self, template: &crate::prefab::EntityTemplate) -> Result<EntityId> {
        template.validate().map_err(Error::Spawn)?;
        let mut world = self.host.world.write();
        let id = world.create().map_err(Error::World)?;
        let made = template
            .commands(id)
            .and_then(|commands| commands.iter().try_for_each(|command| world.apply(command)));
        if let Err(error) = made {
            let _ = world.despawn_now(id);
            return Err(Error::World(error));
        }
        drop(world);
        if let Some(behaviour) = template.behaviour(id) {
            self.host.spawns.push_pending(behaviour);
        }
        Ok(id)
    }

    /// Spawns the prefab `name` (at `position`, or where the prefab puts
    /// it); see [`spawn`](Self::spawn).
    pub fn spawn_prefab(&self, name: &str, position: Option<glam::DVec3>) -> Result<EntityId> {
        let prefab = self.prefab(name).ok_or_else(|| {
            Error::Spawn(format!(
                "no prefab '{name}'{}",
                api::did_you_mean(name, &self.prefab_names())
            ))
        })?;
        let template = match position {
            Some(position) => crate::prefab::EntityTemplate {
                position: Some(position),
                ..(*prefab).clone()
            },
            None => (*prefab).clone(),
        };
        self.spawn(&template).map_err(|e| {
            let why = match e {
                Error::Spawn(why) => why,
                other => other.to_string(),
            };
            Error::Spawn(format!("prefab '{name}': {why}"))
        })
    }

    /// A hot reload's part for spawns: the prefabs' and spawn scripts'
    /// copies of the file at `path` are read again (entities spawned from
    /// now on run the new version). The script's name, if any had it.
    pub(crate) fn reread_spawn_scripts(
        &self,
        path: &std::path::Path,
    ) -> Option<std::result::Result<String, Error>> {
        self.host.spawns.reread(path)
    }

    /// The spawned behaviours waiting for the start phase, in spawn order.
    pub(crate) fn take_pending_behaviours(&self) -> Vec<crate::prefab::PendingBehaviour> {
        self.host.spawns.take_pending()
    }

    /// The cvar registry.
    pub fn cvars(&self) -> &Arc<CVarRegistry> {
        &self.host.cvars
    }

    /// The packages every state of this system has: the built-in ones
    /// (unless turned off) and the engine's.
    pub fn packages(&self) -> &[crate::api::Package] {
        self.host.packages()
    }

    /// The Lua handler `cvar.on_change` set for a cvar, if any: the name of
    /// a main-state global, or the label of a stored function (what
    /// `cvar.get_lua_handler` returns).
    pub fn cvar_handler(&self, name: &str) -> Option<String> {
        self.host.cvar_handlers.lock().get(name).cloned()
    }

    /// The console.
    pub fn console(&self) -> &Arc<Console> {
        &self.host.console
    }

    /// The world scripts see. Do not hold its lock while running scripts
    /// or calling `update()`: the bindings take it.
    pub fn world(&self) -> &SharedWorld {
        &self.host.world
    }

    /// The world as its concrete type `W`, read-locked: `None` when the
    /// system's world is another type. The same locking rule as
    /// [`world`](Self::world) holds.
    pub fn world_ref<W: EngineWorld>(&self) -> Option<parking_lot::MappedRwLockReadGuard<'_, W>> {
        parking_lot::RwLockReadGuard::try_map(self.host.world.read(), |world| {
            world.downcast_ref::<W>()
        })
        .ok()
    }

    /// The world as its concrete type `W`, write-locked: `None` when the
    /// system's world is another type. The same locking rule as
    /// [`world`](Self::world) holds.
    pub fn world_mut<W: EngineWorld>(&self) -> Option<parking_lot::MappedRwLockWriteGuard<'_, W>> {
        parking_lot::RwLockWriteGuard::try_map(self.host.world.write(), |world| {
            world.downcast_mut::<W>()
        })
        .ok()
    }

    /// Starts the next frame: frame number + 1, `delta = dt`,
    /// `elapsed += dt`.
    pub fn advance_frame(&self, dt: f64) {
        let mut world = self.host.world.write();
        let time = world.time();
        world.set_time(Time {
            delta: dt,
            elapsed: time.elapsed + dt,
            frame: time.frame + 1,
        });
    }

    /// Integrates the rigid bodies over the current frame's delta, with the
    /// gravity of the `phys_gravity` cvar (see
    /// [`World::step_physics`](zephyr_world::World::step_physics)). Only
    /// Zephyr's own [`World`](zephyr_world::World) has this physics: for another world this does
    /// nothing (its engine steps its own).
    pub fn step_physics(&self) {
        #[cfg(feature = "hecs-world")]
        if let Some(world) = self
            .host
            .world
            .write()
            .downcast_mut::<zephyr_world::World>()
        {
            use zephyr_world::WorldRead as _;
            let gravity = self.host.cvars.get_f64(PHYS_GRAVITY).unwrap_or(-9.81);
            let dt = world.time().delta;
            world.step_physics(dt, gravity);
        }
    }

    /// The action queue.
    pub fn queue(&self) -> &ActionQueue {
        &self.queue
    }

    /// The pool of worker states.
    pub fn pool(&self) -> &StatePool {
        &self.pool
    }

    /// The runner.
    pub fn runner(&self) -> &ScriptRunner {
        match &self.runner {
            Some(r) => r,
            None => unreachable!("the runner lives until the system is dropped"),
        }
    }

    /// The main thread's persistent Lua state.
    pub fn main_state(&self) -> &ScriptState {
        &self.main
    }

    /// Enqueues a script on the workers (see [`ScriptRunner::enqueue_script`]).
    pub fn enqueue_script(
        &self,
        script: &str,
        on_complete: Option<crate::action::Callback>,
    ) -> Result<ScriptHandle> {
        self.runner().enqueue_script(script, on_complete)
    }

    /// Enqueues a [`Job`] on the workers.
    pub fn enqueue(&self, job: Job) -> Result<ScriptHandle> {
        self.runner().enqueue(job)
    }

    /// Runs a script now on the main state (the reference's synchronous
    /// main-thread execution). Its writes apply at once; the globals it
    /// defines stay for later scripts and handlers.
    pub fn execute(&self, source: &str, chunk_name: &str) -> Outcome {
        self.execute_inner(source, chunk_name)
    }

    /// Emits an event into the scripts: delivered at the next delivery
    /// point of the frame (see [`Behaviours`](crate::Behaviours)) to the
    /// `zephyr.events.on` handlers of `name`, after what is already queued.
    ///
    /// ```
    /// use zephyr_runtime::{EventValue, ScriptingConfig, ScriptingSystem};
    /// let system = ScriptingSystem::new(ScriptingConfig { workers: 1, ..Default::default() })?;
    /// system.emit("level_loaded", vec![EventValue::String("cave".into())]);
    /// # Ok::<(), zephyr_runtime::Error>(())
    /// ```
    pub fn emit(&self, name: impl Into<String>, args: Vec<crate::EventValue>) {
        self.host.events.push_from_engine(crate::Event {
            name: name.into(),
            args,
            target: None,
        });
    }

    /// Sends an event to one entity's behaviours: their
    /// `on_message(self, name, ...)`, at the next delivery point.
    pub fn send(&self, entity: EntityId, name: impl Into<String>, args: Vec<crate::EventValue>) {
        self.host.events.push_from_engine(crate::Event {
            name: name.into(),
            args,
            target: Some(entity),
        });
    }

    /// Takes what scripts emitted and sent since the last call, in emit
    /// order (so a script can ask the engine to play a sound or load a
    /// level). Undrained, the oldest go past
    /// [`OUTBOX_CAPACITY`](crate::OUTBOX_CAPACITY) events.
    pub fn drain_events(&self) -> Vec<crate::Event> {
        self.host.events.drain_outbox()
    }

    /// The events waiting for delivery to scripts, taken (the frame
    /// driver's delivery point).
    pub(crate) fn take_pending_events(&self) -> Vec<crate::Event> {
        self.host.events.take_pending()
    }

    fn execute_inner(&self, source: &str, chunk_name: &str) -> Outcome {
        match self.main.execute(source, chunk_name) {
            Ok(values) => Outcome::Returned(values),
            Err(error) => Outcome::Failed(error),
        }
    }

    /// Calls a main-state handler (a global function, or a function
    /// registered with `cvar.on_change`) with string arguments.
    pub fn call_handler(&self, name: &str, args: &[&str]) -> Result<Vec<ScriptValue>> {
        crate::api::call_named(&self.main, name, args)
    }

    /// Worker jobs whose effects are waiting for an earlier job to finish.
    pub fn waiting_jobs(&self) -> usize {
        self.jobs.len()
    }

    /// Jobs enqueued on the runner whose outcome `update()` has not applied
    /// yet (running, queued, or waiting for an earlier job). A host that
    /// wants every script's effects before it goes on calls `update()` until
    /// this is 0.
    pub fn jobs_in_flight(&self) -> u64 {
        self.runner()
            .stats()
            .enqueued
            .saturating_sub(self.next_job.0)
    }

    /// Processes one frame's worth of scripting work, on the main thread:
    ///
    /// 1. every pending CVar change that has a Lua handler becomes a `CVarLua`
    ///    action, and the handler is called as `handler(name, old, new)` in the
    ///    main state. (These actions go straight to the dispatcher rather than
    ///    through the bounded queue: the main thread is the queue's only
    ///    consumer, so pushing into it could block on itself.)
    /// 2. the actions queued when the update starts are drained (later ones
    ///    wait for the next update, so busy workers cannot stall a frame);
    /// 3. worker scripts' recorded writes and results are applied in enqueue
    ///    order, and scripts that must run on the main thread are run.
    ///
    /// Changes made during an update (by handlers or applied writes) are
    /// handled at the next update, so a handler that sets its own cvar cannot
    /// livelock a frame.
    pub fn update(&mut self) -> UpdateReport {
        let _span = tracing::info_span!("update").entered();
        let mut report = std::mem::take(&mut self.carried);
        for change in self.host.cvars.take_pending_changes() {
            let handler = self.host.cvar_handlers.lock().get(&change.name).cloned();
            if let Some(handler) = handler {
                self.dispatch(
                    Action::CVarLua {
                        handler,
                        name: change.name,
                        old: change.old,
                        new: change.new,
                    },
                    &mut report,
                );
            }
        }
        self.dispatch_waiting(&mut report);
        self.apply_finished_jobs(&mut report);
        report
    }

    /// Waits for a job's outcome on the main thread, applying actions
    /// meanwhile (unlike [`ScriptHandle::wait`], which, called on the main
    /// thread with many jobs in flight, can wait forever: workers block on the
    /// full action queue that only the main thread drains).
    ///
    /// Once it returns, the job's own effects have been applied.
    pub fn wait(&mut self, handle: ScriptHandle) -> Outcome {
        loop {
            if self.next_job > handle.job() {
                // Applied: its worker fulfils the handle right after its
                // last push, if it has not yet.
                return handle.wait();
            }
            // What this applies is reported by the next update().
            let mut report = std::mem::take(&mut self.carried);
            self.dispatch_waiting(&mut report);
            self.apply_finished_jobs(&mut report);
            if self.next_job <= handle.job() && self.queue.is_empty() {
                let unarrived = self.unarrived(handle.job().0 + 1);
                self.wait_for_actions(unarrived, Duration::from_millis(5), &mut report);
            }
            self.carried = report;
        }
    }

    /// How many of the jobs before `until` (a job number) have not sent
    /// their outcome yet, at least: those not applied, less every job that
    /// arrived and waits for an earlier one.
    fn unarrived(&self, until: u64) -> usize {
        usize::try_from(until.saturating_sub(self.next_job.0))
            .unwrap_or(usize::MAX)
            .saturating_sub(self.jobs.len())
    }

    /// Waits at most `timeout` for the workers' next actions, `unarrived`
    /// of which are owed. While half a queue or more is owed (a burst of
    /// jobs), asleep until that many have arrived: the workers run on with
    /// both cores, and the one whose push completes the batch wakes this
    /// thread (4,000 tiny jobs at once: about 10% less time a job than with
    /// a main thread spinning in the channel's wait between results, which
    /// took a third of two cores from the two workers). For fewer, the
    /// channel's own wait, which spins a little first: a frame's results
    /// are taken as they come, where sleeping for a batch of a quarter of
    /// the queue made frames of 100 tiny jobs about 12% slower (the wake-up
    /// came when the frame was nearly over).
    fn wait_for_actions(&mut self, unarrived: usize, timeout: Duration, report: &mut UpdateReport) {
        let batch = (self.queue.capacity() / 2).max(1);
        if unarrived >= batch {
            self.queue.wait_for(batch, timeout);
        } else if let Some(action) = self.queue.pop_timeout(timeout) {
            self.dispatch(action, report);
        }
    }

    /// A sync point: [`update`](Self::update), then waits (blocking the
    /// calling thread) until every job enqueued so far has been applied.
    ///
    /// `update()` applies whatever has finished, so how far the effects of
    /// long scripts have landed in a given frame depends on thread timing.
    /// A host that needs lockstep determinism (replays, networking) calls
    /// `sync()` at the end of each frame instead: then every frame ends in
    /// the same world whatever the number of workers, at the cost of waiting
    /// for the frame's scripts.
    pub fn sync(&mut self) -> UpdateReport {
        let mut report = self.update();
        loop {
            self.dispatch_waiting(&mut report);
            self.apply_finished_jobs(&mut report);
            if self.jobs_in_flight() == 0 {
                return report;
            }
            if self.queue.is_empty() {
                let unarrived = self.unarrived(self.runner().stats().enqueued);
                self.wait_for_actions(unarrived, Duration::from_millis(20), &mut report);
            }
        }
    }

    /// Dispatches the actions in the queue now (not those pushed meanwhile,
    /// so that busy workers cannot keep the main thread here). Waiting for a
    /// job, this frees the workers blocked on a full queue all at once,
    /// instead of one wake-up per action.
    fn dispatch_waiting(&mut self, report: &mut UpdateReport) {
        for _ in 0..self.queue.len() {
            let Some(action) = self.queue.try_pop() else {
                break;
            };
            self.dispatch(action, report);
        }
    }

    fn dispatch(&mut self, action: Action, report: &mut UpdateReport) {
        match action {
            Action::CVarLua {
                handler,
                name,
                old,
                new,
            } => self.call_cvar_handler(&handler, &name, &old, &new, report),
            Action::Commands { job, commands } => {
                self.pending(job).commands.extend(commands);
            }
            Action::ScriptResult { job, outcome } => {
                self.pending(job).end = Some(JobEnd::Finished(outcome));
            }
            Action::RunOnMain(moved) => {
                let job = moved.job;
                self.pending(job).end = Some(JobEnd::RunOnMain(moved));
            }
        }
    }

    fn pending(&mut self, job: JobId) -> &mut PendingJob {
        self.jobs.entry(job).or_default()
    }

    fn apply_finished_jobs(&mut self, report: &mut UpdateReport) {
        // Jobs older than the next expected one (pushed by hand, not by the
        // runner) have nothing to wait for.
        while let Some(entry) = self.jobs.first_entry() {
            let job = *entry.key();
            if job > self.next_job || entry.get().end.is_none() {
                break;
            }
            let pending = entry.remove();
            if job == self.next_job {
                self.next_job = JobId(job.0 + 1);
            }
            for command in pending.commands {
                self.apply(command, report);
            }
            match pending.end {
                Some(JobEnd::Finished(outcome)) => log_outcome(job, &outcome, report),
                Some(JobEnd::RunOnMain(moved)) => self.run_moved(*moved, report),
                None => {}
            }
        }
    }

    fn run_moved(&mut self, mut moved: MainThreadJob, report: &mut UpdateReport) {
        report.scripts_moved_to_main += 1;
        {
            let mut world = self.host.world.write();
            for id in moved.reserved.drain(..) {
                world.release_reserved(id);
            }
        }
        tracing::debug!(target: "zephyr::runtime", job = %moved.job, reason = moved.reason, "running on the main thread");
        let outcome = match self
            .main
            .execute_job(moved.job.0, &moved.source, &moved.chunk_name, &moved.args)
            .0
        {
            Ok(values) => Outcome::Returned(values),
            Err(error) => Outcome::Failed(error),
        };
        let outcome = moved.completion.run_callback(outcome, &moved.chunk_name);
        log_outcome(moved.job, &outcome, report);
        moved.completion.fulfil(outcome);
    }

    fn apply(&mut self, command: Command, report: &mut UpdateReport) {
        report.commands_applied += 1;
        let result = match command {
            Command::Output(bytes) => {
                (self.host.print)(&bytes);
                Ok(())
            }
            Command::SetCVar { name, value } => self
                .host
                .cvars
                .set_from_string(&name, &value)
                .map(drop)
                .map_err(Error::CVar),
            Command::RegisterCVar(def) => self.host.cvars.register(def).map_err(Error::CVar),
            Command::ConsoleExecute { command, origin } => self
                .host
                .console
                .execute_from(&command, &origin)
                .map_err(Error::CVar),
            Command::Emit(event) => {
                self.host.events.push_from_script(event);
                Ok(())
            }
            Command::Attach(behaviour) => {
                self.host.spawns.push_pending(behaviour);
                Ok(())
            }
            Command::Engine(command) => {
                let function = command.function().to_owned();
                command
                    .run(&mut *self.host.world.write())
                    .map_err(|message| Error::Refused {
                        command: function,
                        message,
                    })
            }
            Command::World(command) => {
                self.host
                    .world
                    .write()
                    .apply(&command)
                    .map_err(|e| Error::Refused {
                        command: "world".into(),
                        message: e.to_string(),
                    })
            }
        };
        if let Err(error) = result {
            tracing::error!(target: "zephyr::runtime", "worker write refused: {error}");
            report.errors.push(error);
        }
    }

    fn call_cvar_handler(
        &self,
        handler: &str,
        name: &str,
        old: &str,
        new: &str,
        report: &mut UpdateReport,
    ) {
        let _span = tracing::info_span!(
            "cvar handler",
            label = %format_args!("cvar handler {name}"),
            cvar = %name,
            handler = %handler,
        )
        .entered();
        let function: Function = match resolve_handler(self.main.lua(), handler) {
            Ok(f) => f,
            Err(reason) => {
                let error = Error::Handler {
                    cvar: name.to_owned(),
                    handler: handler.to_owned(),
                    reason: reason.to_string(),
                };
                tracing::error!(target: "zephyr::runtime", "{error}");
                report.errors.push(error);
                return;
            }
        };
        report.handlers_called += 1;
        if let Err(error) = self
            .main
            .call_function(&function, (name, old, new), handler)
        {
            tracing::error!(target: "zephyr::runtime", cvar = name, handler, "{error}");
            report.errors.push(Error::LuaRuntimeError(error));
        }
    }
}

fn log_outcome(job: JobId, outcome: &Outcome, report: &mut UpdateReport) {
    report.scripts_finished += 1;
    match outcome {
        Outcome::Failed(error) => {
            tracing::error!(target: "zephyr::runtime", %job, "{}", outcome);
            report.errors.push(Error::LuaRuntimeError(error.clone()));
        }
        _ => tracing::debug!(target: "zephyr::runtime", %job, "{}", outcome),
    }
}

impl Drop for ScriptingSystem {
    fn drop(&mut self) {
        // Stop the workers first (queued scripts are cancelled), then cancel
        // the scripts that were waiting to move to the main thread, so every
        // job still reaches its callback and handle.
        if let Some(runner) = self.runner.take() {
            runner.shutdown(crate::runner::Shutdown::Cancel);
        }
        while let Some(action) = self.queue.try_pop() {
            if let Action::RunOnMain(moved) = action {
                moved.cancel();
            }
        }
        for (_, pending) in std::mem::take(&mut self.jobs) {
            if let Some(JobEnd::RunOnMain(moved)) = pending.end {
                moved.cancel();
            }
        }
    }
}

/// The console commands that need the runtime: `lua <code>` and `exec <file>`.
fn register_script_commands(
    console: &Console,
    runner: &Arc<RunnerShared>,
    state: &StateConfig,
) -> Result<()> {
    let weak: Weak<RunnerShared> = Arc::downgrade(runner);
    // Enqueues a job for the named console command.
    let enqueue = move |command: &str, job: Job| -> zephyr_cvar::Result<()> {
        let runner = weak
            .upgrade()
            .ok_or_else(|| command_error(command, "the script runner has shut down"))?;
        runner
            .enqueue(job)
            .map(drop)
            .map_err(|e| command_error(command, &e.to_string()))
    };
    let enqueue = Arc::new(enqueue);

    let lua_enqueue = enqueue.clone();
    console.register_multiline_command(
        "lua",
        "lua <code>: runs Lua code on a worker thread (an unfinished chunk takes the next lines)",
        |code| zephyr_lua::chunk::is_incomplete(code.as_bytes()),
        move |console, args| match args {
            // The job's chunk name says who started it: errors read
            // `[lua from cv2.lua:3]:1: ...`, or `console:1: ...` when typed.
            [code] => lua_enqueue(
                "lua",
                Job::new(code.clone()).chunk_name(match console.origin() {
                    Some(origin) => format!("[lua from {origin}]"),
                    None => "console".to_owned(),
                }),
            ),
            _ => Err(zephyr_cvar::Error::Usage {
                command: "lua".into(),
                usage: "lua <code>".into(),
            }),
        },
    )?;

    let files = zephyr_lua::ScriptFiles::new(state.script_roots.clone(), state.profile);
    console.register_command(
        "exec",
        "exec <file>: runs a .lua script on a worker, or a file of console commands",
        move |console, args| {
            let [path] = args else {
                return Err(zephyr_cvar::Error::Usage {
                    command: "exec".into(),
                    usage: "exec <file>".into(),
                });
            };
            let (source, name) = files.read(path).map_err(|e| command_error("exec", &e))?;
            if path.ends_with(".lua") {
                enqueue("exec", Job::new(source).chunk_name(name))
            } else {
                // Console commands are text: an invalid UTF-8 byte becomes U+FFFD.
                console.execute_script_text(&String::from_utf8_lossy(&source), &name)
            }
        },
    )?;
    Ok(())
}

fn command_error(command: &str, message: &str) -> zephyr_cvar::Error {
    zephyr_cvar::Error::Command {
        command: command.to_owned(),
        message: message.to_owned(),
    }
}
