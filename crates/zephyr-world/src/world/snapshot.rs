//! What worker jobs read of Zephyr's own world: a [`Snapshot`] (shared
//! chunks of copied entities), and [`HecsView`], the world's reader for a
//! parallel phase (one hecs view borrowed for the whole phase).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::World;
use crate::access::{Time, WorldRead};
use crate::components::{DataValue, FieldValue, ParticleEmitter, PointLight, RigidBody, Transform};
use crate::engine::WorldView;
use crate::error::{Error, Result};
use crate::id::EntityId;
use crate::input::Input;
use crate::query::{Nearby, Within};

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
    /// Its tags, in the order they were added.
    pub tags: Vec<String>,
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
}

/// Entities per snapshot chunk: a change rebuilds its entity's chunk only.
pub(crate) const CHUNK_SHIFT: u32 = 6;

/// The entities whose hecs index falls in one range of `1 << CHUNK_SHIFT`,
/// ordered by index. Snapshots share unchanged chunks.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Chunk {
    pub(crate) entities: Vec<(EntityId, EntityRecord)>,
}

impl Chunk {
    fn get(&self, id: EntityId) -> Option<&EntityRecord> {
        let index = id.entity()?.id();
        let at = self
            .entities
            .binary_search_by_key(&index, |(e, _)| e.entity().map_or(0, |e| e.id()))
            .ok()?;
        let (stored, record) = &self.entities[at];
        (*stored == id).then_some(record)
    }
}

/// Named entities by name, each name's in creation order.
pub(crate) type NameIndex = HashMap<String, BTreeMap<u64, EntityId>>;

/// Files entity `id`, created `created`, under `key` (a name or a tag).
pub(crate) fn file(index: &mut NameIndex, key: &str, created: u64, id: EntityId) {
    index.entry(key.to_owned()).or_default().insert(created, id);
}

/// Takes the entity created `created` out of `key`'s entry; the key goes
/// with its last entity.
pub(crate) fn unfile(index: &mut NameIndex, key: &str, created: u64) {
    if let Some(entities) = index.get_mut(key) {
        entities.remove(&created);
        if entities.is_empty() {
            index.remove(key);
        }
    }
}

/// The entities filed under `key` that `live` keeps, as (creation number,
/// id), in creation order.
pub(crate) fn filed(
    index: &NameIndex,
    key: &str,
    live: impl Fn(EntityId) -> bool,
) -> Vec<(u64, EntityId)> {
    index
        .get(key)
        .map(|entities| {
            entities
                .iter()
                .filter(|(_, id)| live(**id))
                .map(|(c, id)| (*c, *id))
                .collect()
        })
        .unwrap_or_default()
}

/// An immutable copy of the world at one moment: what worker scripts read.
///
/// A snapshot is a list of shared chunks of 64 entities each: the next
/// snapshot of the same world ([`World::snapshot_since`]) copies only the
/// chunks whose entities changed, so its cost follows what changed, not the
/// size of the world.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    pub(crate) chunks: Vec<Arc<Chunk>>,
    pub(crate) names: Arc<NameIndex>,
    pub(crate) names_version: u64,
    pub(crate) tags: Arc<NameIndex>,
    pub(crate) tags_version: u64,
    /// The world and its entities' version this copy was taken at.
    pub(crate) entities_version: (u64, u64),
    pub(crate) input: Input,
    pub(crate) time: Time,
    pub(crate) scene: String,
    pub(crate) next_created: u64,
}

impl Snapshot {
    /// Every entity in creation order, with its id: a dump of the world that
    /// two runs can compare.
    pub fn records(&self) -> Vec<(EntityId, &EntityRecord)> {
        let mut all: Vec<_> = self
            .chunks
            .iter()
            .flat_map(|chunk| chunk.entities.iter().map(|(id, r)| (*id, r)))
            .collect();
        all.sort_by_key(|(_, r)| r.created);
        all
    }

    /// How many entities the snapshot holds.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(|c| c.entities.len()).sum()
    }

    /// Whether the snapshot holds no entity.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many of this snapshot's chunks (of 64 entities) are shared with
    /// `other` rather than copied, and how many it has: what a
    /// [`World::snapshot_since`] saved.
    pub fn shared_with(&self, other: &Snapshot) -> (usize, usize) {
        let shared = self
            .chunks
            .iter()
            .zip(&other.chunks)
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count();
        (shared, self.chunks.len())
    }

    fn lookup(&self, id: EntityId) -> Option<&EntityRecord> {
        let chunk = (id.entity()?.id() >> CHUNK_SHIFT) as usize;
        self.chunks.get(chunk)?.get(id)
    }

    fn record(&self, id: EntityId) -> Result<&EntityRecord> {
        self.lookup(id).ok_or(Error::NoSuchEntity(id))
    }
}

pub(crate) fn missing(entity: EntityId, component: &'static str) -> Error {
    Error::MissingComponent { entity, component }
}

