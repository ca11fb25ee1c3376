//! The default engine world behind Zephyr's game API. No Lua: an engine can
//! drive it from Rust, and `zephyr-runtime` exposes it to scripts.
//!
//! | module       | its one job                                                            |
//! |--------------|------------------------------------------------------------------------|
//! | `id`         | [`EntityId`]: generation-checked ids as scripts see them                |
//! | `components` | [`Transform`] and its conventions, lights, emitters, bodies, data      |
//! | `input`      | [`Key`] names and the [`Input`] state                                  |
//! | `access`     | [`WorldRead`] / [`WorldWrite`]: the API's semantics are written once    |
//! | `engine`     | [`EngineWorld`]: the world the runtime works against (an engine's own, or [`World`]) |
//! | `command`    | [`WorldCommand`]: every write, typed                                    |
//! | `world`      | [`World`]: hecs entities and names, input, time, scene (`world/`: its snapshot tracking, despawn holds and physics step each in their own file) |
//! | `snapshot`   | [`Snapshot`], [`WorkerWorld`]: what worker-thread scripts read (a copy, or the live world during a parallel phase) |
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
mod worker;
#[cfg(feature = "hecs-world")]
mod world;

pub use access::{Time, Update, WorldRead, WorldWrite};
pub use command::WorldCommand;
pub use components::{
    DataKey, DataValue, FieldValue, Name, ParticleEmitter, PointLight, RigidBody, ScriptData,
    Transform,
};
pub use engine::{DespawnHolds, EngineWorld, LiveWorld, SharedWorld, WorldView, share};
pub use error::{Error, Result};
pub use id::EntityId;
pub use input::{Input, Key, MOUSE_BUTTONS};
pub use worker::WorkerWorld;
#[cfg(feature = "hecs-world")]
pub use world::{EntityRecord, Snapshot, World};

pub use glam;
/// The ECS behind [`World`], for engine systems that query it (the same
/// copy as [`World::ecs`]'s).
#[cfg(feature = "hecs-world")]
pub use hecs;
