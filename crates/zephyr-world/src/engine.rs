//! The world the runtime works against: [`EngineWorld`], which an engine
//! implements for its own world (Zephyr's hecs [`World`](crate::World) is one
//! implementation), and [`WorldView`], what worker scripts read.
//!
//! Nothing here assumes hecs: ids are whatever the world mints
//! ([`EntityId`] is opaque bits to Zephyr), components are the game API's
//! value types (an engine converts its own on the way in and out), and how
//! worker jobs see the world (a copy, a version, shared reads) is the
//! implementation's choice.

use std::any::Any;
use std::sync::Arc;

use parking_lot::{ArcRwLockReadGuard, RawRwLock, RwLock};

use crate::access::{Time, WorldRead, WorldWrite};
use crate::error::Result;
use crate::id::EntityId;
use crate::input::Input;

/// A world as worker scripts read it, under their own pending writes: the
/// reads of [`WorldRead`], plus what lets a worker's `find` agree with the
/// main thread's after the worker spawned or renamed entities.
///
/// Creation numbers order entities by when they were created (any
/// increasing counter the world keeps); `find` returns the earliest.
pub trait WorldView: WorldRead + Send + Sync {
    /// Every entity named `name`, as (creation number, id).
    fn named(&self, name: &str) -> Vec<(u64, EntityId)>;
    /// The entity's creation number (`None` when it does not exist).
    fn created(&self, id: EntityId) -> Option<u64>;
    /// The creation number the next entity gets.
    fn next_created(&self) -> u64;
}

/// The world an engine gives the scripting runtime.
///
/// The runtime reads and writes through [`WorldRead`] and [`WorldWrite`]
/// (on the main thread, and from the recorded commands of worker scripts,
/// which it applies there in order); worker jobs read what
/// [`view`](Self::view) returns; parallel behaviours read the world itself
/// (shared, while nothing writes it), or what [`shared`](Self::shared)
/// returns.
///
/// Despawns wait for behaviours: the runtime calls
/// [`hold_despawn`](Self::hold_despawn) for each entity it runs a behaviour
/// on; a [`WorldWrite::despawn`] of a held entity must only mark it (it stays
/// readable) and report it from [`take_doomed`](Self::take_doomed); the
/// runtime then runs the behaviour's `on_destroy` and calls
/// [`despawn_now`](Self::despawn_now). [`DespawnHolds`] does the bookkeeping.
pub trait EngineWorld: WorldView + WorldWrite + Any {
    /// Reserves a fresh id from any thread (a worker script spawning); it
    /// becomes an entity when the spawn command is applied, or is given back
    /// with [`release_reserved`](Self::release_reserved).
    fn reserve_shared(&self) -> EntityId;
    /// Gives back an id reserved but never spawned (its job was cancelled).
    fn release_reserved(&mut self, id: EntityId);
    /// What a worker job reads: a copy of the world as it is now (or a
    /// cheaper equivalent: the implementation chooses). Called when a job is
    /// queued.
    fn view(&self) -> Arc<dyn WorldView>;
    /// A faster reader of this world for a parallel phase, borrowed while
    /// nothing writes the world; `None` (the default) reads the world
    /// itself.
    fn shared(&self) -> Option<Box<dyn WorldView + '_>> {
        None
    }
    /// Defers the despawn of `id` until the runtime calls
    /// [`despawn_now`](Self::despawn_now).
    fn hold_despawn(&mut self, id: EntityId) -> Result<()>;
    /// Ends a hold: despawns of `id` are immediate again (one already
    /// requested stays in the next [`take_doomed`](Self::take_doomed)).
    fn release_despawn(&mut self, id: EntityId);
    /// Held entities despawned since the last call, in despawn order.
    fn take_doomed(&mut self) -> Vec<EntityId>;
    /// Despawns at once, held or not.
    fn despawn_now(&mut self, id: EntityId) -> Result<()>;
    /// A count that changes whenever an entity goes away by any path (the
    /// runtime checks its behaviours' entities only when it changed).
    fn removals(&self) -> u64;
    /// The input state: the host fills it, the frame ends its edges.
    fn input_mut(&mut self) -> &mut Input;
    /// Sets the frame time.
    fn set_time(&mut self, time: Time);
    /// The world's type, for messages (leave the default).
    fn type_name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}

