//! What worker threads read: a [`Snapshot`] of the world or the live world
//! itself under a read lock (during a parallel phase, when nothing writes
//! it), and a [`WorkerWorld`] that layers a script's own pending writes over
//! either.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::{ArcRwLockReadGuard, RawRwLock, RwLock};

use crate::access::{Time, WorldRead, WorldWrite};
use crate::components::{DataValue, ParticleEmitter, PointLight, RigidBody, Transform};
use crate::error::{Error, Result};
use crate::id::EntityId;
use crate::input::Input;
use crate::world::World;

/// The live world shared between the main thread and the workers (which
/// only take its read lock, briefly, to reserve entity ids).
pub type SharedWorld = Arc<RwLock<World>>;

/// The live world held under a read lock for a whole parallel phase, shared
/// by that phase's views on one thread.
pub type LiveWorld = Arc<ArcRwLockReadGuard<RawRwLock, World>>;

/// One entity, copied out of the world.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityRecord {
    /// Creation order.
    pub created: u64,
    /// Its name.
    pub name: Option<String>,
    /// Its transform.
    pub transform: Transform,
    /// Its light.
    pub light: Option<PointLight>,
    /// Its emitter.
    pub emitter: Option<ParticleEmitter>,
    /// Its body.
    pub body: Option<RigidBody>,
    /// Its script data.
    pub data: BTreeMap<String, DataValue>,
}

impl EntityRecord {
    fn light_or_missing(&self, id: EntityId) -> Result<PointLight> {
        self.light.ok_or_else(|| missing(id, "PointLight"))
    }

    fn emitter_or_missing(&self, id: EntityId) -> Result<ParticleEmitter> {
        self.emitter.ok_or_else(|| missing(id, "ParticleEmitter"))
    }

    fn body_or_missing(&self, id: EntityId) -> Result<RigidBody> {
        self.body.ok_or_else(|| missing(id, "RigidBody"))
    }

    fn new(created: u64) -> Self {
        EntityRecord {
            created,
            name: None,
            transform: Transform::IDENTITY,
            light: None,
            emitter: None,
            body: None,
            data: BTreeMap::new(),
        }
    }
}

/// An immutable copy of the world at one moment: what worker scripts read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    pub(crate) entities: HashMap<EntityId, EntityRecord>,
    pub(crate) input: Input,
    pub(crate) time: Time,
    pub(crate) scene: String,
    pub(crate) next_created: u64,
}

impl Snapshot {
    /// Every entity in creation order, with its id: a dump of the world that
    /// two runs can compare.
    pub fn records(&self) -> Vec<(EntityId, &EntityRecord)> {
        let mut all: Vec<_> = self.entities.iter().map(|(id, r)| (*id, r)).collect();
        all.sort_by_key(|(_, r)| r.created);
        all
    }

    fn record(&self, id: EntityId) -> Result<&EntityRecord> {
        self.entities.get(&id).ok_or(Error::NoSuchEntity(id))
    }
}

fn missing(entity: EntityId, component: &'static str) -> Error {
    Error::MissingComponent { entity, component }
}

impl Snapshot {
    /// Every entity named `name`, as (creation order, id).
    pub(crate) fn named(&self, name: &str) -> Vec<(u64, EntityId)> {
        self.entities
            .iter()
            .filter(|(_, r)| r.name.as_deref() == Some(name))
            .map(|(id, r)| (r.created, *id))
            .collect()
    }
}

impl WorldRead for Snapshot {
    fn exists(&self, id: EntityId) -> bool {
        self.record(id).is_ok()
    }

    fn name(&self, id: EntityId) -> Result<Option<String>> {
        Ok(self.record(id)?.name.clone())
    }

    fn find(&self, name: &str) -> Option<EntityId> {
        self.named(name).into_iter().min().map(|(_, id)| id)
    }

    fn transform(&self, id: EntityId) -> Result<Transform> {
        Ok(self.record(id)?.transform)
    }

    fn light(&self, id: EntityId) -> Result<PointLight> {
        self.record(id)?.light_or_missing(id)
    }

