//! The components of the default world and the math of transforms.
//!
//! # Conventions
//!
//! Right-handed, +Y up, +X right, forward is -Z (Godot's and glam's
//! convention). Euler angles are in radians and applied yaw (about Y), then
//! pitch (about X), then roll (about Z): `rotation = Ry(yaw) * Rx(pitch) *
//! Rz(roll)`. Positive pitch looks up; positive yaw turns left (counter-clockwise
//! seen from above).

use std::collections::BTreeMap;

use crate::id::EntityId;
use glam::{DQuat, DVec3, EulerRot};

use crate::error::{Result, finite, non_negative};

/// A name, for `find` and `get_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(pub String);

/// An entity's tags, in the order they were added (`zephyr.entity.add_tag`;
/// `find_all` finds entities by them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags(pub Vec<String>);

/// Position, rotation and scale. Every entity has one.
///
/// Values are `f64`, like Lua numbers, so what a script sets reads back exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    /// World position.
    pub position: DVec3,
    /// Rotation (unit quaternion).
    pub rotation: DQuat,
    /// Scale per axis.
    pub scale: DVec3,
}

impl Default for Transform {
    fn default() -> Self {
        Transform::IDENTITY
    }
}

/// Below this length a direction is treated as zero.
const EPSILON: f64 = 1e-9;

impl Transform {
    /// At the origin, unrotated, scale 1.
    pub const IDENTITY: Transform = Transform {
        position: DVec3::ZERO,
        rotation: DQuat::IDENTITY,
        scale: DVec3::ONE,
    };

    /// The rotation as `(pitch, yaw, roll)` in radians. Pitch is in
    /// `[-pi/2, pi/2]`; yaw and roll in `[-pi, pi]`.
    pub fn euler(&self) -> (f64, f64, f64) {
        let (yaw, pitch, roll) = self.rotation.to_euler(EulerRot::YXZ);
        (pitch, yaw, roll)
    }

    /// A rotation from `(pitch, yaw, roll)` in radians.
    pub fn rotation_from_euler(pitch: f64, yaw: f64, roll: f64) -> Result<DQuat> {
        finite("rotation", &[pitch, yaw, roll])?;
        Ok(DQuat::from_euler(EulerRot::YXZ, yaw, pitch, roll))
    }

    /// The direction the entity faces: `rotation * (0, 0, -1)`.
    pub fn forward(&self) -> DVec3 {
        self.rotation * DVec3::NEG_Z
    }

    /// The entity's right: `rotation * (1, 0, 0)`.
    pub fn right(&self) -> DVec3 {
        self.rotation * DVec3::X
    }

    /// The entity's up: `rotation * (0, 1, 0)`.
    pub fn up(&self) -> DVec3 {
        self.rotation * DVec3::Y
    }

    /// Adds Euler deltas to the current Euler angles (so `get_rotation` after
    /// `rotate` is the old angles plus the deltas, for pitch inside
    /// `(-pi/2, pi/2)`).
    pub fn rotate_euler(&mut self, dpitch: f64, dyaw: f64, droll: f64) -> Result<()> {
        finite("rotation delta", &[dpitch, dyaw, droll])?;
        let (pitch, yaw, roll) = self.euler();
        self.rotation = Transform::rotation_from_euler(pitch + dpitch, yaw + dyaw, roll + droll)?;
        Ok(())
    }

    /// Turns the entity so that [`forward`](Self::forward) points at `target`.
    ///
    /// Roll becomes 0 unless `preserve_roll`. Defined results for the
    /// degenerate cases, never NaN:
    /// * a target at the entity's own position leaves the rotation unchanged;
    /// * a target straight above or below keeps the current yaw and sets pitch
    ///   to +pi/2 or -pi/2.
    pub fn look_at(&mut self, target: DVec3, preserve_roll: bool) -> Result<()> {
        finite("look_at target", &target.to_array())?;
        let offset = target - self.position;
        let length = offset.length();
        if length <= EPSILON {
            return Ok(());
        }
        let dir = offset / length;
        let (_, current_yaw, current_roll) = self.euler();
        let horizontal = (dir.x * dir.x + dir.z * dir.z).sqrt();
        let yaw = if horizontal > EPSILON {
            (-dir.x).atan2(-dir.z)
        } else {
            current_yaw
        };
        let pitch = dir.y.clamp(-1.0, 1.0).asin();
        let roll = if preserve_roll { current_roll } else { 0.0 };
        self.rotation = Transform::rotation_from_euler(pitch, yaw, roll)?;
        Ok(())
    }
}

/// A point light.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointLight {
    /// Linear RGB, each channel `>= 0` (above 1 for HDR). Default: white.
    pub color: DVec3,
    /// Brightness, `>= 0`. Default: 1.
    pub intensity: f64,
    /// Reach in world units, `>= 0`. Default: 10.
    pub range: f64,
}

impl Default for PointLight {
    fn default() -> Self {
        PointLight {
            color: DVec3::ONE,
            intensity: 1.0,
            range: 10.0,
        }
    }
}

