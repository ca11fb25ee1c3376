//! Zephyr's own world: a hecs ECS plus input, time and scene, and a name
//! index; one implementation of [`EngineWorld`](crate::EngineWorld).
//!
//! | module     | its one job                                                    |
//! |------------|----------------------------------------------------------------|
//! | `snapshot` | [`Snapshot`]: what a worker job reads, in shared chunks; the parallel phase's hecs view |
//! | `tracking` | what changed since a snapshot: versions, chunks, snapshots     |
//! | `holds`    | despawns that wait for a behaviour's `on_destroy`             |
//! | `physics`  | the rigid-body step                                            |
//! | `grid`     | the spatial index `within` reads                               |

mod grid;
mod holds;
mod physics;
mod snapshot;
mod tracking;

use std::collections::BTreeMap;

use crate::access::{Time, Update, WorldRead, WorldWrite};
use crate::components::{
    DataValue, Name, ParticleEmitter, PointLight, RigidBody, ScriptData, Tags, Transform,
};
use crate::error::{Error, Result};
use crate::id::EntityId;
use crate::input::Input;
use crate::query::{Nearby, Within};
use holds::{DespawnHold, Doomed};
pub use snapshot::{EntityRecord, Snapshot};
use snapshot::{NameIndex, file, filed, unfile};
use tracking::NEXT_IDENTITY;

/// When an entity was created, in creation order. Gives `find` and world
/// dumps an order that does not depend on how ids were allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Created(pub(crate) u64);

/// The default engine world behind the game API.
///
/// Entities live in a [`hecs::World`]; every entity made through this type
/// has a [`Transform`] and may have a [`Name`], [`PointLight`],
/// [`ParticleEmitter`], [`RigidBody`] and [`ScriptData`]. The host sets the
/// [`Input`] and [`Time`] each frame and calls
/// [`step_physics`](Self::step_physics).
///
/// ```
/// use zephyr_world::{World, WorldCommand, WorldRead, WorldWrite};
/// use glam::DVec3;
///
/// let mut world = World::new("demo");
/// let player = world.create();
/// WorldCommand::Translate(player, DVec3::new(1.0, 0.0, 0.0)).apply(&mut world)?;
/// assert_eq!(world.transform(player)?.position, DVec3::new(1.0, 0.0, 0.0));
/// world.despawn(player)?;
/// assert!(!world.exists(player));
/// # Ok::<(), zephyr_world::Error>(())
/// ```
pub struct World {
    ecs: hecs::World,
    input: Input,
    time: Time,
    scene: String,
    next_seq: u64,
    version: u64,
    /// Held entities despawned since the last `take_doomed`, in order.
    doomed: Vec<EntityId>,
    /// Entities removed so far (a cheap "did anything go away" check).
    removals: u64,
    /// Changes of time, input and scene name (`version` counts entities).
    meta_version: u64,
    /// Tells this world's snapshots from another world's.
    identity: u64,
    /// Named entities by name, each name's in creation order: `find` is a
    /// lookup, not a scan. Shared with snapshots until it changes.
    names: std::sync::Arc<NameIndex>,
    /// Changes of `names`.
    names_version: u64,
    /// Tagged entities by tag, each tag's in creation order.
    tags: std::sync::Arc<NameIndex>,
    /// Changes of `tags`.
    tags_version: u64,
    /// The spatial index, brought in step by the query that needs it.
    grid: parking_lot::RwLock<grid::Grid>,
    /// Per snapshot chunk (64 hecs indices), the `version` of its last
    /// change: a snapshot rebuilds only the chunks changed since the last.
    chunk_changed: Vec<u64>,
    /// The `version` at which the ECS was last handed out whole
    /// ([`ecs_mut`](Self::ecs_mut)): any entity may have changed.
    all_changed: u64,
    /// The entity spawned at each hecs index, for rebuilding one chunk.
    slots: Vec<Option<EntityId>>,
    /// The last snapshot handed to worker jobs, with the `version` it was
    /// taken at: reused while nothing changed, the base of the next.
    last_view: parking_lot::Mutex<Option<(u64, std::sync::Arc<Snapshot>)>>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("scene", &self.scene)
            .field("entities", &self.len())
            .field("time", &self.time)
            .finish_non_exhaustive()
    }
}

impl Default for World {
    fn default() -> Self {
        World::new("untitled")
    }
}

