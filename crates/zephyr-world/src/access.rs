//! The two traits every world operation goes through, so the game API's
//! semantics are written once: [`WorldRead`] for queries and [`WorldWrite`]
//! for what [`WorldCommand`](crate::WorldCommand)s change. The live
//! [`World`](crate::World) implements both; so does a worker's
//! [`WorkerWorld`](crate::WorkerWorld) (a snapshot plus its own pending writes).

use crate::components::{DataValue, FieldValue, ParticleEmitter, PointLight, RigidBody, Transform};
use crate::error::{Error, Result};
use crate::id::EntityId;
use crate::input::Input;
use crate::query::{Nearby, Within};

/// Frame time, set by the host's frame loop.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Time {
    /// Seconds since the previous frame.
    pub delta: f64,
    /// Seconds since the start.
    pub elapsed: f64,
    /// The current frame number (0 before the first frame).
    pub frame: u64,
}

/// A change to one component, for [`WorldWrite`]'s `update_*` methods.
pub type Update<'a, T> = &'a mut dyn FnMut(&mut T) -> Result<()>;

/// The error of reading a component a world does not have.
fn absent<W: WorldRead + ?Sized>(world: &W, entity: EntityId, component: &'static str) -> Error {
    if world.exists(entity) {
        Error::MissingComponent { entity, component }
    } else {
        Error::NoSuchEntity(entity)
    }
}

/// The error of reading an engine component a world does not have.
fn no_component<W: WorldRead + ?Sized>(world: &W, entity: EntityId, component: &str) -> Error {
    if world.exists(entity) {
        Error::NoComponent {
            entity,
            component: component.to_owned(),
        }
    } else {
        Error::NoSuchEntity(entity)
    }
}

/// Reads of a world.
pub trait WorldRead {
    /// Whether the entity exists (created and not destroyed).
    fn exists(&self, entity: EntityId) -> bool;
    /// The entity's name (`Ok(None)` when it has none).
    fn name(&self, entity: EntityId) -> Result<Option<String>>;
    /// The earliest-created entity with this name.
    fn find(&self, name: &str) -> Option<EntityId>;
    /// The entity's transform.
    fn transform(&self, entity: EntityId) -> Result<Transform>;
    /// The entity's point light (by default: a world without lights).
    fn light(&self, entity: EntityId) -> Result<PointLight> {
        Err(absent(self, entity, "PointLight"))
    }
    /// The entity's particle emitter (by default: a world without them).
    fn emitter(&self, entity: EntityId) -> Result<ParticleEmitter> {
        Err(absent(self, entity, "ParticleEmitter"))
    }
    /// The entity's rigid body (by default: a world without bodies).
    fn body(&self, entity: EntityId) -> Result<RigidBody> {
        Err(absent(self, entity, "RigidBody"))
    }
    /// A script data component (`Ok(None)` when absent; by default: a world
    /// that keeps none).
    fn data(&self, entity: EntityId, component: &str) -> Result<Option<DataValue>> {
        let _ = component;
        if self.exists(entity) {
            Ok(None)
        } else {
            Err(Error::NoSuchEntity(entity))
        }
    }
    /// A field of an engine's own component (`Health.hp`). By default: a
    /// world without engine components.
    fn field(&self, entity: EntityId, component: &str, field: &str) -> Result<FieldValue> {
        let _ = field;
        Err(no_component(self, entity, component))
    }
    /// The entity's tags, in the order they were added (by default: a
    /// world without tags, where every entity has none).
    fn tags(&self, entity: EntityId) -> Result<Vec<String>> {
        if self.exists(entity) {
            Ok(Vec::new())
        } else {
            Err(Error::NoSuchEntity(entity))
        }
    }
    /// Whether the entity has the tag.
    fn has_tag(&self, entity: EntityId, tag: &str) -> Result<bool> {
        Ok(self.tags(entity)?.iter().any(|t| t == tag))
    }
    /// Every entity with the tag, as (creation number, id), in creation
    /// order (by default: [`Error::NoSupport`]).
    fn tagged(&self, tag: &str) -> Result<Vec<(u64, EntityId)>> {
        let _ = tag;
        Err(Error::NoSupport("tags"))
    }
    /// The entities [`Within`] finds, nearest first, ties in creation order
    /// ([`sort_nearest`](crate::sort_nearest)); measured with
    /// [`Within::measure`], so every world agrees (by default:
    /// [`Error::NoSupport`]).
    fn within(&self, query: &Within<'_>) -> Result<Vec<Nearby>> {
        let _ = query;
        Err(Error::NoSupport("spatial queries"))
    }
    /// How messages show the entity to people (`3:1`: index and
    /// generation, in Zephyr's world); by default its id. Scripts always
    /// see the id itself, an integer.
    fn label(&self, entity: EntityId) -> String {
        entity.to_string()
    }
    /// The input state.
    fn input(&self) -> &Input;
    /// The frame time.
    fn time(&self) -> Time;
    /// The scene's name.
    fn scene_name(&self) -> &str;
}