impl dyn EngineWorld {
    /// Applies a command. Zephyr's own world goes through its concrete type
    /// (one type-id compare), so the command's component change inlines
    /// instead of calling through the trait and a closure.
    pub fn apply(&mut self, command: &crate::WorldCommand) -> Result<()> {
        #[cfg(feature = "hecs-world")]
        if let Some(world) = self.downcast_mut::<crate::World>() {
            return command.apply(world);
        }
        command.apply(self)
    }

    /// Creates an entity (a [reserved](EngineWorld::reserve_shared) id,
    /// spawned at once).
    pub fn create(&mut self) -> Result<EntityId> {
        let id = self.reserve_shared();
        self.spawn(id)?;
        Ok(id)
    }

    /// The world as its concrete type, if it is a `W`.
    pub fn downcast_ref<W: EngineWorld>(&self) -> Option<&W> {
        (self as &dyn Any).downcast_ref()
    }

    /// The world as its concrete type, mutably, if it is a `W`.
    pub fn downcast_mut<W: EngineWorld>(&mut self) -> Option<&mut W> {
        (self as &mut dyn Any).downcast_mut()
    }
}

/// The world as the runtime holds it between the main thread and the
/// workers (which only read it: under a parallel phase, or briefly to
/// reserve ids).
pub type SharedWorld = Arc<RwLock<dyn EngineWorld>>;

/// The world held under a read lock for a whole parallel phase, shared by
/// that phase's views on one thread.
pub type LiveWorld = Arc<ArcRwLockReadGuard<RawRwLock, dyn EngineWorld>>;

/// Shares a world with the runtime: keep the typed handle for your own
/// systems, and pass a clone as the [`SharedWorld`] (it coerces).
///
/// ```
/// use zephyr_world::{SharedWorld, World, share};
///
/// let world = share(World::new("arena"));
/// let for_scripts: SharedWorld = world.clone();
/// world.write().create();
/// assert_eq!(world.read().len(), 1);
/// # drop(for_scripts);
/// ```
pub fn share<W: EngineWorld>(world: W) -> Arc<RwLock<W>> {
    Arc::new(RwLock::new(world))
}

/// The despawn bookkeeping of [`EngineWorld`] for a world that keeps none
/// of its own: which entities are held and which of them were despawned.
///
/// ```
/// use zephyr_world::{DespawnHolds, EntityId};
///
/// let mut holds = DespawnHolds::default();
/// let e = EntityId::from_bits(7).unwrap();
/// holds.hold(e);
/// assert!(holds.defer(e), "a held entity's despawn waits");
/// assert_eq!(holds.take_doomed(), [e]);
/// holds.release(e);
/// assert!(!holds.defer(e), "released: despawn at once");
/// ```
#[derive(Debug, Default, Clone)]
pub struct DespawnHolds {
    held: rustc_hash::FxHashSet<EntityId>,
    doomed: Vec<EntityId>,
}

impl DespawnHolds {
    /// Holds `id`'s despawns.
    pub fn hold(&mut self, id: EntityId) {
        self.held.insert(id);
    }

    /// Ends the hold of `id`.
    pub fn release(&mut self, id: EntityId) {
        self.held.remove(&id);
    }

    /// Call from [`WorldWrite::despawn`]: `true` when `id` is held (it is
    /// now doomed: keep it), `false` when it should go at once. A second
    /// despawn of a doomed entity is not reported twice.
    pub fn defer(&mut self, id: EntityId) -> bool {
        if !self.held.contains(&id) {
            return false;
        }
        if !self.doomed.contains(&id) {
            self.doomed.push(id);
        }
        true
    }

    /// The doomed entities, in despawn order.
    pub fn take_doomed(&mut self) -> Vec<EntityId> {
        std::mem::take(&mut self.doomed)
    }

    /// Forgets `id` (call when it is really despawned).
    pub fn forget(&mut self, id: EntityId) {
        self.held.remove(&id);
        self.doomed.retain(|d| *d != id);
    }
}