impl World {
    /// An empty world for the scene `scene`.
    pub fn new(scene: impl Into<String>) -> Self {
        World {
            ecs: hecs::World::new(),
            input: Input::default(),
            time: Time::default(),
            scene: scene.into(),
            next_seq: 0,
            version: 0,
            doomed: Vec::new(),
            removals: 0,
            meta_version: 0,
            identity: NEXT_IDENTITY.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            names: std::sync::Arc::default(),
            names_version: 0,
            tags: std::sync::Arc::default(),
            tags_version: 0,
            grid: parking_lot::RwLock::default(),
            chunk_changed: Vec::new(),
            all_changed: 0,
            slots: Vec::new(),
            last_view: parking_lot::Mutex::new(None),
        }
    }

    /// The entity's transform, to change in place.
    pub fn transform_mut(&mut self, id: EntityId) -> Result<&mut Transform> {
        let entity = id.entity().ok_or(Error::NoSuchEntity(id))?;
        self.touch(entity);
        self.ecs
            .query_one_mut::<&mut Transform>(entity)
            .map_err(|_| Error::NoSuchEntity(id))
    }

    /// The entity's light, to change in place.
    pub fn light_mut(&mut self, id: EntityId) -> Result<&mut PointLight> {
        self.component_mut(id, "PointLight")
    }

    /// The entity's emitter, to change in place.
    pub fn emitter_mut(&mut self, id: EntityId) -> Result<&mut ParticleEmitter> {
        self.component_mut(id, "ParticleEmitter")
    }

    /// The entity's body, to change in place.
    pub fn body_mut(&mut self, id: EntityId) -> Result<&mut RigidBody> {
        self.component_mut(id, "RigidBody")
    }

    /// Creates an entity with a default transform.
    pub fn create(&mut self) -> EntityId {
        let id = self.reserve();
        if let Err(e) = self.spawn(id) {
            unreachable!("a freshly reserved entity can be spawned: {e}");
        }
        id
    }

    /// The ECS, for engine systems that query it directly.
    pub fn ecs(&self) -> &hecs::World {
        &self.ecs
    }

    /// The ECS, mutably. Give and take components freely, but keep every
    /// entity's [`Transform`], and rename entities with
    /// [`WorldWrite::set_name`].
    pub fn ecs_mut(&mut self) -> &mut hecs::World {
        self.version += 1;
        self.all_changed = self.version;
        &mut self.ecs
    }

    /// The input state, to update from the platform.
    pub fn input_mut(&mut self) -> &mut Input {
        self.meta_version += 1;
        &mut self.input
    }

    /// Sets the frame time.
    pub fn set_time(&mut self, time: Time) {
        self.meta_version += 1;
        self.time = time;
    }

    /// Renames the scene.
    pub fn set_scene_name(&mut self, name: impl Into<String>) {
        self.meta_version += 1;
        self.scene = name.into();
    }

    /// Frees an id that was reserved (by a worker script) but never spawned.
    /// Does nothing to a live entity.
    pub fn release_reserved(&mut self, id: EntityId) {
        if let Some(entity) = id.entity()
            && !self.ecs.satisfies::<&Created>(entity)
        {
            self.ecs.flush();
            let _ = self.ecs.despawn(entity);
        }
    }

    /// Removes the entity's name from the name index.
    fn unindex_name(&mut self, entity: hecs::Entity) {
        let Ok((created, name)) = self.ecs.query_one_mut::<(&Created, &Name)>(entity) else {
            return;
        };
        unfile(
            std::sync::Arc::make_mut(&mut self.names),
            &name.0,
            created.0,
        );
        self.names_version += 1;
    }

    /// Removes the entity from the tag index.
    fn unindex_tags(&mut self, entity: hecs::Entity) {
        let Ok((created, tags)) = self.ecs.query_one_mut::<(&Created, &Tags)>(entity) else {
            return;
        };
        let index = std::sync::Arc::make_mut(&mut self.tags);
        for tag in &tags.0 {
            unfile(index, tag, created.0);
        }
        self.tags_version += 1;
    }

    /// How many entities exist.
    pub fn len(&self) -> usize {
        self.ecs.query::<&Created>().iter().count()
    }