/// Writes of a world, as commands apply them.
pub trait WorldWrite: WorldRead {
    /// Reserves a fresh entity id (thread-safe on the live world).
    fn reserve(&mut self) -> EntityId;
    /// Makes a reserved id a live entity with a default transform.
    fn spawn(&mut self, entity: EntityId) -> Result<()>;
    /// Destroys an entity.
    fn despawn(&mut self, entity: EntityId) -> Result<()>;
    /// Sets or clears the entity's name.
    fn set_name(&mut self, entity: EntityId, name: Option<String>) -> Result<()>;
    /// Changes the entity's transform through `change` (a world that keeps
    /// transforms in another form converts to and from [`Transform`]
    /// around the call). What `change` returns is the result; it leaves the
    /// transform as it was when it fails.
    fn update_transform(&mut self, entity: EntityId, change: Update<'_, Transform>) -> Result<()>;
    /// Changes the entity's light (by default: a world without lights).
    fn update_light(&mut self, entity: EntityId, change: Update<'_, PointLight>) -> Result<()> {
        let _ = change;
        Err(absent(self, entity, "PointLight"))
    }
    /// Changes the entity's emitter (by default: a world without them).
    fn update_emitter(
        &mut self,
        entity: EntityId,
        change: Update<'_, ParticleEmitter>,
    ) -> Result<()> {
        let _ = change;
        Err(absent(self, entity, "ParticleEmitter"))
    }
    /// Changes the entity's body (by default: a world without bodies).
    fn update_body(&mut self, entity: EntityId, change: Update<'_, RigidBody>) -> Result<()> {
        let _ = change;
        Err(absent(self, entity, "RigidBody"))
    }
    /// Adds or replaces the entity's light.
    fn insert_light(&mut self, entity: EntityId, light: PointLight) -> Result<()> {
        let _ = (entity, light);
        Err(Error::Unsupported("PointLight"))
    }
    /// Adds or replaces the entity's emitter.
    fn insert_emitter(&mut self, entity: EntityId, emitter: ParticleEmitter) -> Result<()> {
        let _ = (entity, emitter);
        Err(Error::Unsupported("ParticleEmitter"))
    }
    /// Adds or replaces the entity's body.
    fn insert_body(&mut self, entity: EntityId, body: RigidBody) -> Result<()> {
        let _ = (entity, body);
        Err(Error::Unsupported("RigidBody"))
    }
    /// Adds or replaces a script data component.
    fn set_data(&mut self, entity: EntityId, component: &str, value: DataValue) -> Result<()> {
        let _ = (entity, component, value);
        Err(Error::Unsupported("script data"))
    }
    /// Adds a tag to the entity (nothing when it has it already; by
    /// default: [`Error::NoSupport`]).
    fn add_tag(&mut self, entity: EntityId, tag: &str) -> Result<()> {
        let _ = (entity, tag);
        Err(Error::NoSupport("tags"))
    }
    /// Removes a tag from the entity (nothing when it lacks it).
    fn remove_tag(&mut self, entity: EntityId, tag: &str) -> Result<()> {
        let _ = (entity, tag);
        Err(Error::NoSupport("tags"))
    }
    /// Sets a field of an engine's own component; refuses a field the
    /// component lacks or a value of the wrong kind with
    /// [`Error::Field`]. By default: a world without engine components.
    fn set_field(
        &mut self,
        entity: EntityId,
        component: &str,
        field: &str,
        value: FieldValue,
    ) -> Result<()> {
        let _ = (field, value);
        Err(no_component(self, entity, component))
    }
}
