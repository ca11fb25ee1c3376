//! The world behind Zephyr's game API, with no Lua: the [`EngineWorld`] trait
//! the runtime works against (an engine implements it for its own world),
//! the API's value types, the worker view, and (default feature
//! `hecs-world`) Zephyr's own world, `World`.
//!
//! | module       | its one job                                                            |
//! |--------------|------------------------------------------------------------------------|
//! | `id`         | [`EntityId`]: ids as scripts see them, minted by the world             |
//! | `components` | [`Transform`] and its conventions, lights, emitters, bodies, data      |
//! | `input`      | [`Key`] names and the [`Input`] state                                  |
//! | `access`     | [`WorldRead`] / [`WorldWrite`]: the API's semantics are written once    |
//! | `engine`     | [`EngineWorld`]: the world the runtime works against (an engine's own, or `World`) |
//! | `query`      | [`Within`] and [`Nearby`]: tags and the spatial query's one rule        |
//! | `command`    | [`WorldCommand`]: every write, typed                                    |
//! | `worker`     | [`WorkerWorld`]: a worker script's writes over the world's view (a job's) or the live world (a parallel phase) |
//! | `world`      | `World` (feature `hecs-world`): hecs entities and names, input, time, scene; `world/` holds its snapshots, their change tracking, the despawn holds and the physics step |
//!
//! Conventions (tested by property tests): right-handed, +Y up, +X right,
//! forward is -Z; Euler angles in radians applied yaw (Y), then pitch (X),
//! then roll (Z).
#![forbid(unsafe_code)]

mod access;
mod command;
mod components;
mod engine;
mod error;
mod id;
mod input;
mod query;
mod worker;
#[cfg(feature = "hecs-world")]
mod world;

pub use access::{Time, Update, WorldRead, WorldWrite};
pub use command::WorldCommand;
pub use components::{
    DataKey, DataValue, FieldValue, Name, ParticleEmitter, PointLight, RigidBody, ScriptData, Tags,
    Transform,
};
pub use engine::{DespawnHolds, EngineWorld, LiveWorld, SharedWorld, WorldView, share};
pub use error::{Error, Result};
pub use id::EntityId;
pub use input::{Input, Key, MOUSE_BUTTONS};
pub use query::{Nearby, Within, sort_nearest, validate_tag};
pub use worker::WorkerWorld;
#[cfg(feature = "hecs-world")]
pub use world::{EntityRecord, Snapshot, World};

pub use glam;
/// The ECS behind [`World`], for engine systems that query it (the same
/// copy as [`World::ecs`]'s).
#[cfg(feature = "hecs-world")]
pub use hecs;