    fn emitter(&self, id: EntityId) -> Result<ParticleEmitter> {
        self.record(id)?.emitter_or_missing(id)
    }

    fn body(&self, id: EntityId) -> Result<RigidBody> {
        self.record(id)?.body_or_missing(id)
    }

    fn data(&self, id: EntityId, component: &str) -> Result<Option<DataValue>> {
        Ok(self.record(id)?.data.get(component).cloned())
    }

    fn input(&self) -> &Input {
        &self.input
    }

    fn time(&self) -> Time {
        self.time
    }

    fn scene_name(&self) -> &str {
        &self.scene
    }
}

/// What a [`WorkerWorld`] reads under its own writes.
#[derive(Debug)]
enum Base {
    Snapshot(Arc<Snapshot>),
    Live(LiveWorld),
}

/// A worker script's view of the world: a base (a shared [`Snapshot`], or
/// the live world held under a read lock during a parallel phase) plus the
/// script's own writes, so the script reads what it wrote (copy on write,
/// per entity). Entity ids it creates are reserved in the live world at once.
#[derive(Debug)]
pub struct WorkerWorld {
    base: Base,
    live: SharedWorld,
    /// Entities this script touched: `None` when it destroyed them.
    touched: HashMap<EntityId, Option<EntityRecord>>,
    next_created: u64,
    /// Ids reserved in the live world, so they can be released if the
    /// script's writes are never applied.
    reserved: Vec<EntityId>,
}

impl WorkerWorld {
    /// A view over `snapshot` that reserves new ids in `live`.
    pub fn new(snapshot: Arc<Snapshot>, live: SharedWorld) -> Self {
        let next_created = snapshot.next_created;
        WorkerWorld {
            base: Base::Snapshot(snapshot),
            live,
            touched: HashMap::new(),
            next_created,
            reserved: Vec::new(),
        }
    }

    /// A view over the live world itself, read through `guard` (a read lock
    /// held while nothing writes the world: a parallel phase). Nothing is
    /// copied: reads cost what they read.
    pub fn over_live(guard: LiveWorld, live: SharedWorld) -> Self {
        let next_created = guard.next_created();
        WorkerWorld {
            base: Base::Live(guard),
            live,
            touched: HashMap::new(),
            next_created,
            reserved: Vec::new(),
        }
    }

    /// Ids this view reserved in the live world.
    pub fn reserved(&self) -> &[EntityId] {
        &self.reserved
    }

    /// Forgets this view's own writes (keeping its allocations and its
    /// reserved ids): it reads its base as it is again. For a view reused
    /// by one callback after another.
    pub fn forget_writes(&mut self) {
        self.touched.clear();
        if let Base::Live(guard) = &self.base {
            self.next_created = guard.next_created();
        }
    }

    fn base(&self) -> &dyn WorldRead {
        match &self.base {
            Base::Snapshot(snapshot) => &**snapshot,
            Base::Live(guard) => &***guard,
        }
    }

    /// An entity this view has written: `Some(Ok)` its record, `Some(Err)`
    /// destroyed, `None` untouched (read the base).
    fn own(&self, id: EntityId) -> Option<Result<&EntityRecord>> {
        self.touched
            .get(&id)
            .map(|r| r.as_ref().ok_or(Error::NoSuchEntity(id)))
    }

    fn record_mut(&mut self, id: EntityId) -> Result<&mut EntityRecord> {
        if !self.touched.contains_key(&id) {
            let copy = match &self.base {
                Base::Snapshot(snapshot) => snapshot.record(id)?.clone(),
                Base::Live(guard) => guard.record(id)?,
            };
            self.touched.insert(id, Some(copy));
        }
        match self.touched.get_mut(&id) {
            Some(Some(record)) => Ok(record),
            _ => Err(Error::NoSuchEntity(id)),
        }
    }
}

impl WorldRead for WorkerWorld {
    fn exists(&self, id: EntityId) -> bool {
        match self.own(id) {
            Some(own) => own.is_ok(),
            None => self.base().exists(id),
        }
    }