impl Snapshot {
    /// Every entity named `name`, as (creation order, id).
    pub(crate) fn named(&self, name: &str) -> Vec<(u64, EntityId)> {
        filed(&self.names, name, |id| self.lookup(id).is_some())
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
        self.names
            .get(name)?
            .values()
            .find(|id| self.lookup(**id).is_some())
            .copied()
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

    fn tags(&self, id: EntityId) -> Result<Vec<String>> {
        Ok(self.record(id)?.tags.clone())
    }

    fn has_tag(&self, id: EntityId, tag: &str) -> Result<bool> {
        Ok(self.record(id)?.tags.iter().any(|t| t == tag))
    }

    fn tagged(&self, tag: &str) -> Result<Vec<(u64, EntityId)>> {
        Ok(filed(&self.tags, tag, |id| self.lookup(id).is_some()))
    }

    /// A scan of the copied entities: a worker job's query reads a
    /// snapshot, which keeps no grid (the parallel phase reads the live
    /// world's).
    fn within(&self, query: &Within<'_>) -> Result<Vec<Nearby>> {
        query.validate()?;
        let mut found: Vec<Nearby> = self
            .chunks
            .iter()
            .flat_map(|chunk| chunk.entities.iter())
            .filter(|(_, r)| query.tag.is_none_or(|tag| r.tags.iter().any(|t| t == tag)))
            .filter_map(|(id, r)| query.measure(r.transform.position, r.created, *id))
            .collect();
        crate::query::sort_nearest(&mut found);
        Ok(found)
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

impl WorldView for Snapshot {
    fn named(&self, name: &str) -> Vec<(u64, EntityId)> {
        Snapshot::named(self, name)
    }

    fn created(&self, id: EntityId) -> Option<u64> {
        self.lookup(id).map(|r| r.created)
    }

    fn next_created(&self) -> u64 {
        self.next_created
    }
}

/// Every component a script can read, for one random-access view.
type Readable<'a> = (
    &'a Transform,
    Option<&'a RigidBody>,
    Option<&'a PointLight>,
    Option<&'a ParticleEmitter>,
);

/// A hecs view of the readable components, borrowed once for a whole
/// parallel phase: its lookups take no locks and touch no shared counters
/// (a plain `World::get` takes a dynamic borrow per call, and two threads
/// taking the same column's borrow bounce its cache line between cores).
type LiveView<'a> = hecs::ViewBorrow<'a, Readable<'a>>;

/// Zephyr's world read through one hecs view for a whole parallel phase
/// (its [`EngineWorld::shared`](crate::EngineWorld::shared)).
pub(crate) struct HecsView<'a> {
    world: &'a World,
    view: LiveView<'a>,
}

impl std::fmt::Debug for HecsView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HecsView")
    }
}

impl<'a> HecsView<'a> {
    pub(crate) fn over(world: &'a World) -> Self {
        HecsView {
            world,
            view: world.ecs().view::<Readable<'_>>(),
        }
    }

    fn world(&self) -> &World {
        self.world
    }

    /// `f` of the entity's readable components; `None` when it does not
    /// exist (every live entity has a transform; a reserved id has none).
    fn get<R>(&self, id: EntityId, f: impl FnOnce(Readable<'_>) -> R) -> Option<R> {
        let entity = id.entity()?;
        self.view.get(entity).map(f)
    }

    fn optional<T>(
        &self,
        id: EntityId,
        name: &'static str,
        f: impl FnOnce(Readable<'_>) -> Option<T>,
    ) -> Result<T> {
        match self.get(id, f) {
            Some(Some(component)) => Ok(component),
            Some(None) => Err(missing(id, name)),
            None => Err(Error::NoSuchEntity(id)),
        }
    }
}

impl WorldRead for HecsView<'_> {
    fn exists(&self, id: EntityId) -> bool {
        self.get(id, |_| ()).is_some()
    }

    fn name(&self, id: EntityId) -> Result<Option<String>> {
        self.world().name(id)
    }

    fn find(&self, name: &str) -> Option<EntityId> {
        self.world().find(name)
    }

    fn transform(&self, id: EntityId) -> Result<Transform> {
        self.get(id, |(t, ..)| *t).ok_or(Error::NoSuchEntity(id))
    }

    fn light(&self, id: EntityId) -> Result<PointLight> {
        self.optional(id, "PointLight", |(_, _, light, _)| light.copied())
    }

    fn emitter(&self, id: EntityId) -> Result<ParticleEmitter> {
        self.optional(id, "ParticleEmitter", |(_, _, _, emitter)| emitter.copied())
    }

    fn body(&self, id: EntityId) -> Result<RigidBody> {
        self.optional(id, "RigidBody", |(_, body, ..)| body.copied())
    }

    fn data(&self, id: EntityId, component: &str) -> Result<Option<DataValue>> {
        self.world().data(id, component)
    }

    fn field(&self, id: EntityId, component: &str, field: &str) -> Result<FieldValue> {
        self.world().field(id, component, field)
    }

    fn tags(&self, id: EntityId) -> Result<Vec<String>> {
        self.world().tags(id)
    }

    fn has_tag(&self, id: EntityId, tag: &str) -> Result<bool> {
        self.world().has_tag(id, tag)
    }

    fn tagged(&self, tag: &str) -> Result<Vec<(u64, EntityId)>> {
        self.world().tagged(tag)
    }

    fn within(&self, query: &Within<'_>) -> Result<Vec<Nearby>> {
        self.world().within(query)
    }

    fn input(&self) -> &Input {
        self.world().input()
    }

    fn time(&self) -> Time {
        self.world().time()
    }

    fn scene_name(&self) -> &str {
        self.world().scene_name()
    }
}

impl WorldView for HecsView<'_> {
    fn named(&self, name: &str) -> Vec<(u64, EntityId)> {
        self.world().named(name)
    }

    fn created(&self, id: EntityId) -> Option<u64> {
        self.world().created(id)
    }

    fn next_created(&self) -> u64 {
        self.world().next_created()
    }
}
