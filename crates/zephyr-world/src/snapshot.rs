//! What worker threads read: a [`Snapshot`] of the world, and a
//! [`WorkerWorld`] that layers a script's own pending writes over it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::access::{Time, WorldRead, WorldWrite};
use crate::components::{DataValue, ParticleEmitter, PointLight, RigidBody, Transform};
use crate::error::{Error, Result};
use crate::id::EntityId;
use crate::input::Input;
use crate::world::World;

/// The live world shared between the main thread and the workers (which
/// only take its read lock, briefly, to reserve entity ids).
pub type SharedWorld = Arc<RwLock<World>>;

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

/// Reads through a record lookup; shared by [`Snapshot`] and [`WorkerWorld`].
macro_rules! read_via_records {
    () => {
        fn exists(&self, id: EntityId) -> bool {
            self.record(id).is_ok()
        }

        fn name(&self, id: EntityId) -> Result<Option<String>> {
            Ok(self.record(id)?.name.clone())
        }

        fn find(&self, name: &str) -> Option<EntityId> {
            self.all_records()
                .filter(|(_, r)| r.name.as_deref() == Some(name))
                .min_by_key(|(_, r)| r.created)
                .map(|(id, _)| id)
        }

        fn transform(&self, id: EntityId) -> Result<Transform> {
            Ok(self.record(id)?.transform)
        }

        fn light(&self, id: EntityId) -> Result<PointLight> {
            self.record(id)?
                .light
                .ok_or_else(|| missing(id, "PointLight"))
        }

        fn emitter(&self, id: EntityId) -> Result<ParticleEmitter> {
            self.record(id)?
                .emitter
                .ok_or_else(|| missing(id, "ParticleEmitter"))
        }

        fn body(&self, id: EntityId) -> Result<RigidBody> {
            self.record(id)?
                .body
                .ok_or_else(|| missing(id, "RigidBody"))
        }

        fn data(&self, id: EntityId, component: &str) -> Result<Option<DataValue>> {
            Ok(self.record(id)?.data.get(component).cloned())
        }
    };
}

impl Snapshot {
    fn all_records(&self) -> impl Iterator<Item = (EntityId, &EntityRecord)> {
        self.entities.iter().map(|(id, r)| (*id, r))
    }
}

impl WorldRead for Snapshot {
    read_via_records!();

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

/// A worker script's view of the world: a shared [`Snapshot`] plus the
/// script's own writes, so the script reads what it wrote (copy on write,
/// per entity). Entity ids it creates are reserved in the live world at once.
#[derive(Debug)]
pub struct WorkerWorld {
    snapshot: Arc<Snapshot>,
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
            snapshot,
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

    fn record(&self, id: EntityId) -> Result<&EntityRecord> {
        match self.touched.get(&id) {
            Some(Some(record)) => Ok(record),
            Some(None) => Err(Error::NoSuchEntity(id)),
            None => self.snapshot.record(id),
        }
    }

    fn record_mut(&mut self, id: EntityId) -> Result<&mut EntityRecord> {
        if !self.touched.contains_key(&id) {
            let copy = self.snapshot.record(id)?.clone();
            self.touched.insert(id, Some(copy));
        }
        match self.touched.get_mut(&id) {
            Some(Some(record)) => Ok(record),
            _ => Err(Error::NoSuchEntity(id)),
        }
    }

    fn all_records(&self) -> impl Iterator<Item = (EntityId, &EntityRecord)> {
        let untouched = self
            .snapshot
            .entities
            .iter()
            .filter(|(id, _)| !self.touched.contains_key(id))
            .map(|(id, r)| (*id, r));
        let touched = self
            .touched
            .iter()
            .filter_map(|(id, r)| r.as_ref().map(|r| (*id, r)));
        untouched.chain(touched)
    }
}

impl WorldRead for WorkerWorld {
    read_via_records!();

    fn input(&self) -> &Input {
        &self.snapshot.input
    }

    fn time(&self) -> Time {
        self.snapshot.time
    }

    fn scene_name(&self) -> &str {
        &self.snapshot.scene
    }
}

impl WorldWrite for WorkerWorld {
    fn reserve(&mut self) -> EntityId {
        let id = EntityId::from_entity(self.live.read().ecs().reserve_entity());
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
        self.record(id)?;
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