    fn name(&self, id: EntityId) -> Result<Option<String>> {
        match self.own(id) {
            Some(own) => Ok(own?.name.clone()),
            None => self.base().name(id),
        }
    }

    fn find(&self, name: &str) -> Option<EntityId> {
        let base = match &self.base {
            Base::Snapshot(snapshot) => snapshot.named(name),
            Base::Live(guard) => guard.named(name),
        };
        let untouched = base
            .into_iter()
            .filter(|(_, id)| !self.touched.contains_key(id));
        let touched = self.touched.iter().filter_map(|(id, r)| {
            r.as_ref()
                .filter(|r| r.name.as_deref() == Some(name))
                .map(|r| (r.created, *id))
        });
        untouched.chain(touched).min().map(|(_, id)| id)
    }

    fn transform(&self, id: EntityId) -> Result<Transform> {
        match self.own(id) {
            Some(own) => Ok(own?.transform),
            None => self.base().transform(id),
        }
    }

    fn light(&self, id: EntityId) -> Result<PointLight> {
        match self.own(id) {
            Some(own) => own?.light_or_missing(id),
            None => self.base().light(id),
        }
    }

    fn emitter(&self, id: EntityId) -> Result<ParticleEmitter> {
        match self.own(id) {
            Some(own) => own?.emitter_or_missing(id),
            None => self.base().emitter(id),
        }
    }

    fn body(&self, id: EntityId) -> Result<RigidBody> {
        match self.own(id) {
            Some(own) => own?.body_or_missing(id),
            None => self.base().body(id),
        }
    }

    fn data(&self, id: EntityId, component: &str) -> Result<Option<DataValue>> {
        match self.own(id) {
            Some(own) => Ok(own?.data.get(component).cloned()),
            None => self.base().data(id, component),
        }
    }

    fn input(&self) -> &Input {
        self.base().input()
    }

    fn time(&self) -> Time {
        self.base().time()
    }

    fn scene_name(&self) -> &str {
        self.base().scene_name()
    }
}

impl WorldWrite for WorkerWorld {
    fn reserve(&mut self) -> EntityId {
        let id = match &self.base {
            // The phase already holds the read lock: taking it again could
            // wait behind a queued writer.
            Base::Live(guard) => EntityId::from_entity(guard.ecs().reserve_entity()),
            Base::Snapshot(_) => EntityId::from_entity(self.live.read().ecs().reserve_entity()),
        };
        self.reserved.push(id);
        id
    }

    fn spawn(&mut self, id: EntityId) -> Result<()> {
        let record = EntityRecord::new(self.next_created);
        self.next_created += 1;
        self.touched.insert(id, Some(record));
        Ok(())
    }

    fn despawn(&mut self, id: EntityId) -> Result<()> {
        if !self.exists(id) {
            return Err(Error::NoSuchEntity(id));
        }
        self.touched.insert(id, None);
        Ok(())
    }

    fn set_name(&mut self, id: EntityId, name: Option<String>) -> Result<()> {
        self.record_mut(id)?.name = name;
        Ok(())
    }

    fn transform_mut(&mut self, id: EntityId) -> Result<&mut Transform> {
        Ok(&mut self.record_mut(id)?.transform)
    }

    fn light_mut(&mut self, id: EntityId) -> Result<&mut PointLight> {
        self.record_mut(id)?
            .light
            .as_mut()
            .ok_or_else(|| missing(id, "PointLight"))
    }

    fn emitter_mut(&mut self, id: EntityId) -> Result<&mut ParticleEmitter> {
        self.record_mut(id)?
            .emitter
            .as_mut()
            .ok_or_else(|| missing(id, "ParticleEmitter"))
    }

    fn body_mut(&mut self, id: EntityId) -> Result<&mut RigidBody> {
        self.record_mut(id)?
            .body
            .as_mut()
            .ok_or_else(|| missing(id, "RigidBody"))
    }

    fn insert_light(&mut self, id: EntityId, light: PointLight) -> Result<()> {
        self.record_mut(id)?.light = Some(light);
        Ok(())
    }

