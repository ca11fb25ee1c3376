//! Typed world writes. The game API turns every write into one of these;
//! the main thread applies it at once, a worker records it (and applies it to
//! its own view, so its later reads see it) for `update()` to apply.

use std::borrow::Cow;

use glam::DVec3;

use crate::access::{Update, WorldWrite};
use crate::components::{DataValue, FieldValue, ParticleEmitter, PointLight, RigidBody, Transform};
use crate::error::{Result, finite, non_negative};
use crate::id::EntityId;

/// One write to the world. Small (48 bytes): the rare whole-component
/// writes box their payload, so the per-frame setters move little.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[allow(missing_docs)] // each variant is the API function of the same name
pub enum WorldCommand {
    /// Makes a reserved id a live entity (`zephyr.entity.create`).
    Spawn(EntityId),
    Despawn(EntityId),
    SetName(EntityId, Option<String>),
    SetPosition(EntityId, DVec3),
    /// Pitch, yaw, roll in radians.
    SetRotation(EntityId, DVec3),
    SetScale(EntityId, DVec3),
    SetTransform(EntityId, Box<Transform>),
    Translate(EntityId, DVec3),
    /// Pitch, yaw, roll deltas in radians.
    Rotate(EntityId, DVec3),
    LookAt {
        entity: EntityId,
        target: DVec3,
        preserve_roll: bool,
    },
    SetLightColor(EntityId, DVec3),
    SetLightIntensity(EntityId, f64),
    SetLightRange(EntityId, f64),
    InsertLight(EntityId, Box<PointLight>),
    SetParticleRate(EntityId, f64),
    SetParticleColor(EntityId, DVec3),
    SetParticleActive(EntityId, bool),
    InsertEmitter(EntityId, Box<ParticleEmitter>),
    SetVelocity(EntityId, DVec3),
    AddForce(EntityId, DVec3),
    AddImpulse(EntityId, DVec3),
    InsertBody(EntityId, Box<RigidBody>),
    SetData(EntityId, String, Box<DataValue>),
    AddTag(EntityId, String),
    RemoveTag(EntityId, String),
    /// Sets a field of an engine component: (component, field, value);
    /// declared names are `&'static str`, so recording one allocates
    /// nothing for them.
    SetField(
        EntityId,
        Box<(Cow<'static, str>, Cow<'static, str>, FieldValue)>,
    ),
}

impl WorldCommand {
    /// Sets `component.field` of `entity` (an engine component's field).
    pub fn set_field(
        entity: EntityId,
        component: impl Into<Cow<'static, str>>,
        field: impl Into<Cow<'static, str>>,
        value: FieldValue,
    ) -> Self {
        WorldCommand::SetField(entity, Box::new((component.into(), field.into(), value)))
    }