    /// Whether no entity exists.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entity(&self, id: EntityId) -> Result<hecs::Entity> {
        id.entity()
            .filter(|e| self.ecs.satisfies::<&Created>(*e))
            .ok_or(Error::NoSuchEntity(id))
    }

    /// A copy of component `T`: one entity lookup and one component lookup
    /// on the hot path; only a failed lookup asks why.
    fn component<T: hecs::Component + Copy>(&self, id: EntityId, name: &'static str) -> Result<T> {
        let entity = id.entity().ok_or(Error::NoSuchEntity(id))?;
        match self.ecs.get::<&T>(entity) {
            Ok(component) => Ok(*component),
            Err(_) => Err(self.missing(id, name)),
        }
    }

    /// Component `T`, to change: one entity lookup. `Created` tells a live
    /// entity from an id that is only reserved.
    fn component_mut<T: hecs::Component>(
        &mut self,
        id: EntityId,
        name: &'static str,
    ) -> Result<&mut T> {
        let entity = id.entity().ok_or(Error::NoSuchEntity(id))?;
        self.touch(entity);
        match self.ecs.query_one_mut::<(&Created, Option<&mut T>)>(entity) {
            Ok((_, Some(component))) => Ok(component),
            Ok((_, None)) => Err(Error::MissingComponent {
                entity: id,
                component: name,
            }),
            Err(_) => Err(Error::NoSuchEntity(id)),
        }
    }

    /// Why entity `id` has no component `name`: it does not exist (or is
    /// only reserved), or it lacks the component.
    fn missing(&self, id: EntityId, name: &'static str) -> Error {
        match self.entity(id) {
            Ok(_) => Error::MissingComponent {
                entity: id,
                component: name,
            },
            Err(e) => e,
        }
    }

    fn insert_component(&mut self, id: EntityId, component: impl hecs::Component) -> Result<()> {
        let entity = self.entity(id)?;
        self.touch(entity);
        self.ecs
            .insert_one(entity, component)
            .map_err(|_| Error::NoSuchEntity(id))
    }
}

impl WorldRead for World {
    fn exists(&self, entity: EntityId) -> bool {
        self.entity(entity).is_ok()
    }

    fn name(&self, id: EntityId) -> Result<Option<String>> {
        let entity = self.entity(id)?;
        Ok(self.ecs.get::<&Name>(entity).ok().map(|n| n.0.clone()))
    }

    fn find(&self, name: &str) -> Option<EntityId> {
        // An entity that engine code despawned through `ecs_mut` may still
        // be indexed: skip it.
        self.names
            .get(name)?
            .values()
            .find(|id| self.exists(**id))
            .copied()
    }

    fn transform(&self, id: EntityId) -> Result<Transform> {
        self.component(id, "Transform")
    }

    fn light(&self, id: EntityId) -> Result<PointLight> {
        self.component(id, "PointLight")
    }

    fn emitter(&self, id: EntityId) -> Result<ParticleEmitter> {
        self.component(id, "ParticleEmitter")
    }

    fn body(&self, id: EntityId) -> Result<RigidBody> {
        self.component(id, "RigidBody")
    }

    fn data(&self, id: EntityId, component: &str) -> Result<Option<DataValue>> {
        let entity = self.entity(id)?;
        Ok(self
            .ecs
            .get::<&ScriptData>(entity)
            .ok()
            .and_then(|d| d.0.get(component).cloned()))
    }

    fn tags(&self, id: EntityId) -> Result<Vec<String>> {
        let entity = self.entity(id)?;
        Ok(self
            .ecs
            .get::<&Tags>(entity)
            .map(|t| t.0.clone())
            .unwrap_or_default())
    }

    fn has_tag(&self, id: EntityId, tag: &str) -> Result<bool> {
        let entity = self.entity(id)?;
        Ok(self
            .ecs
            .get::<&Tags>(entity)
            .is_ok_and(|t| t.0.iter().any(|t| t == tag)))
    }

    fn tagged(&self, tag: &str) -> Result<Vec<(u64, EntityId)>> {
        // An entity that engine code despawned through `ecs_mut` may still
        // be indexed: skip it.
        Ok(filed(&self.tags, tag, |id| self.exists(id)))
    }

    fn within(&self, query: &Within<'_>) -> Result<Vec<Nearby>> {
        query.validate()?;
        Ok(self.query_grid(query))
    }

