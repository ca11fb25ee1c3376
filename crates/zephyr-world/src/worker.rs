//! A worker script's view of the world: [`WorkerWorld`] layers the script's
//! own pending writes over what the world's [`view`](crate::EngineWorld::view)
//! returned for a job, or over the live world itself, read-locked for a
//! parallel phase. It knows nothing of how the world stores its entities.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::access::{Time, Update, WorldRead, WorldWrite};
use crate::components::{DataValue, FieldValue, ParticleEmitter, PointLight, RigidBody, Transform};
use crate::engine::{LiveWorld, SharedWorld, WorldView};
use crate::error::{Error, Result};
use crate::id::EntityId;
use crate::input::Input;
use crate::query::{Nearby, Within};

/// The error of a component the entity lacks.
fn missing(entity: EntityId, component: &'static str) -> Error {
    Error::MissingComponent { entity, component }
}

/// What a parallel phase reads through: the world's own faster reader, or
/// the world itself.
type SharedReader<'a> = Option<Box<dyn WorldView + 'a>>;

self_cell::self_cell!(
    /// The live world's read lock and its reader for the phase, together.
    struct LiveCell {
        owner: LiveWorld,
        #[covariant]
        dependent: SharedReader,
    }
);

impl std::fmt::Debug for LiveCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveCell")
    }
}

impl LiveCell {
    fn over(guard: LiveWorld) -> Self {
        LiveCell::new(guard, |guard| guard.shared())
    }

    fn reader(&self) -> &dyn WorldView {
        match self.borrow_dependent() {
            Some(reader) => &**reader,
            None => &***self.borrow_owner(),
        }
    }

    fn world(&self) -> &dyn crate::EngineWorld {
        &***self.borrow_owner()
    }
}

enum Base {
    /// What the world's [`view`](crate::EngineWorld::view) returned.
    View(Arc<dyn WorldView>),
    Live(LiveCell),
}

impl std::fmt::Debug for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Base::View(_) => "View",
            Base::Live(_) => "Live",
        })
    }
}

/// What a worker view has written to one entity, component by component:
/// `None` fields read through to the base. An entity the view spawned has
/// every field set.
///
/// The transform, what most parallel behaviours write, is inline; the rest
/// is out of line, made on its first write. A parallel phase writes one
/// overlay per moving entity: with every component inline an overlay took
/// 360 bytes (six cache lines to fill per first write, and a map three
/// times the size), 120 now.
#[derive(Debug, Default, Clone)]
struct Overlay {
    destroyed: bool,
    /// Creation order, for an entity this view spawned.
    spawned: Option<u64>,
    transform: Option<Transform>,
    more: Option<Box<MoreOverlay>>,
}

/// An overlay's components other than the transform.
#[derive(Debug, Default, Clone)]
struct MoreOverlay {
    name: Option<Option<String>>,
    light: Option<Option<PointLight>>,
    emitter: Option<Option<ParticleEmitter>>,
    body: Option<Option<RigidBody>>,
    /// Data components set by this view (over the base's).
    data: BTreeMap<String, DataValue>,
    /// Engine component fields set by this view: (component, field,
    /// value), a few per entity, searched by name.
    fields: Vec<(String, String, FieldValue)>,
    /// The entity's tags, once this view changed them.
    tags: Option<Vec<String>>,
}

impl Overlay {
    fn more(&self) -> Option<&MoreOverlay> {
        self.more.as_deref()
    }

    fn more_mut(&mut self) -> &mut MoreOverlay {
        self.more.get_or_insert_default()
    }
}

