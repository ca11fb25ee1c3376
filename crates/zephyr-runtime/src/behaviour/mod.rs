//! Behaviours: script files attached to entities, each instance with its own
//! environment, and the frame they run in.
//!
//! A behaviour file is compiled once per Lua state (every instance of the
//! same file shares the compiled chunk), runs once per instance in that
//! instance's own environment, and defines any of three callbacks, looked up
//! once when the instance loads:
//!
//! | callback | called | arguments |
//! |---|---|---|
//! | `on_start(self)` | once, at the start of the first frame after it was attached | `self`: the entity id (an integer) |
//! | `on_update(self, dt)` | every frame | `dt`: seconds since the previous frame |
//! | `on_destroy(self)` | once, when the entity is destroyed or the behaviour detached, *before* the entity is removed | |
//!
//! One calling convention: a behaviour attached to an entity gets `self`
//! first. A *global* behaviour (a script run as the main script, attached to
//! no entity) has no `self`, so its callbacks get the same arguments without
//! it: `on_update(dt)`, `on_start()`, `on_destroy()`.
//!
//! | module | its one job |
//! |---|---|
//! | `types` | the public types: ids, sources, errors, reports |
//! | `instance` | one instance: its callbacks, its home state, its errors |
//! | `parallel` | the parallel phase: lanes on worker states |
//! | `messages` | the task and event steps of the frame |
//! | `reload` | hot reload: new code in place, state kept |

mod instance;
mod messages;
mod parallel;
mod reload;
mod types;

use std::collections::HashMap;
use std::fmt;
use std::time::Instant;

use crossbeam_utils::CachePadded;
use mlua::{IntoLuaMulti, Value};
use zephyr_world::EntityId;

pub use crate::source::ScriptSource;
use crate::system::ScriptingSystem;
use instance::{
    Callback, Home, Instance, callback_error, entity_label, entity_name, load, load_failure,
    plain_error,
};
use parallel::{Handoff, Lane};
pub use types::{BehaviourError, BehaviourId, BehaviourInfo, FrameReport, ReloadReport, Stage};
use zephyr_lua::ScriptState;
use zephyr_lua::{ScriptError, ScriptValue};

/// The behaviours of a scene: script instances attached to entities (or to
/// none), their callbacks, and the frame that runs them.
///
/// Instances live in the main state of a [`ScriptingSystem`] (parallel ones
/// in worker-side lane states), which every method takes; they run in
/// attach order.
///
/// ```
/// use zephyr_runtime::{Behaviours, ScriptSource, ScriptingConfig, ScriptingSystem};
/// use zephyr_runtime::world::WorldRead;
///
/// let mut system = ScriptingSystem::new(ScriptingConfig { workers: 1, ..Default::default() })?;
/// let crate_ = system.world().write().create()?;
/// let mover = ScriptSource::new("mover.lua", r#"
///     local speed = 2
///     function on_update(self, dt) zephyr.transform.translate(self, speed * dt, 0, 0) end
/// "#);
/// let mut behaviours = Behaviours::new();
/// behaviours.attach(&system, crate_, &mover)?;
/// for _ in 0..10 {
///     let report = behaviours.frame(&mut system, 0.5);
///     assert!(report.errors.is_empty());
/// }
/// assert_eq!(system.world().read().transform(crate_)?.position.x, 10.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # A frame
///
/// [`frame`](Self::frame) runs, in this order:
///
/// 1. time: frame number + 1, `delta = dt`, `elapsed += dt`
///    (the host applies the frame's input to the world before calling it);
/// 2. the behaviours of the entities spawned since the last frame
///    (`zephyr.entity.spawn` of a prefab with a script) are attached, in
///    spawn order; then `on_start(self)` of every instance attached since
///    the last frame, in attach order;
/// 3. `on_update(self, dt)` of every started serial instance, in attach
///    order, on the calling thread; then ([`run_tasks`](Self::run_tasks))
///    every `zephyr.task` whose wait is over, in order of due time, then
///    creation, each resume under its own budget;
/// 4. the parallel phase ([`parallel_update`](Self::parallel_update)):
///    `on_update` of every parallel instance on the workers (or on the
///    calling thread when the phase is small: see
///    [`set_parallel_threshold`](Self::set_parallel_threshold)), over the
///    live world; their writes applied afterwards in attach order;
/// 5. the physics step;
/// 6. [`ScriptingSystem::sync`]: worker jobs' writes, cvar handlers; then
///    ([`deliver_events`](Self::deliver_events)) the events emitted since
///    the last delivery, in emit order;
/// 7. the destroy phase: for each entity destroyed during the frame, in
///    destroy order, `on_destroy(self)` of its instances (the entity still
///    exists and reads as it was), then the entity is removed. Destroys made
///    in `on_destroy` are handled in the same phase.
///
/// An entity with behaviours is *held* (see
/// [`World::hold_despawn`](zephyr_world::World::hold_despawn)):
/// `zephyr.entity.destroy` marks it, and it goes away in the destroy phase,
/// so `exists` stays true until the end of the frame, as with Unity's
/// `Destroy` or Defold's `go.delete`.
///
/// Callbacks are looked up once, when the instance loads: define them at the
/// top level of the file. Each callback is one execution under the
/// instruction budget.
pub struct Behaviours {
    instances: Vec<Instance>,
    /// One worker-side state (a lane) per worker for parallel behaviours,
    /// built on first use.
    /// Cache-padded: each lane's thread writes its buffers' lengths on
    /// every callback, and must not share a cache line with the next lane.
    lanes: Vec<CachePadded<Lane>>,
    /// The threads the parallel phase hands lanes to (every lane but the
    /// first, which runs on the calling thread): started with the lanes,
    /// they live as long as the behaviours, so no frame spawns a thread.
    threads: Option<rayon::ThreadPool>,
    /// When the phase runs on the calling thread alone instead.
    handoff: Handoff,
    next_lane: usize,
    by_entity: HashMap<EntityId, Vec<BehaviourId>>,
    next_id: u64,
    removals_seen: u64,
    stop_on_error: bool,
}