    /// `index:generation` of the hecs entity (`3:1`): hecs keeps the
    /// generation in the id's high 32 bits (a test pins it).
    fn label(&self, id: EntityId) -> String {
        match id.entity() {
            Some(entity) => format!("{}:{}", entity.id(), id.bits() >> 32),
            None => id.to_string(),
        }
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

impl crate::engine::WorldView for World {
    fn named(&self, name: &str) -> Vec<(u64, EntityId)> {
        filed(&self.names, name, |_| true)
    }

    fn created(&self, id: EntityId) -> Option<u64> {
        let entity = id.entity()?;
        self.ecs.get::<&Created>(entity).ok().map(|c| c.0)
    }

    fn next_created(&self) -> u64 {
        self.next_seq
    }
}

impl crate::engine::EngineWorld for World {
    fn reserve_shared(&self) -> EntityId {
        EntityId::from_entity(self.ecs.reserve_entity())
    }

    fn release_reserved(&mut self, id: EntityId) {
        World::release_reserved(self, id);
    }

    fn view(&self) -> std::sync::Arc<dyn crate::engine::WorldView> {
        self.shared_snapshot()
    }

    fn shared(&self) -> Option<Box<dyn crate::engine::WorldView + '_>> {
        Some(Box::new(snapshot::HecsView::over(self)))
    }

    fn hold_despawn(&mut self, id: EntityId) -> Result<()> {
        World::hold_despawn(self, id)
    }

    fn release_despawn(&mut self, id: EntityId) {
        World::release_despawn(self, id);
    }

    fn take_doomed(&mut self) -> Vec<EntityId> {
        World::take_doomed(self)
    }

    fn despawn_now(&mut self, id: EntityId) -> Result<()> {
        World::despawn_now(self, id)
    }

    fn removals(&self) -> u64 {
        World::removals(self)
    }

    fn input_mut(&mut self) -> &mut Input {
        World::input_mut(self)
    }

    fn set_time(&mut self, time: Time) {
        World::set_time(self, time);
    }
}

impl WorldWrite for World {
    fn reserve(&mut self) -> EntityId {
        EntityId::from_entity(self.ecs.reserve_entity())
    }

    fn spawn(&mut self, id: EntityId) -> Result<()> {
        let entity = id.entity().ok_or(Error::NoSuchEntity(id))?;
        if self.ecs.satisfies::<&Created>(entity) {
            return Ok(());
        }
        self.touch(entity);
        let index = entity.id() as usize;
        if index >= self.slots.len() {
            self.slots.resize(index + 1, None);
        }
        self.slots[index] = Some(id);
        let created = Created(self.next_seq);
        self.next_seq += 1;
        self.ecs
            .insert(entity, (created, Transform::IDENTITY))
            .map_err(|_| Error::NoSuchEntity(id))
    }

    /// Removes the entity, or, when it is held (see
    /// [`World::hold_despawn`]), marks it doomed for its owner to remove.
    fn despawn(&mut self, id: EntityId) -> Result<()> {
        let entity = self.entity(id)?;
        if self.ecs.satisfies::<&DespawnHold>(entity) {
            if !self.ecs.satisfies::<&Doomed>(entity) {
                self.touch(entity);
                let _ = self.ecs.insert_one(entity, Doomed);
                self.doomed.push(id);
            }
            return Ok(());
        }
        self.despawn_now(id)
    }

    fn set_name(&mut self, id: EntityId, name: Option<String>) -> Result<()> {
        let entity = self.entity(id)?;
        self.touch(entity);
        self.unindex_name(entity);
        let result = match name {
            Some(name) => {
                let created = self.ecs.get::<&Created>(entity).map(|c| c.0);
                if let Ok(created) = created {
                    self.names_version += 1;
                    file(
                        std::sync::Arc::make_mut(&mut self.names),
                        &name,
                        created,
                        id,
                    );
                }
                self.ecs.insert_one(entity, Name(name))
            }
            None => self.ecs.remove_one::<Name>(entity).map(drop).or(Ok(())),
        };
        result.map_err(|_| Error::NoSuchEntity(id))
    }

    /// One lookup: every live entity has a Transform and an id that is
    /// only reserved has none, so a failed lookup means no such entity.
    fn update_transform(&mut self, id: EntityId, change: Update<'_, Transform>) -> Result<()> {
        change(self.transform_mut(id)?)
    }

