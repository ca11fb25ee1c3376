//! The two traits every world operation goes through, so the game API's
//! semantics are written once: [`WorldRead`] for queries and [`WorldWrite`]
//! for what [`WorldCommand`](crate::WorldCommand)s change. The live
//! [`World`](crate::World) implements both; so does a worker's
//! [`WorkerWorld`](crate::WorkerWorld) (a snapshot plus its own pending writes).

use crate::components::{DataValue, ParticleEmitter, PointLight, RigidBody, Transform};
use crate::error::Result;
use crate::id::EntityId;
use crate::input::Input;

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
    /// The entity's point light.
    fn light(&self, entity: EntityId) -> Result<PointLight>;
    /// The entity's particle emitter.
    fn emitter(&self, entity: EntityId) -> Result<ParticleEmitter>;
    /// The entity's rigid body.
    fn body(&self, entity: EntityId) -> Result<RigidBody>;
    /// A script data component (`Ok(None)` when absent).
    fn data(&self, entity: EntityId, component: &str) -> Result<Option<DataValue>>;
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
    /// The entity's transform, to change.
    fn transform_mut(&mut self, entity: EntityId) -> Result<&mut Transform>;
    /// The entity's light, to change.
    fn light_mut(&mut self, entity: EntityId) -> Result<&mut PointLight>;
    /// The entity's emitter, to change.
    fn emitter_mut(&mut self, entity: EntityId) -> Result<&mut ParticleEmitter>;
    /// The entity's body, to change.
    fn body_mut(&mut self, entity: EntityId) -> Result<&mut RigidBody>;
    /// Adds or replaces the entity's light.
    fn insert_light(&mut self, entity: EntityId, light: PointLight) -> Result<()>;
    /// Adds or replaces the entity's emitter.
    fn insert_emitter(&mut self, entity: EntityId, emitter: ParticleEmitter) -> Result<()>;
    /// Adds or replaces the entity's body.
    fn insert_body(&mut self, entity: EntityId, body: RigidBody) -> Result<()>;
    /// Adds or replaces a script data component.
    fn set_data(&mut self, entity: EntityId, component: &str, value: DataValue) -> Result<()>;
}