impl fmt::Debug for Behaviours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Behaviours")
            .field("instances", &self.instances.len())
            .field("stop_on_error", &self.stop_on_error)
            .finish_non_exhaustive()
    }
}

impl Default for Behaviours {
    fn default() -> Self {
        Self::new()
    }
}

impl Behaviours {
    /// No behaviours.
    pub fn new() -> Self {
        Behaviours {
            instances: Vec::new(),
            lanes: Vec::new(),
            threads: None,
            handoff: Handoff::default(),
            next_lane: 0,
            by_entity: HashMap::new(),
            next_id: 0,
            removals_seen: 0,
            stop_on_error: false,
        }
    }

    /// When on, the first error ends the frame (or phase) it happens in,
    /// with [`FrameReport::stopped`] set: for hosts that treat any script
    /// error as fatal. Default: off (errors are reported and the frame goes
    /// on).
    pub fn set_stop_on_error(&mut self, on: bool) {
        self.stop_on_error = on;
    }

    /// The parallel phase hands its lanes to worker threads only when its
    /// work, estimated from what its callbacks took in earlier frames, is at
    /// least `threshold`. Below it the lanes run one after the other on the
    /// calling thread, which costs less than waking threads for a few
    /// callbacks (the first phase runs so too, and measures them). The
    /// results are the same either way: the writes are applied in attach
    /// order. [`FrameReport::parallel_threads`] says which it was. Default:
    /// 500 µs (waking a sleeping thread measured 50-100 µs on a 2-core
    /// virtual machine: see BENCHMARKS.md); `Duration::ZERO` always hands
    /// off, `Duration::MAX` never.
    pub fn set_parallel_threshold(&mut self, threshold: std::time::Duration) {
        self.handoff.threshold = threshold;
    }

    /// Attaches `script` to `entity`: runs the script in a fresh environment
    /// of the main state and looks its callbacks up. `on_start` runs at the
    /// start of the next frame (or the next [`start`](Self::start)).
    pub fn attach(
        &mut self,
        system: &ScriptingSystem,
        entity: EntityId,
        script: &ScriptSource,
    ) -> std::result::Result<BehaviourId, BehaviourError> {
        self.attach_in(system, entity, script, Home::Main)
    }