    fn update_light(&mut self, id: EntityId, change: Update<'_, PointLight>) -> Result<()> {
        change(self.light_mut(id)?)
    }

    fn update_emitter(&mut self, id: EntityId, change: Update<'_, ParticleEmitter>) -> Result<()> {
        change(self.emitter_mut(id)?)
    }

    fn update_body(&mut self, id: EntityId, change: Update<'_, RigidBody>) -> Result<()> {
        change(self.body_mut(id)?)
    }

    fn insert_light(&mut self, id: EntityId, light: PointLight) -> Result<()> {
        self.insert_component(id, light)
    }

    fn insert_emitter(&mut self, id: EntityId, emitter: ParticleEmitter) -> Result<()> {
        self.insert_component(id, emitter)
    }

    fn insert_body(&mut self, id: EntityId, body: RigidBody) -> Result<()> {
        self.insert_component(id, body)
    }

    fn add_tag(&mut self, id: EntityId, tag: &str) -> Result<()> {
        let entity = self.entity(id)?;
        let created = self.ecs.get::<&Created>(entity).map(|c| c.0);
        if self.has_tag(id, tag)? {
            return Ok(());
        }
        self.touch(entity);
        match self.ecs.query_one_mut::<&mut Tags>(entity) {
            Ok(tags) => tags.0.push(tag.to_owned()),
            Err(_) => self
                .ecs
                .insert_one(entity, Tags(vec![tag.to_owned()]))
                .map_err(|_| Error::NoSuchEntity(id))?,
        }
        if let Ok(created) = created {
            self.tags_version += 1;
            file(std::sync::Arc::make_mut(&mut self.tags), tag, created, id);
        }
        Ok(())
    }

    fn remove_tag(&mut self, id: EntityId, tag: &str) -> Result<()> {
        let entity = self.entity(id)?;
        if !self.has_tag(id, tag)? {
            return Ok(());
        }
        self.touch(entity);
        let created = self.ecs.get::<&Created>(entity).map(|c| c.0);
        if let Ok(tags) = self.ecs.query_one_mut::<&mut Tags>(entity) {
            tags.0.retain(|t| t != tag);
        }
        if let Ok(created) = created {
            self.tags_version += 1;
            unfile(std::sync::Arc::make_mut(&mut self.tags), tag, created);
        }
        Ok(())
    }