impl PointLight {
    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        non_negative("light color", &self.color.to_array())?;
        non_negative("light intensity", &[self.intensity])?;
        non_negative("light range", &[self.range])
    }
}

/// A particle emitter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParticleEmitter {
    /// Particles per second, `>= 0`. Default: 10.
    pub rate: f64,
    /// Linear RGB, each channel `>= 0`. Default: white.
    pub color: DVec3,
    /// Whether it emits. Default: `true`.
    pub active: bool,
}

impl Default for ParticleEmitter {
    fn default() -> Self {
        ParticleEmitter {
            rate: 10.0,
            color: DVec3::ONE,
            active: true,
        }
    }
}

impl ParticleEmitter {
    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        non_negative("particle rate", &[self.rate])?;
        non_negative("particle color", &self.color.to_array())
    }
}

/// A rigid body integrated by [`World::step_physics`](crate::World::step_physics).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RigidBody {
    /// Linear velocity. Default: zero.
    pub velocity: DVec3,
    /// Mass, `> 0`. Default: 1.
    pub mass: f64,
    /// Force accumulated this frame; cleared by each physics step.
    pub force: DVec3,
}

impl Default for RigidBody {
    fn default() -> Self {
        RigidBody {
            velocity: DVec3::ZERO,
            mass: 1.0,
            force: DVec3::ZERO,
        }
    }
}

impl RigidBody {
    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        finite("velocity", &self.velocity.to_array())?;
        finite("force", &self.force.to_array())?;
        finite("mass", &[self.mass])?;
        if self.mass > 0.0 {
            Ok(())
        } else {
            Err(crate::Error::InvalidValue {
                what: "mass".into(),
                reason: "must be greater than 0".into(),
            })
        }
    }
}

/// A key of a script data table: a string or an integer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DataKey {
    /// An integer key (array part).
    Int(i64),
    /// A string key.
    Str(String),
}

/// Script data: what a script stores with `ecs.addComponent` under a name
/// that is not a built-in component. Nested tables of numbers, strings and
/// booleans.
#[derive(Debug, Clone, PartialEq)]
pub enum DataValue {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Number(f64),
    /// A string.
    String(String),
    /// A table.
    Table(BTreeMap<DataKey, DataValue>),
}

/// The script data components of one entity, by component name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScriptData(pub BTreeMap<String, DataValue>);

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::{FRAC_PI_2, PI};

    fn close(a: DVec3, b: DVec3) -> bool {
        (a - b).length() < 1e-9
    }

    #[test]
    fn identity_faces_minus_z() {
        let t = Transform::IDENTITY;
        assert!(close(t.forward(), DVec3::NEG_Z));
        assert!(close(t.right(), DVec3::X));
        assert!(close(t.up(), DVec3::Y));
    }

    #[test]
    fn positive_pitch_looks_up_and_positive_yaw_turns_left() {
        let mut t = Transform::IDENTITY;
        t.rotation = Transform::rotation_from_euler(FRAC_PI_2, 0.0, 0.0).unwrap();
        assert!(close(t.forward(), DVec3::Y));
        t.rotation = Transform::rotation_from_euler(0.0, FRAC_PI_2, 0.0).unwrap();
        assert!(close(t.forward(), DVec3::NEG_X));
    }

    #[test]
    fn look_at_degenerate_targets() {
        let mut t = Transform::IDENTITY;
        t.rotation = Transform::rotation_from_euler(0.1, 0.7, 0.3).unwrap();
        let before = t.rotation;
        t.look_at(DVec3::ZERO, false).unwrap();
        assert_eq!(t.rotation, before, "own position: unchanged");
        t.look_at(DVec3::new(0.0, 5.0, 0.0), false).unwrap();
        let (pitch, yaw, roll) = t.euler();
        assert!((pitch - FRAC_PI_2).abs() < 1e-6, "{pitch}");
        assert!(close(t.forward(), DVec3::Y));
        assert!(roll.abs() < 1e-6 || (yaw - 0.7).abs() < 1e-6);
        assert!(t.look_at(DVec3::new(f64::NAN, 0.0, 0.0), false).is_err());
        let _ = PI;
    }

    #[test]
    fn components_validate() {
        assert!(
            PointLight {
                intensity: -1.0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            RigidBody {
                mass: 0.0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            ParticleEmitter {
                rate: f64::INFINITY,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(PointLight::default().validate().is_ok());
    }
}

/// The value of one field of an engine's component (see
/// [`WorldRead::field`](crate::WorldRead::field)).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A finite number.
    Number(f64),
    /// An integer.
    Integer(i64),
    /// A boolean.
    Bool(bool),
    /// A string.
    String(String),
    /// An entity id.
    Entity(EntityId),
}

impl FieldValue {
    /// The kind's name, for messages (`number`, `integer`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            FieldValue::Number(_) => "number",
            FieldValue::Integer(_) => "integer",
            FieldValue::Bool(_) => "boolean",
            FieldValue::String(_) => "string",
            FieldValue::Entity(_) => "entity",
        }
    }
}
