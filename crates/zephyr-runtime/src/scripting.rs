//! [`Scripting`]: the front door. One object that owns the scripting system
//! (states, runner, queue, cvars, console) and the behaviours, and runs the
//! frame's [`Stage`]s over the engine's world.

use std::sync::Arc;

use zephyr_cvar::{CVarRegistry, Console};
use zephyr_world::{EngineWorld, EntityId, SharedWorld};

use crate::behaviour::{BehaviourError, BehaviourId, Behaviours, FrameReport, ScriptSource, Stage};
use crate::error::Result;
use crate::outcome::Outcome;
use crate::prefab::EntityTemplate;
use crate::runner::{Job, ScriptHandle};
use crate::system::{ScriptingConfig, ScriptingSystem};

/// The scripting of an engine: build it once with the engine's world, call
/// [`frame`](Self::frame) once per frame on the main thread.
///
/// [`frame`](Self::frame) runs [`stages`](Self::stages) in order (by default
/// [`Stage::FRAME`]: no physics, since an engine steps its own; Zephyr's
/// `zephyr` host runs [`Stage::FRAME_WITH_PHYSICS`]). A host that puts its
/// own systems between stages calls [`run_stage`](Self::run_stage) for each
/// instead. Every stage's failures land in the one [`FrameReport`].
///
/// ```
/// use zephyr_runtime::prelude::*;
///
/// let mut scripting = Scripting::new(ScriptingConfig::default())?;
/// let crate_ = scripting.world().write().create()?;
/// scripting.attach(
///     crate_,
///     &ScriptSource::new("slide.lua", "function on_update(self, dt) zephyr.transform.translate(self, 1, 0, 0) end"),
/// )?;
/// for _ in 0..3 {
///     let report = scripting.frame(1.0 / 60.0);
///     assert!(report.is_clean(), "{report:?}");
/// }
/// assert_eq!(scripting.world().read().transform(crate_)?.position.x, 3.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Scripting {
    system: ScriptingSystem,
    behaviours: Behaviours,
    stages: Vec<Stage>,
}

impl Scripting {
    /// Scripting over a new, empty Zephyr [`World`](zephyr_world::World).
    #[cfg(feature = "hecs-world")]
    pub fn new(config: ScriptingConfig) -> Result<Self> {
        Self::with_world(config, zephyr_world::share(zephyr_world::World::default()))
    }

    /// Scripting over the engine's world (see
    /// [`share`](zephyr_world::share) to keep a typed handle to it).
    pub fn with_world(config: ScriptingConfig, world: SharedWorld) -> Result<Self> {
        Self::with_parts(config, Arc::new(CVarRegistry::new()), world)
    }

    /// Scripting over the engine's world and cvar registry.
    pub fn with_parts(
        config: ScriptingConfig,
        cvars: Arc<CVarRegistry>,
        world: SharedWorld,
    ) -> Result<Self> {
        Ok(Scripting {
            system: ScriptingSystem::with_parts(config, cvars, world)?,
            behaviours: Behaviours::new(),
            stages: Stage::FRAME.to_vec(),
        })
    }

    /// The stages [`frame`](Self::frame) runs, in order.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// Sets the stages [`frame`](Self::frame) runs (for instance
    /// [`Stage::FRAME_WITH_PHYSICS`]).
    pub fn set_stages(&mut self, stages: &[Stage]) {
        self.stages = stages.to_vec();
    }

    /// Stops a frame at its first script error (the stages that [run when
    /// stopped](Stage::runs_when_stopped) still run).
    pub fn set_stop_on_error(&mut self, on: bool) {
        self.behaviours.set_stop_on_error(on);
    }

    /// Runs one frame: every stage of [`stages`](Self::stages), in order.
    pub fn frame(&mut self, dt: f64) -> FrameReport {
        self.behaviours.frame_of(&mut self.system, &self.stages, dt)
    }