    fn insert_emitter(&mut self, id: EntityId, emitter: ParticleEmitter) -> Result<()> {
        self.record_mut(id)?.emitter = Some(emitter);
        Ok(())
    }

    fn insert_body(&mut self, id: EntityId, body: RigidBody) -> Result<()> {
        self.record_mut(id)?.body = Some(body);
        Ok(())
    }

    fn set_data(&mut self, id: EntityId, component: &str, value: DataValue) -> Result<()> {
        self.record_mut(id)?
            .data
            .insert(component.to_owned(), value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WorldCommand;
    use glam::DVec3;

    #[test]
    fn a_view_over_the_live_world_reads_its_own_writes_and_copies_nothing() {
        let shared: SharedWorld = Arc::new(RwLock::new(World::new("t")));
        let e = shared.write().create();
        shared.write().set_name(e, Some("Crate".into())).unwrap();
        let guard: LiveWorld = Arc::new(shared.read_arc());
        let mut view = WorkerWorld::over_live(guard.clone(), shared.clone());
        let mut other = WorkerWorld::over_live(guard.clone(), shared.clone());
        WorldCommand::Translate(e, DVec3::X)
            .apply(&mut view)
            .unwrap();
        assert_eq!(view.transform(e).unwrap().position, DVec3::X);
        assert_eq!(other.transform(e).unwrap().position, DVec3::ZERO);
        let created = view.reserve();
        WorldCommand::Spawn(created).apply(&mut view).unwrap();
        WorldCommand::SetName(created, Some("Crate".into()))
            .apply(&mut view)
            .unwrap();
        assert_eq!(view.find("Crate"), Some(e), "the earlier entity wins");
        WorldCommand::Despawn(e).apply(&mut view).unwrap();
        assert_eq!(view.find("Crate"), Some(created));
        assert!(!view.exists(e) && other.exists(e));
        assert_eq!(other.find("Crate"), Some(e));
        WorldCommand::Despawn(e).apply(&mut other).unwrap();
        drop((view, other, guard));
        assert!(shared.read().exists(e), "views never write the world");
    }

    #[test]
    fn a_worker_reads_its_own_writes_and_nothing_else_changes() {
        let shared: SharedWorld = Arc::new(RwLock::new(World::new("t")));
        let e = shared.write().create();
        shared.write().set_name(e, Some("Crate".into())).unwrap();
        let snapshot = Arc::new(shared.read().snapshot());
        let mut view = WorkerWorld::new(snapshot.clone(), shared.clone());

        WorldCommand::Translate(e, DVec3::X)
            .apply(&mut view)
            .unwrap();
        assert_eq!(view.transform(e).unwrap().position, DVec3::X);
        assert_eq!(shared.read().transform(e).unwrap().position, DVec3::ZERO);
        assert_eq!(snapshot.transform(e).unwrap().position, DVec3::ZERO);

        let created = view.reserve();
        WorldCommand::Spawn(created).apply(&mut view).unwrap();
        WorldCommand::SetName(created, Some("Crate".into()))
            .apply(&mut view)
            .unwrap();
        assert!(view.exists(created));
        assert!(!shared.read().exists(created), "not live until applied");
        assert_eq!(view.find("Crate"), Some(e), "the earlier entity wins");
        WorldCommand::Despawn(e).apply(&mut view).unwrap();
        assert_eq!(view.find("Crate"), Some(created));
        assert!(!view.exists(e));
        assert!(shared.read().exists(e));
        assert_eq!(view.reserved(), [created]);
    }

    #[test]
    fn reserved_ids_become_live_entities_when_applied() {
        let shared: SharedWorld = Arc::new(RwLock::new(World::new("t")));
        let snapshot = Arc::new(shared.read().snapshot());
        let mut view = WorkerWorld::new(snapshot, shared.clone());
        let id = view.reserve();
        // Other main-thread work happens meanwhile.
        let other = shared.write().create();
        assert_ne!(other, id);
        WorldCommand::Spawn(id).apply(&mut *shared.write()).unwrap();
        assert!(shared.read().exists(id));
        assert_eq!(shared.read().len(), 2);
    }
}