    /// Applies the command. Everything it stores is validated here, so a
    /// world only ever holds finite values. Takes the command by reference:
    /// a worker applies it to its own view and then records it, unchanged.
    pub fn apply(&self, world: &mut (impl WorldWrite + ?Sized)) -> Result<()> {
        use WorldCommand::*;
        match self {
            Spawn(e) => world.spawn(*e),
            Despawn(e) => world.despawn(*e),
            SetName(e, name) => world.set_name(*e, name.clone()),
            SetPosition(e, p) => {
                finite("position", &p.to_array())?;
                update(world, *e, WorldWrite::update_transform, |t| {
                    t.position = *p;
                    Ok(())
                })
            }
            SetRotation(e, euler) => {
                let rotation = Transform::rotation_from_euler(euler.x, euler.y, euler.z)?;
                update(world, *e, WorldWrite::update_transform, |t| {
                    t.rotation = rotation;
                    Ok(())
                })
            }
            SetScale(e, s) => {
                finite("scale", &s.to_array())?;
                update(world, *e, WorldWrite::update_transform, |t| {
                    t.scale = *s;
                    Ok(())
                })
            }
            SetTransform(e, t) => {
                finite("position", &t.position.to_array())?;
                finite("scale", &t.scale.to_array())?;
                finite("rotation", &t.rotation.to_array())?;
                if t.rotation.length() <= 1e-9 {
                    return Err(crate::Error::InvalidValue {
                        what: "rotation".into(),
                        reason: "must be a non-zero quaternion".into(),
                    });
                }
                let rotation = t.rotation.normalize();
                update(world, *e, WorldWrite::update_transform, |current| {
                    *current = Transform { rotation, ..**t };
                    Ok(())
                })
            }
            Translate(e, d) => {
                finite("translation", &d.to_array())?;
                update(world, *e, WorldWrite::update_transform, |t| {
                    let position = t.position + *d;
                    finite("position", &position.to_array())?;
                    t.position = position;
                    Ok(())
                })
            }
            Rotate(e, d) => update(world, *e, WorldWrite::update_transform, |t| {
                t.rotate_euler(d.x, d.y, d.z)
            }),
            LookAt {
                entity,
                target,
                preserve_roll,
            } => update(world, *entity, WorldWrite::update_transform, |t| {
                t.look_at(*target, *preserve_roll)
            }),
            SetLightColor(e, c) => {
                non_negative("light color", &c.to_array())?;
                update(world, *e, WorldWrite::update_light, |component| {
                    component.color = *c;
                    Ok(())
                })
            }
            SetLightIntensity(e, v) => {
                non_negative("light intensity", &[*v])?;
                update(world, *e, WorldWrite::update_light, |component| {
                    component.intensity = *v;
                    Ok(())
                })
            }
            SetLightRange(e, v) => {
                non_negative("light range", &[*v])?;
                update(world, *e, WorldWrite::update_light, |component| {
                    component.range = *v;
                    Ok(())
                })
            }
            InsertLight(e, light) => {
                light.validate()?;
                world.insert_light(*e, **light)
            }
            SetParticleRate(e, v) => {
                non_negative("particle rate", &[*v])?;
                update(world, *e, WorldWrite::update_emitter, |component| {
                    component.rate = *v;
                    Ok(())
                })
            }
            SetParticleColor(e, c) => {
                non_negative("particle color", &c.to_array())?;
                update(world, *e, WorldWrite::update_emitter, |component| {
                    component.color = *c;
                    Ok(())
                })
            }
            SetParticleActive(e, active) => {
                update(world, *e, WorldWrite::update_emitter, |component| {
                    component.active = *active;
                    Ok(())
                })
            }
            InsertEmitter(e, emitter) => {
                emitter.validate()?;
                world.insert_emitter(*e, **emitter)
            }
            SetVelocity(e, v) => {
                finite("velocity", &v.to_array())?;
                update(world, *e, WorldWrite::update_body, |component| {
                    component.velocity = *v;
                    Ok(())
                })
            }
            AddForce(e, f) => {
                finite("force", &f.to_array())?;
                update(world, *e, WorldWrite::update_body, |component| {
                    component.force += *f;
                    Ok(())
                })
            }
            AddImpulse(e, i) => {
                finite("impulse", &i.to_array())?;
                update(world, *e, WorldWrite::update_body, |body| {
                    body.velocity += *i / body.mass;
                    Ok(())
                })
            }
            InsertBody(e, body) => {
                body.validate()?;
                world.insert_body(*e, **body)
            }
            SetData(e, component, value) => world.set_data(*e, component, (**value).clone()),
            AddTag(e, tag) => {
                crate::query::validate_tag(tag)?;
                world.add_tag(*e, tag)
            }
            RemoveTag(e, tag) => world.remove_tag(*e, tag),
            SetField(e, field) => {
                let (component, name, value) = &**field;
                if let FieldValue::Number(n) = value
                    && !n.is_finite()
                {
                    finite(&format!("{component}.{name}"), &[*n])?;
                }
                world.set_field(*e, component, name, value.clone())
            }
        }
    }
}

/// Runs `change` through one of the world's `update_*` methods.
fn update<W: WorldWrite + ?Sized, T>(
    world: &mut W,
    entity: EntityId,
    method: fn(&mut W, EntityId, Update<'_, T>) -> Result<()>,
    change: impl FnOnce(&mut T) -> Result<()>,
) -> Result<()> {
    let mut change = Some(change);
    method(world, entity, &mut |value| match change.take() {
        Some(change) => change(value),
        None => Ok(()),
    })
}