    /// Lends `world` to the scripting for the length of `f`: the system's
    /// world (a `W` too, given when it was built: an empty placeholder) and
    /// `world` trade places, `f` runs (frames, stages, jobs, `execute`),
    /// and they trade back, also if `f` panics. For an engine whose world
    /// lives in its own structures (Bevy's `App`) rather than behind the
    /// lock of [`share`](zephyr_world::share).
    ///
    /// Between lends the system holds the placeholder: queue worker jobs
    /// and wait for them inside a lend (a job reads the world it was
    /// queued over, and takes new ids from it).
    ///
    /// ```
    /// use zephyr_runtime::prelude::*;
    ///
    /// let mut scripting = Scripting::with_world(ScriptingConfig::default(), share(World::new("empty")))?;
    /// let mut mine = World::new("mine");
    /// let e = mine.create();
    /// scripting.lend(&mut mine, |scripting| {
    ///     scripting.execute(&format!("zephyr.entity.set_name({e}, 'lent')"), "main.lua");
    ///     scripting.frame(1.0 / 60.0)
    /// })?;
    /// assert_eq!(mine.name(e)?.as_deref(), Some("lent"));
    /// assert_eq!(mine.time().frame, 1);
    /// assert!(!scripting.world().read().exists(e), "the placeholder is back");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lend<W: EngineWorld, R>(
        &mut self,
        world: &mut W,
        f: impl FnOnce(&mut Scripting) -> R,
    ) -> Result<R> {
        /// Trades the two worlds back when dropped.
        struct Lent<'a, W: EngineWorld> {
            slot: SharedWorld,
            world: &'a mut W,
        }
        impl<W: EngineWorld> Lent<'_, W> {
            fn trade(&mut self) {
                if let Some(held) = self.slot.write().downcast_mut::<W>() {
                    std::mem::swap(held, self.world);
                }
            }
        }
        impl<W: EngineWorld> Drop for Lent<'_, W> {
            fn drop(&mut self) {
                self.trade();
            }
        }
        let slot = self.world().clone();
        {
            let held = slot.read();
            if held.downcast_ref::<W>().is_none() {
                return Err(crate::Error::Config(format!(
                    "lend: the world lent is a {}, and the system's world is a {}",
                    std::any::type_name::<W>(),
                    held.type_name()
                )));
            }
        }
        let mut lent = Lent { slot, world };
        lent.trade();
        let result = f(self);
        drop(lent);
        Ok(result)
    }

    /// Runs `stages` in order, adding to `report` (after a stop-on-error
    /// failure only those that [run when stopped](Stage::runs_when_stopped)).
    pub fn run_stages(&mut self, stages: &[Stage], dt: f64, report: &mut FrameReport) {
        self.behaviours
            .run_stages(&mut self.system, stages, dt, report);
    }

    /// Runs one stage, adding what it did to `report`: for a host that
    /// drives the frame itself.
    pub fn run_stage(&mut self, stage: Stage, dt: f64, report: &mut FrameReport) {
        self.behaviours
            .run_stage(&mut self.system, stage, dt, report);
    }

    /// Attaches a behaviour script to an entity; it runs on the main
    /// thread.
    pub fn attach(
        &mut self,
        entity: EntityId,
        script: &ScriptSource,
    ) -> std::result::Result<BehaviourId, BehaviourError> {
        self.behaviours.attach(&self.system, entity, script)
    }

    /// Attaches a behaviour whose `on_update` runs on the workers (see
    /// [`Behaviours::attach_parallel`]).
    pub fn attach_parallel(
        &mut self,
        entity: EntityId,
        script: &ScriptSource,
    ) -> std::result::Result<BehaviourId, BehaviourError> {
        self.behaviours
            .attach_parallel(&self.system, entity, script)
    }

    /// Attaches a behaviour to no entity, in the main script's globals.
    pub fn attach_global(
        &mut self,
        script: &ScriptSource,
    ) -> std::result::Result<BehaviourId, BehaviourError> {
        self.behaviours.attach_global(&self.system, script)
    }

    /// Declares a prefab scripts spawn by name (see
    /// [`ScriptingSystem::add_prefab`]).
    pub fn add_prefab(&self, name: &str, template: EntityTemplate) -> Result<()> {
        self.system.add_prefab(name, template)
    }

    /// Spawns the prefab `name`, at `position` or where the prefab puts
    /// it, as `zephyr.entity.spawn` does: the entity exists at once, its
    /// behaviour starts at the next frame's start phase.
    ///
    /// ```
    /// use zephyr_runtime::prelude::*;
    /// use zephyr_runtime::prefab::EntityTemplate;
    /// use zephyr_runtime::world::glam::DVec3;
    ///
    /// let mut scripting = Scripting::new(ScriptingConfig::default())?;
    /// scripting.add_prefab("Bullet", EntityTemplate {
    ///     tags: Some(vec!["bullet".into()]),
    ///     script: Some(ScriptSource::new("bullet.lua",
    ///         "function on_update(self, dt) zephyr.transform.translate(self, 0, 0, -10 * dt) end")),
    ///     parallel: Some(true),
    ///     ..EntityTemplate::default()
    /// })?;
    /// let bullet = scripting.spawn("Bullet", Some(DVec3::new(0.0, 1.0, 0.0)))?;
    /// assert!(scripting.frame(0.5).is_clean());
    /// assert_eq!(scripting.world().read().transform(bullet)?.position, DVec3::new(0.0, 1.0, -5.0));
    /// assert!(scripting.spawn("Bulet", None).unwrap_err().to_string().contains("did you mean: Bullet?"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn(&self, prefab: &str, position: Option<glam::DVec3>) -> Result<EntityId> {
        self.system.spawn_prefab(prefab, position)
    }

    /// Spawns an entity from a template (see [`ScriptingSystem::spawn`]).
    pub fn spawn_template(&self, template: &EntityTemplate) -> Result<EntityId> {
        self.system.spawn(template)
    }

    /// Detaches a behaviour (its `on_destroy` runs); `Ok(false)` when there
    /// was none.
    pub fn detach(&mut self, id: BehaviourId) -> std::result::Result<bool, BehaviourError> {
        self.behaviours.detach(&self.system, id)
    }

    /// Ends the scene: every behaviour's `on_destroy`, in attach order, then
    /// the writes they made.
    pub fn shutdown(&mut self) -> FrameReport {
        let mut report = self.behaviours.detach_all(&self.system);
        self.behaviours.finish(&mut self.system, &mut report);
        report
    }

    /// Runs a chunk in the main state's globals, now.
    pub fn execute(&self, source: &str, chunk_name: &str) -> Outcome {
        self.system.execute(source, chunk_name)
    }

    /// Queues a job for the workers; its writes land at the next
    /// [`Stage::Sync`].
    pub fn enqueue(&self, job: Job) -> Result<ScriptHandle> {
        self.system.enqueue(job)
    }

    /// Waits for a job (applying what finished meanwhile).
    pub fn wait(&mut self, handle: ScriptHandle) -> Outcome {
        self.system.wait(handle)
    }

    /// The world scripts see. Do not hold its lock across
    /// [`frame`](Self::frame), [`execute`](Self::execute) or a stage: the
    /// scripts take it.
    pub fn world(&self) -> &SharedWorld {
        self.system.world()
    }

    /// The world as its concrete type, read-locked (`None` for another
    /// type).
    pub fn world_ref<W: EngineWorld>(&self) -> Option<parking_lot::MappedRwLockReadGuard<'_, W>> {
        self.system.world_ref()
    }

    /// The world as its concrete type, write-locked (`None` for another
    /// type).
    pub fn world_mut<W: EngineWorld>(&self) -> Option<parking_lot::MappedRwLockWriteGuard<'_, W>> {
        self.system.world_mut()
    }

    /// The cvars.
    pub fn cvars(&self) -> &Arc<CVarRegistry> {
        self.system.cvars()
    }

    /// The console.
    pub fn console(&self) -> &Arc<Console> {
        self.system.console()
    }

    /// The scripting system underneath (states, runner, queue, events).
    pub fn system(&self) -> &ScriptingSystem {
        &self.system
    }

    /// The scripting system underneath, mutably.
    pub fn system_mut(&mut self) -> &mut ScriptingSystem {
        &mut self.system
    }

    /// The behaviours.
    pub fn behaviours(&self) -> &Behaviours {
        &self.behaviours
    }

    /// The behaviours and the system together, for the calls that take
    /// both (reload, calling a behaviour's function).
    pub fn parts_mut(&mut self) -> (&mut Behaviours, &mut ScriptingSystem) {
        (&mut self.behaviours, &mut self.system)
    }
}