    fn set_data(&mut self, id: EntityId, component: &str, value: DataValue) -> Result<()> {
        let entity = self.entity(id)?;
        self.touch(entity);
        if let Ok(data) = self.ecs.query_one_mut::<&mut ScriptData>(entity) {
            data.0.insert(component.to_owned(), value);
            return Ok(());
        }
        let data = ScriptData(BTreeMap::from([(component.to_owned(), value)]));
        self.ecs
            .insert_one(entity, data)
            .map_err(|_| Error::NoSuchEntity(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WorldCommand;
    use glam::DVec3;

    static_assertions::assert_impl_all!(World: Send, Sync);

    #[test]
    fn destroyed_ids_never_alias_new_entities() {
        let mut world = World::new("t");
        let a = world.create();
        world.despawn(a).unwrap();
        let b = world.create();
        assert_ne!(a, b);
        assert!(!world.exists(a));
        assert!(world.exists(b));
        assert_eq!(world.transform(a), Err(Error::NoSuchEntity(a)));
        assert!(!world.exists(EntityId::from_lua(42).unwrap()));
    }

    #[test]
    fn a_reserved_id_is_no_entity_until_spawned() {
        let mut world = World::new("t");
        let id = world.reserve();
        world.create(); // flushes the reservation into hecs
        let none = Error::NoSuchEntity(id);
        assert_eq!(world.transform(id).unwrap_err(), none);
        assert_eq!(world.light(id).unwrap_err(), none);
        assert_eq!(world.transform_mut(id).unwrap_err(), none);
        assert_eq!(world.light_mut(id).unwrap_err(), none);
        let e = world.create();
        assert_eq!(
            world.light_mut(e).unwrap_err(),
            Error::MissingComponent {
                entity: e,
                component: "PointLight"
            }
        );
        world.spawn(id).unwrap();
        assert!(world.transform_mut(id).is_ok());
    }

    #[test]
    fn labels_are_index_and_generation() {
        let mut world = World::new("t");
        let a = world.create();
        let b = world.create();
        assert_eq!(
            (world.label(a), world.label(b)),
            ("0:1".into(), "1:1".into())
        );
        world.despawn(a).unwrap();
        let again = world.create();
        assert_eq!(
            world.label(again),
            "0:2",
            "the index reused, a new generation"
        );
        assert_eq!(world.label(EntityId::from_lua(42).unwrap()), "42");
    }

    #[test]
    fn find_returns_the_earliest_created_entity_with_the_name() {
        let mut world = World::new("t");
        let a = world.create();
        let b = world.create();
        world.set_name(b, Some("Enemy".into())).unwrap();
        world.set_name(a, Some("Enemy".into())).unwrap();
        assert_eq!(world.find("Enemy"), Some(a));
        world.set_name(a, None).unwrap();
        assert_eq!(world.find("Enemy"), Some(b));
        assert_eq!(world.name(a).unwrap(), None);
        assert_eq!(world.find("Nobody"), None);
    }

    #[test]
    fn the_name_index_follows_renames_and_removals() {
        let mut world = World::new("t");
        let ids: Vec<EntityId> = (0..5).map(|_| world.create()).collect();
        for id in &ids {
            world.set_name(*id, Some("Crate".into())).unwrap();
        }
        assert_eq!(world.find("Crate"), Some(ids[0]));
        world.set_name(ids[0], Some("Boss".into())).unwrap();
        assert_eq!(world.find("Crate"), Some(ids[1]));
        assert_eq!(world.find("Boss"), Some(ids[0]));
        world.despawn(ids[1]).unwrap();
        assert_eq!(world.find("Crate"), Some(ids[2]));
        world.hold_despawn(ids[2]).unwrap();
        world.despawn(ids[2]).unwrap();
        assert_eq!(world.find("Crate"), Some(ids[2]), "doomed, not gone");
        world.despawn_now(ids[2]).unwrap();
        world.set_name(ids[3], None).unwrap();
        assert_eq!(world.find("Crate"), Some(ids[4]));
        world.despawn(ids[4]).unwrap();
        assert_eq!(world.find("Crate"), None);
        assert!(world.names.is_empty() || world.names.keys().all(|n| n == "Boss"));
    }

    #[test]
    fn missing_components_are_named() {
        let mut world = World::new("t");
        let e = world.create();
        assert_eq!(
            world.light(e),
            Err(Error::MissingComponent {
                entity: e,
                component: "PointLight"
            })
        );
        let err = WorldCommand::AddForce(e, DVec3::X)
            .apply(&mut world)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("entity {e} has no RigidBody component")
        );
    }

    #[test]
    fn setters_refuse_non_finite_values() {
        let mut world = World::new("t");
        let e = world.create();
        for cmd in [
            WorldCommand::SetPosition(e, DVec3::new(f64::NAN, 0.0, 0.0)),
            WorldCommand::SetScale(e, DVec3::new(0.0, f64::INFINITY, 0.0)),
            WorldCommand::Translate(e, DVec3::new(f64::MAX, 0.0, 0.0)),
            WorldCommand::SetRotation(e, DVec3::new(0.0, f64::NAN, 0.0)),
        ] {
            if let WorldCommand::Translate(..) = cmd {
                WorldCommand::SetPosition(e, DVec3::new(f64::MAX, 0.0, 0.0))
                    .apply(&mut world)
                    .unwrap();
            }
            assert!(cmd.clone().apply(&mut world).is_err(), "{cmd:?}");
        }
        let t = world.transform(e).unwrap();
        assert!(t.position.is_finite() && t.scale.is_finite() && t.rotation.is_finite());
    }

    #[test]
    fn script_data_is_stored_per_component_name() {
        let mut world = World::new("t");
        let e = world.create();
        world.set_data(e, "Health", DataValue::Int(10)).unwrap();
        world
            .set_data(e, "Team", DataValue::String("red".into()))
            .unwrap();
        assert_eq!(world.data(e, "Health").unwrap(), Some(DataValue::Int(10)));
        assert_eq!(world.data(e, "Mana").unwrap(), None);
        let snapshot = world.snapshot();
        assert_eq!(
            snapshot.data(e, "Team").unwrap(),
            Some(DataValue::String("red".into()))
        );
    }
}