/// A component that may be absent: `Ok(None)` when the entity lacks it.
fn optional<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::MissingComponent { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// A worker script's view of the world: a base (what the world's
/// [`view`](crate::EngineWorld::view) returned for a job, or the live world
/// held under a read lock during a parallel phase) plus the
/// script's own writes, so the script reads what it wrote. Writes are kept
/// per component: the first write to an entity's transform copies that
/// transform, nothing else. Entity ids it creates are reserved in the live
/// world at once.
pub struct WorkerWorld {
    base: Base,
    live: SharedWorld,
    /// What this view wrote, per entity (FxHash: entity ids are trusted
    /// integers, and this map is on every worker read and write).
    touched: FxHashMap<EntityId, Overlay>,
    next_created: u64,
    /// The base's own next creation number: the base does not change while
    /// the view lives (a snapshot, or the live world under a read lock).
    base_next_created: u64,
    /// Ids reserved in the live world, so they can be released if the
    /// script's writes are never applied.
    reserved: Vec<EntityId>,
}

impl std::fmt::Debug for WorkerWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerWorld")
            .field("base", &self.base)
            .field("touched", &self.touched.len())
            .field("reserved", &self.reserved)
            .finish_non_exhaustive()
    }
}

impl WorkerWorld {
    /// A view over `view` (what the world's
    /// [`view`](crate::EngineWorld::view) returned) that reserves new ids in
    /// `live`.
    pub fn new(view: Arc<dyn WorldView>, live: SharedWorld) -> Self {
        let next_created = view.next_created();
        WorkerWorld {
            base: Base::View(view),
            live,
            touched: FxHashMap::default(),
            next_created,
            base_next_created: next_created,
            reserved: Vec::new(),
        }
    }

    /// A view over the live world itself, read through `guard` (a read lock
    /// held while nothing writes the world: a parallel phase). Nothing is
    /// copied: reads cost what they read.
    pub fn over_live(guard: LiveWorld, live: SharedWorld) -> Self {
        let next_created = guard.next_created();
        WorkerWorld {
            base: Base::Live(LiveCell::over(guard)),
            live,
            touched: FxHashMap::default(),
            next_created,
            base_next_created: next_created,
            reserved: Vec::new(),
        }
    }