    /// Attaches `script` to `entity` as a *parallel* behaviour: its
    /// `on_update` runs in the frame's parallel phase, on a worker thread,
    /// next to the other parallel behaviours (see the type's docs). The
    /// instance lives in one worker-side state for its whole life (its
    /// environment and upvalues persist there); instances are dealt to the
    /// lanes (one per worker) in attach order. `on_start` and `on_destroy` still
    /// run on the main thread, in order with every other behaviour.
    pub fn attach_parallel(
        &mut self,
        system: &ScriptingSystem,
        entity: EntityId,
        script: &ScriptSource,
    ) -> std::result::Result<BehaviourId, BehaviourError> {
        if self.lanes.is_empty() {
            let workers = system.runner().workers().max(1);
            for _ in 0..workers {
                let state = system.new_worker_state().map_err(|e| {
                    load_failure(
                        system,
                        Some(entity),
                        plain_error(script.name(), format!("{}: {e}", script.name())),
                    )
                })?;
                self.lanes.push(CachePadded::new(Lane::new(state)));
            }
            self.threads = parallel::lane_threads(workers);
        }
        let lane = self.next_lane % self.lanes.len();
        let id = self.attach_in(system, entity, script, Home::Lane(lane))?;
        self.next_lane += 1;
        Ok(id)
    }

    fn attach_in(
        &mut self,
        system: &ScriptingSystem,
        entity: EntityId,
        script: &ScriptSource,
        home: Home,
    ) -> std::result::Result<BehaviourId, BehaviourError> {
        let state = home_state(&self.lanes, system, home);
        let fail = |error: ScriptError| load_failure(system, Some(entity), error);
        if !system.world().read().exists(entity) {
            return Err(fail(plain_error(
                script.name(),
                format!("{}: entity {entity} does not exist", script.name()),
            )));
        }
        let env = state.new_env().map_err(|e| {
            fail(plain_error(
                script.name(),
                format!("{}: {e}", script.name()),
            ))
        })?;
        let id = BehaviourId(self.next_id);
        let label = entity_name(system, entity)
            .unwrap_or_else(|| format!("entity {}", entity_label(system, entity)));
        let instance =
            load(state, env, Some(entity), script, id, home, label.into()).map_err(fail)?;
        self.next_id += 1;
        let _ = system.world().write().hold_despawn(entity);
        self.by_entity.entry(entity).or_default().push(instance.id);
        self.instances.push(instance);
        Ok(id)
    }

    /// Attaches `script` as a *global* behaviour: no entity, and its
    /// environment is the main state's persistent one (its globals are the
    /// main script's, as with [`ScriptingSystem::execute`]). Its callbacks
    /// get no `self`: `on_update(dt)`.
    pub fn attach_global(
        &mut self,
        system: &ScriptingSystem,
        script: &ScriptSource,
    ) -> std::result::Result<BehaviourId, BehaviourError> {
        let state = system.main_state();
        let fail = |error: ScriptError| load_failure(system, None, error);
        let env = state.execution_env().map_err(|e| {
            fail(plain_error(
                script.name(),
                format!("{}: {e}", script.name()),
            ))
        })?;
        let id = BehaviourId(self.next_id);
        let instance = load(
            state,
            env,
            None,
            script,
            id,
            Home::Main,
            script.shared_name(),
        )
        .map_err(fail)?;
        self.next_id += 1;
        self.instances.push(instance);
        Ok(id)
    }

    /// Detaches a behaviour: its `on_destroy` runs (if it started), with its
    /// entity still there, and the instance is dropped. The entity stays.
    /// Returns `Ok(false)` if there was no such behaviour.
    pub fn detach(
        &mut self,
        system: &ScriptingSystem,
        id: BehaviourId,
    ) -> std::result::Result<bool, BehaviourError> {
        let Some(index) = self.index(id) else {
            return Ok(false);
        };
        let instance = self.instances.remove(index);
        if let Some(entity) = instance.entity
            && let Some(ids) = self.by_entity.get_mut(&entity)
        {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                self.by_entity.remove(&entity);
                system.world().write().release_despawn(entity);
            }
        }
        let destroyed = if instance.started {
            instance.call(system.main_state(), Callback::Destroy, None)
        } else {
            None
        };
        Self::end_tasks(system, [id]);
        if let Some(Err(error)) = destroyed {
            return Err(callback_error(system, &instance, Callback::Destroy, error));
        }
        Ok(true)
    }

    /// Detaches every behaviour, in attach order (the end of a run, or a
    /// scene unload): each one's `on_destroy` runs with its entity still
    /// there. Entities stay.
    pub fn detach_all(&mut self, system: &ScriptingSystem) -> FrameReport {
        let mut report = FrameReport::default();
        let started = Instant::now();
        let instances = std::mem::take(&mut self.instances);
        let ids: Vec<BehaviourId> = instances.iter().map(|i| i.id).collect();
        for instance in instances {
            let state = home_state(&self.lanes, system, instance.home);
            if instance.started
                && !instance.removed
                && let Some(result) = instance.call(state, Callback::Destroy, None)
            {
                report.destroyed += 1;
                if let Err(error) = result {
                    report
                        .errors
                        .push(callback_error(system, &instance, Callback::Destroy, error));
                }
            }
        }
        Self::end_tasks(system, ids);
        let mut world = system.world().write();
        for (entity, _) in self.by_entity.drain() {
            world.release_despawn(entity);
        }
        report.script_time += started.elapsed();
        report
    }

    /// Every live behaviour, in attach order.
    pub fn list(&self) -> impl Iterator<Item = BehaviourInfo> + '_ {
        self.instances
            .iter()
            .filter(|i| !i.removed)
            .map(Instance::info)
    }

    /// The behaviours attached to `entity`, in attach order.
    pub fn of_entity(&self, entity: EntityId) -> &[BehaviourId] {
        self.by_entity.get(&entity).map_or(&[], Vec::as_slice)
    }

    /// The Lua memory the behaviours' states hold, in bytes: the main
    /// state's (serial behaviours, tasks, the main script) and the parallel
    /// lanes'.
    pub fn lua_memory(&self, system: &ScriptingSystem) -> usize {
        system.main_state().used_memory()
            + self
                .lanes
                .iter()
                .map(|lane| lane.state.used_memory())
                .sum::<usize>()
    }

    /// Runs a full garbage collection in every state the behaviours run
    /// in (the main state and the parallel lanes): for a host between
    /// levels, or one measuring what its scripts hold.
    pub fn collect_garbage(&self, system: &ScriptingSystem) {
        let states =
            std::iter::once(system.main_state()).chain(self.lanes.iter().map(|l| &l.state));
        for state in states {
            if let Err(error) = state.lua().gc_collect() {
                tracing::warn!(target: "zephyr::behaviour", "garbage collection failed: {error}");
            }
        }
    }

    /// How many behaviours are attached.
    pub fn len(&self) -> usize {
        self.instances.iter().filter(|i| !i.removed).count()
    }

    /// Whether none is attached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls the function `name` that a behaviour's script defines, with
    /// `self` first (for a behaviour with an entity), then `args`, under the
    /// budget; returns what it returns.
    pub fn call(
        &self,
        system: &ScriptingSystem,
        id: BehaviourId,
        name: &str,
        args: impl IntoLuaMulti,
    ) -> std::result::Result<Vec<ScriptValue>, BehaviourError> {
        let during = format!("call {name}");
        let Some(instance) = self.index(id).map(|i| &self.instances[i]) else {
            return Err(BehaviourError {
                behaviour: Some(id),
                entity: None,
                entity_name: None,
                entity_label: None,
                during,
                error: Box::new(plain_error("behaviours", format!("no behaviour {id}"))),
            });
        };
        let fail = |error: ScriptError| BehaviourError {
            behaviour: Some(id),
            entity: instance.entity,
            entity_name: instance.entity.and_then(|e| entity_name(system, e)),
            entity_label: instance.entity.map(|e| entity_label(system, e)),
            during: during.clone(),
            error: Box::new(error),
        };
        let function = match instance.env.raw_get::<Value>(name) {
            Ok(Value::Function(f)) => f,
            _ => {
                return Err(fail(plain_error(
                    &instance.script,
                    format!("{}: {id} defines no function '{name}'", instance.script),
                )));
            }
        };
        let state = home_state(&self.lanes, system, instance.home);
        let lua = state.lua();
        let mut args = args
            .into_lua_multi(lua)
            .map_err(|e| fail(ScriptError::from_lua(&e, &instance.script)))?;
        // A table or function of another Lua state cannot cross into this
        // one: refused here, before mlua would panic on it.
        let weak = lua.weak();
        if let Some(position) = args
            .iter()
            .position(|v| v.weak_lua().is_some_and(|owner| *owner != weak))
        {
            return Err(fail(plain_error(
                &instance.script,
                format!(
                    "{}: argument {} of '{name}' is a Lua value of another Lua state \
                     (pass plain values, or values made in this behaviour's state)",
                    instance.script,
                    position + 1
                ),
            )));
        }
        if let Some(entity) = instance.entity {
            args.push_front(Value::Integer(entity.to_lua()));
        }
        let _stream = state.enter_stream(&instance.random);
        state
            .call_function(&function, args, &instance.script)
            .map_err(fail)
    }

    /// Runs one whole frame (see the type's docs for the order). Without
    /// stop-on-error, every phase runs whatever fails.
    pub fn frame(&mut self, system: &mut ScriptingSystem, dt: f64) -> FrameReport {
        self.frame_of(system, &Stage::FRAME_WITH_PHYSICS, dt)
    }

    /// Runs a frame of the given stages, in order; after a stop-on-error
    /// failure only the stages that [run when
    /// stopped](Stage::runs_when_stopped) still run.
    pub fn frame_of(
        &mut self,
        system: &mut ScriptingSystem,
        stages: &[Stage],
        dt: f64,
    ) -> FrameReport {
        let _span = tracing::info_span!(target: "zephyr::behaviour", "frame").entered();
        let mut report = FrameReport::default();
        self.run_stages(system, stages, dt, &mut report);
        report
    }

    /// Runs `stages` in order, adding to `report`; once the report is
    /// stopped (stop-on-error), only the stages that [run when
    /// stopped](Stage::runs_when_stopped).
    pub fn run_stages(
        &mut self,
        system: &mut ScriptingSystem,
        stages: &[Stage],
        dt: f64,
        report: &mut FrameReport,
    ) {
        for &stage in stages {
            if !report.stopped || stage.runs_when_stopped() {
                self.run_stage(system, stage, dt, report);
            }
        }
    }

    /// Step 2 of a frame: `on_start` of the instances not started yet. A
    /// host calls it on its own before the first frame to start the scene at
    /// frame 0.
    pub fn start(&mut self, system: &ScriptingSystem, report: &mut FrameReport) {
        let started = Instant::now();
        self.attach_spawned(system, report);
        let lanes = &self.lanes;
        for instance in self.instances.iter_mut().filter(|i| !i.started) {
            let state = home_state(lanes, system, instance.home);
            instance.started = true;
            let Some(result) = instance.call(state, Callback::Start, None) else {
                continue;
            };
            report.started += 1;
            if let Err(error) = result
                && report.fail(
                    callback_error(system, instance, Callback::Start, error),
                    self.stop_on_error,
                )
            {
                break;
            }
        }
        report.script_time += started.elapsed();
    }

    /// Attaches the behaviours of the entities spawned since the last start
    /// phase, in spawn order (an entity destroyed meanwhile gets none: it
    /// never started, so nothing is owed to it).
    fn attach_spawned(&mut self, system: &ScriptingSystem, report: &mut FrameReport) {
        for pending in system.take_pending_behaviours() {
            if !system.world().read().exists(pending.entity) {
                continue;
            }
            let attached = if pending.parallel {
                self.attach_parallel(system, pending.entity, &pending.script)
            } else {
                self.attach(system, pending.entity, &pending.script)
            };
            if let Err(error) = attached {
                report.fail(error, self.stop_on_error);
            }
        }
    }

    /// Step 3 of a frame: `on_update(self, dt)` of every started instance
    /// that is not parallel, on the calling (main) thread.
    pub fn update(&mut self, system: &ScriptingSystem, dt: f64, report: &mut FrameReport) {
        let started = Instant::now();
        let state = system.main_state();
        let serial = |i: &&Instance| i.started && !i.removed && i.home == Home::Main;
        for instance in self.instances.iter().filter(serial) {
            let Some(result) = instance.call(state, Callback::Update, Some(dt)) else {
                continue;
            };
            report.updated += 1;
            if let Err(error) = result
                && report.fail(
                    callback_error(system, instance, Callback::Update, error),
                    self.stop_on_error,
                )
            {
                break;
            }
        }
        report.script_time += started.elapsed();
    }

    /// Steps 5 to 7 of a frame: the stages after the updates
    /// ([`Stage::AFTER_UPDATES`]: physics, the sync point, events, the
    /// destroy phase, task failures, the input's edges).
    pub fn finish(&mut self, system: &mut ScriptingSystem, report: &mut FrameReport) {
        self.run_stages(system, &Stage::AFTER_UPDATES, 0.0, report);
    }

    /// Runs one stage of a frame (see [`Stage`] for what each does; a host
    /// that drives the frame itself calls them in [`Stage::FRAME`]'s order).
    /// `dt` is the frame's delta, used by [`Stage::AdvanceTime`],
    /// [`Stage::Update`] and [`Stage::Parallel`].
    pub fn run_stage(
        &mut self,
        system: &mut ScriptingSystem,
        stage: Stage,
        dt: f64,
        report: &mut FrameReport,
    ) {
        match stage {
            Stage::AdvanceTime => system.advance_frame(dt),
            Stage::Start => self.start(system, report),
            Stage::Update => self.update(system, dt, report),
            Stage::Tasks => self.run_tasks(system, report),
            Stage::Parallel => self.parallel_update(system, dt, report),
            Stage::Physics => {
                let _span = tracing::info_span!(target: "zephyr::behaviour", "physics").entered();
                system.step_physics();
            }
            Stage::Sync => {
                let started = Instant::now();
                let _span = tracing::info_span!(target: "zephyr::behaviour", "sync").entered();
                let update = system.sync();
                if self.stop_on_error && !update.errors.is_empty() {
                    report.stopped = true;
                }
                report.update.absorb(update);
                report.script_time += started.elapsed();
            }
            Stage::Events => self.deliver_events(system, report),
            Stage::Destroy => self.destroy_phase(system, report),
            Stage::TaskFailures => {
                if let Some(hooks) = crate::task::Hooks::of(system.main_state().lua()) {
                    self.report_task_failures(system, &hooks, report);
                }
            }
            // The frame's input edges end with it (`was_pressed` is this
            // frame's).
            Stage::EndInput => system.world().write().input_mut().end_frame(),
        }
    }

    /// Step 7: `on_destroy` of the instances of every entity destroyed this
    /// frame, then the entity's removal.
    pub fn destroy_phase(&mut self, system: &ScriptingSystem, report: &mut FrameReport) {
        let started = Instant::now();
        // Entities removed behind the hold (by engine code): their
        // instances go without a callback, since there is nothing to read.
        let removals = system.world().read().removals();
        if removals != self.removals_seen {
            let world = system.world().read();
            for instance in &mut self.instances {
                if let Some(entity) = instance.entity
                    && !world.exists(entity)
                {
                    instance.removed = true;
                    self.by_entity.remove(&entity);
                }
            }
        }
        loop {
            let doomed = system.world().write().take_doomed();
            if doomed.is_empty() {
                break;
            }
            for entity in doomed {
                for id in self.by_entity.remove(&entity).unwrap_or_default() {
                    let Some(index) = self.index(id) else {
                        continue;
                    };
                    let instance = &mut self.instances[index];
                    instance.removed = true;
                    if !instance.started {
                        continue;
                    }
                    let Some(result) = instance.call(system.main_state(), Callback::Destroy, None)
                    else {
                        continue;
                    };
                    report.destroyed += 1;
                    if let Err(error) = result {
                        let error = callback_error(system, instance, Callback::Destroy, error);
                        report.errors.push(error);
                    }
                }
                let _ = system.world().write().despawn_now(entity);
            }
        }
        self.removals_seen = system.world().read().removals();
        Self::end_tasks(
            system,
            self.instances.iter().filter(|i| i.removed).map(|i| i.id),
        );
        self.instances.retain(|i| !i.removed);
        report.script_time += started.elapsed();
    }

    fn index(&self, id: BehaviourId) -> Option<usize> {
        self.instances
            .binary_search_by_key(&id, |i| i.id)
            .ok()
            .filter(|&i| !self.instances[i].removed)
    }
}

fn home_state<'a>(
    lanes: &'a [CachePadded<Lane>],
    system: &'a ScriptingSystem,
    home: Home,
) -> &'a ScriptState {
    match home {
        Home::Main => system.main_state(),
        Home::Lane(lane) => &lanes[lane].state,
    }
}