    fn transform_mut(&mut self, id: EntityId) -> Result<&mut Transform> {
        // One lookup on the hot path (a behaviour moving its own entity).
        let base = match &self.base {
            Base::View(view) => &**view,
            Base::Live(cell) => cell.reader(),
        };
        let overlay = match self.touched.entry(id) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(Overlay {
                transform: Some(base.transform(id)?),
                ..Overlay::default()
            }),
        };
        if overlay.destroyed {
            return Err(Error::NoSuchEntity(id));
        }
        if overlay.transform.is_none() {
            overlay.transform = Some(base.transform(id)?);
        }
        overlay.transform.as_mut().ok_or(Error::NoSuchEntity(id))
    }

    fn light_mut(&mut self, id: EntityId) -> Result<&mut PointLight> {
        self.write(
            id,
            |o| &mut o.more_mut().light,
            |b| b.light(id),
            "PointLight",
        )
    }

    fn emitter_mut(&mut self, id: EntityId) -> Result<&mut ParticleEmitter> {
        self.write(
            id,
            |o| &mut o.more_mut().emitter,
            |b| b.emitter(id),
            "ParticleEmitter",
        )
    }

    fn body_mut(&mut self, id: EntityId) -> Result<&mut RigidBody> {
        self.write(id, |o| &mut o.more_mut().body, |b| b.body(id), "RigidBody")
    }

    /// Ids this view reserved in the live world.
    pub fn reserved(&self) -> &[EntityId] {
        &self.reserved
    }

    /// Forgets this view's own writes (keeping its allocations and its
    /// reserved ids): it reads its base as it is again. For a view reused
    /// by one callback after another.
    pub fn forget_writes(&mut self) {
        if !self.touched.is_empty() {
            self.touched.clear();
        }
        self.next_created = self.base_next_created;
    }

    fn base(&self) -> &dyn WorldView {
        match &self.base {
            Base::View(view) => &**view,
            Base::Live(cell) => cell.reader(),
        }
    }

    /// The view's writes to `id`: `Some(Ok)` its overlay, `Some(Err)`
    /// destroyed, `None` untouched.
    fn own(&self, id: EntityId) -> Option<Result<&Overlay>> {
        // Most reads come before a callback's first write.
        if self.touched.is_empty() {
            return None;
        }
        self.touched.get(&id).map(|o| {
            if o.destroyed {
                Err(Error::NoSuchEntity(id))
            } else {
                Ok(o)
            }
        })
    }

    /// The overlay to write `id` through, once the entity is known to exist.
    fn overlay(&mut self, id: EntityId) -> Result<&mut Overlay> {
        if !self.exists(id) {
            return Err(Error::NoSuchEntity(id));
        }
        Ok(self.touched.entry(id).or_default())
    }

    /// The tags of `id` to change: copied from the base on first write.
    fn tags_mut(&mut self, id: EntityId) -> Result<&mut Vec<String>> {
        let copied = match self.own(id) {
            Some(Err(error)) => return Err(error),
            Some(Ok(own)) if own.more().is_some_and(|m| m.tags.is_some()) => None,
            _ => Some(self.base().tags(id)?),
        };
        let overlay = self.overlay(id)?.more_mut();
        if let Some(copied) = copied {
            overlay.tags = Some(copied);
        }
        Ok(overlay.tags.get_or_insert_default())
    }

    /// The entities this view wrote that still exist, with their creation
    /// numbers: what a query re-reads instead of the base's answer.
    fn own_entities(&self) -> impl Iterator<Item = (u64, EntityId)> + '_ {
        self.touched.iter().filter_map(|(id, o)| {
            if o.destroyed {
                return None;
            }
            Some((o.spawned.or_else(|| self.base().created(*id))?, *id))
        })
    }

    /// Reads component `T` through the overlay's field or the base.
    fn read<T: Clone>(
        &self,
        id: EntityId,
        field: impl FnOnce(&Overlay) -> Option<&Option<T>>,
        from_base: impl FnOnce(&dyn WorldView) -> Result<T>,
        name: &'static str,
    ) -> Result<T> {
        match self.own(id) {
            Some(own) => match field(own?) {
                Some(Some(value)) => Ok(value.clone()),
                Some(None) => Err(missing(id, name)),
                None => from_base(self.base()),
            },
            None => from_base(self.base()),
        }
    }

    /// Component `T`, to change: copied from the base on first write.
    fn write<T: Clone>(
        &mut self,
        id: EntityId,
        field: fn(&mut Overlay) -> &mut Option<Option<T>>,
        from_base: impl FnOnce(&dyn WorldView) -> Result<T>,
        name: &'static str,
    ) -> Result<&mut T> {
        let written = match self.touched.get_mut(&id) {
            Some(o) if o.destroyed => return Err(Error::NoSuchEntity(id)),
            Some(o) => field(o).is_some(),
            None => false,
        };
        let copied = if written {
            None
        } else {
            Some(optional(from_base(self.base()))?)
        };
        let slot = field(self.overlay(id)?);
        if let Some(copied) = copied {
            *slot = Some(copied);
        }
        slot.as_mut()
            .and_then(Option::as_mut)
            .ok_or_else(|| missing(id, name))
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
            Some(own) => match own?.more().and_then(|m| m.name.as_ref()) {
                Some(name) => Ok(name.clone()),
                None => self.base().name(id),
            },
            None => self.base().name(id),
        }
    }

    fn find(&self, name: &str) -> Option<EntityId> {
        let untouched = self
            .base()
            .named(name)
            .into_iter()
            .filter(|(_, id)| !self.touched.contains_key(id));
        let touched = self.touched.iter().filter_map(|(id, o)| {
            if o.destroyed {
                return None;
            }
            let named = match o.more().and_then(|m| m.name.as_ref()) {
                Some(n) => n.as_deref() == Some(name),
                None => self.base().name(*id).ok().flatten().as_deref() == Some(name),
            };
            let created = o.spawned.or_else(|| self.base().created(*id))?;
            named.then_some((created, *id))
        });
        untouched.chain(touched).min().map(|(_, id)| id)
    }

    fn transform(&self, id: EntityId) -> Result<Transform> {
        match self.own(id) {
            Some(own) => match own?.transform {
                Some(transform) => Ok(transform),
                None => self.base().transform(id),
            },
            None => self.base().transform(id),
        }
    }

    fn light(&self, id: EntityId) -> Result<PointLight> {
        self.read(
            id,
            |o| o.more().and_then(|m| m.light.as_ref()),
            |b| b.light(id),
            "PointLight",
        )
    }

    fn emitter(&self, id: EntityId) -> Result<ParticleEmitter> {
        self.read(
            id,
            |o| o.more().and_then(|m| m.emitter.as_ref()),
            |b| b.emitter(id),
            "ParticleEmitter",
        )
    }

    fn body(&self, id: EntityId) -> Result<RigidBody> {
        self.read(
            id,
            |o| o.more().and_then(|m| m.body.as_ref()),
            |b| b.body(id),
            "RigidBody",
        )
    }

    fn data(&self, id: EntityId, component: &str) -> Result<Option<DataValue>> {
        match self.own(id) {
            Some(own) => {
                let own = own?;
                match own.more().and_then(|m| m.data.get(component)) {
                    Some(value) => Ok(Some(value.clone())),
                    None if own.spawned.is_some() => Ok(None),
                    None => self.base().data(id, component),
                }
            }
            None => self.base().data(id, component),
        }
    }

    fn field(&self, id: EntityId, component: &str, field: &str) -> Result<FieldValue> {
        if let Some(own) = self.own(id)
            && let Some((_, _, value)) = own?.more().and_then(|m| {
                m.fields
                    .iter()
                    .find(|(c, f, _)| c == component && f == field)
            })
        {
            return Ok(value.clone());
        }
        self.base().field(id, component, field)
    }

    fn tags(&self, id: EntityId) -> Result<Vec<String>> {
        match self.own(id) {
            Some(own) => match own?.more().and_then(|m| m.tags.as_ref()) {
                Some(tags) => Ok(tags.clone()),
                None => self.base().tags(id),
            },
            None => self.base().tags(id),
        }
    }

    fn has_tag(&self, id: EntityId, tag: &str) -> Result<bool> {
        match self.own(id) {
            Some(own) => match own?.more().and_then(|m| m.tags.as_ref()) {
                Some(tags) => Ok(tags.iter().any(|t| t == tag)),
                None => self.base().has_tag(id, tag),
            },
            None => self.base().has_tag(id, tag),
        }
    }

    /// The base's answer for the entities this view did not write, and
    /// its own entities read through the view: what the main thread will
    /// answer once the writes are applied.
    fn tagged(&self, tag: &str) -> Result<Vec<(u64, EntityId)>> {
        let mut found: Vec<(u64, EntityId)> = self
            .base()
            .tagged(tag)?
            .into_iter()
            .filter(|(_, id)| !self.touched.contains_key(id))
            .collect();
        for (created, id) in self.own_entities() {
            if self.has_tag(id, tag)? {
                found.push((created, id));
            }
        }
        found.sort_unstable();
        Ok(found)
    }

    /// Like [`tagged`](Self::tagged): the base's answer for the entities
    /// this view did not write, and its own measured where the view has
    /// them.
    fn within(&self, query: &Within<'_>) -> Result<Vec<Nearby>> {
        let mut found: Vec<Nearby> = self
            .base()
            .within(query)?
            .into_iter()
            .filter(|n| !self.touched.contains_key(&n.entity))
            .collect();
        for (created, id) in self.own_entities() {
            if let Some(tag) = query.tag
                && !self.has_tag(id, tag)?
            {
                continue;
            }
            found.extend(query.measure(self.transform(id)?.position, created, id));
        }
        crate::query::sort_nearest(&mut found);
        Ok(found)
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
            Base::Live(cell) => cell.world().reserve_shared(),
            Base::View(_) => self.live.read().reserve_shared(),
        };
        self.reserved.push(id);
        id
    }

    fn spawn(&mut self, id: EntityId) -> Result<()> {
        let overlay = Overlay {
            spawned: Some(self.next_created),
            transform: Some(Transform::IDENTITY),
            more: Some(Box::new(MoreOverlay {
                name: Some(None),
                light: Some(None),
                emitter: Some(None),
                body: Some(None),
                tags: Some(Vec::new()),
                ..MoreOverlay::default()
            })),
            ..Overlay::default()
        };
        self.next_created += 1;
        self.touched.insert(id, overlay);
        Ok(())
    }

    fn despawn(&mut self, id: EntityId) -> Result<()> {
        self.overlay(id)?.destroyed = true;
        Ok(())
    }

    fn set_name(&mut self, id: EntityId, name: Option<String>) -> Result<()> {
        self.overlay(id)?.more_mut().name = Some(name);
        Ok(())
    }

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
        self.overlay(id)?.more_mut().light = Some(Some(light));
        Ok(())
    }

    fn insert_emitter(&mut self, id: EntityId, emitter: ParticleEmitter) -> Result<()> {
        self.overlay(id)?.more_mut().emitter = Some(Some(emitter));
        Ok(())
    }

    fn insert_body(&mut self, id: EntityId, body: RigidBody) -> Result<()> {
        self.overlay(id)?.more_mut().body = Some(Some(body));
        Ok(())
    }

    fn set_data(&mut self, id: EntityId, component: &str, value: DataValue) -> Result<()> {
        self.overlay(id)?
            .more_mut()
            .data
            .insert(component.to_owned(), value);
        Ok(())
    }

    fn add_tag(&mut self, id: EntityId, tag: &str) -> Result<()> {
        let tags = self.tags_mut(id)?;
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_owned());
        }
        Ok(())
    }

    fn remove_tag(&mut self, id: EntityId, tag: &str) -> Result<()> {
        self.tags_mut(id)?.retain(|t| t != tag);
        Ok(())
    }

    fn set_field(
        &mut self,
        id: EntityId,
        component: &str,
        field: &str,
        value: FieldValue,
    ) -> Result<()> {
        // The base checks the field and the value's kind (its own rule),
        // so a worker learns of a wrong field where it wrote it.
        // (An entity this view spawned has nothing in the base to check.)
        let spawned = matches!(self.own(id), Some(Ok(own)) if own.spawned.is_some());
        match self.field(id, component, field) {
            Ok(current) if std::mem::discriminant(&current) != std::mem::discriminant(&value) => {
                return Err(Error::Field {
                    component: component.to_owned(),
                    field: field.to_owned(),
                    reason: format!("must be a {}, not a {}", current.kind(), value.kind()),
                });
            }
            Err(_) if spawned => {}
            Err(error) => return Err(error),
            Ok(_) => {}
        }
        let fields = &mut self.overlay(id)?.more_mut().fields;
        match fields
            .iter_mut()
            .find(|(c, f, _)| c == component && f == field)
        {
            Some((_, _, current)) => *current = value,
            None => fields.push((component.to_owned(), field.to_owned(), value)),
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "hecs-world"))]
mod tests {
    use super::*;
    use crate::World;
    use crate::WorldCommand;
    use glam::DVec3;
    use parking_lot::RwLock;

    #[test]
    fn a_view_over_the_live_world_reads_its_own_writes_and_copies_nothing() {
        let world = Arc::new(RwLock::new(World::new("t")));
        let shared: SharedWorld = world.clone();
        let e = world.write().create();
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
        let world = Arc::new(RwLock::new(World::new("t")));
        let shared: SharedWorld = world.clone();
        let e = world.write().create();
        shared.write().set_name(e, Some("Crate".into())).unwrap();
        let snapshot = Arc::new(world.read().snapshot());
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
        let world = Arc::new(RwLock::new(World::new("t")));
        let shared: SharedWorld = world.clone();
        let snapshot = Arc::new(world.read().snapshot());
        let mut view = WorkerWorld::new(snapshot, shared.clone());
        let id = view.reserve();
        // Other main-thread work happens meanwhile.
        let other = world.write().create();
        assert_ne!(other, id);
        WorldCommand::Spawn(id).apply(&mut *shared.write()).unwrap();
        assert!(shared.read().exists(id));
        assert_eq!(world.read().len(), 2);
    }
}
