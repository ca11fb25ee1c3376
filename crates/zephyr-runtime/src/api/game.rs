//! The `zephyr.*` game API: entity, transform, input, time, scene, light,
//! particles, physics. Each function is one world read or one world command.

use glam::{DVec2, DVec3};
use zephyr_world::WorldCommand as W;

use super::spec::{Call, Ret};

type R = mlua::Result<Ret>;

// zephyr.entity ---------------------------------------------------------------

pub(super) fn entity_create(c: &Call<'_>) -> R {
    c.create_entity().map(Ret::Entity)
}

pub(super) fn entity_destroy(c: &Call<'_>) -> R {
    c.write(W::Despawn(c.entity(1))).map(|()| Ret::None)
}

pub(super) fn entity_exists(c: &Call<'_>) -> R {
    let e = c.entity(1);
    c.read(|w| Ok(w.exists(e))).map(Ret::Bool)
}

pub(super) fn entity_find(c: &Call<'_>) -> R {
    let name = c.string(1);
    c.read(|w| Ok(w.find(&name))).map(Ret::OptEntity)
}

pub(super) fn entity_get_name(c: &Call<'_>) -> R {
    let e = c.entity(1);
    c.read(|w| Ok(w.name(e).ok().flatten())).map(Ret::OptStr)
}

pub(super) fn entity_set_name(c: &Call<'_>) -> R {
    c.write(W::SetName(c.entity(1), Some(c.string(2))))
        .map(|()| Ret::None)
}

// zephyr.transform -------------------------------------------------------------

pub(super) fn get_position(c: &Call<'_>) -> R {
    let e = c.entity(1);
    c.read(|w| Ok(w.transform(e)?.position)).map(Ret::Vec3)
}

pub(super) fn set_position(c: &Call<'_>) -> R {
    c.write(W::SetPosition(c.entity(1), c.vec3(2)))
        .map(|()| Ret::None)
}

pub(super) fn get_rotation(c: &Call<'_>) -> R {
    let e = c.entity(1);
    c.read(|w| {
        let (pitch, yaw, roll) = w.transform(e)?.euler();
        Ok(DVec3::new(pitch, yaw, roll))
    })
    .map(Ret::Vec3)
}

pub(super) fn set_rotation(c: &Call<'_>) -> R {
    c.write(W::SetRotation(c.entity(1), c.vec3(2)))
        .map(|()| Ret::None)
}

pub(super) fn get_scale(c: &Call<'_>) -> R {
    let e = c.entity(1);
    c.read(|w| Ok(w.transform(e)?.scale)).map(Ret::Vec3)
}

pub(super) fn set_scale(c: &Call<'_>) -> R {
    c.write(W::SetScale(c.entity(1), c.vec3(2)))
        .map(|()| Ret::None)
}

pub(super) fn translate(c: &Call<'_>) -> R {
    c.write(W::Translate(c.entity(1), c.vec3(2)))
        .map(|()| Ret::None)
}

pub(super) fn rotate(c: &Call<'_>) -> R {
    c.write(W::Rotate(c.entity(1), c.vec3(2)))
        .map(|()| Ret::None)
}

pub(super) fn look_at(c: &Call<'_>) -> R {
    c.write(W::LookAt {
        entity: c.entity(1),
        target: c.vec3(2),
        preserve_roll: c.boolean(5),
    })
    .map(|()| Ret::None)
}

pub(super) fn forward(c: &Call<'_>) -> R {
    let e = c.entity(1);
    c.read(|w| Ok(w.transform(e)?.forward())).map(Ret::Vec3)
}

pub(super) fn right(c: &Call<'_>) -> R {
    let e = c.entity(1);
    c.read(|w| Ok(w.transform(e)?.right())).map(Ret::Vec3)
}

pub(super) fn up(c: &Call<'_>) -> R {
    let e = c.entity(1);
    c.read(|w| Ok(w.transform(e)?.up())).map(Ret::Vec3)
}

// zephyr.input, zephyr.time, zephyr.scene --------------------------------------

pub(super) fn is_key_down(c: &Call<'_>) -> R {
    let key = c.key(1);
    c.read(|w| Ok(w.input().is_key_down(key))).map(Ret::Bool)
}

pub(super) fn is_mouse_button_down(c: &Call<'_>) -> R {
    let button = c.integer(1);
    let Ok(button) = u8::try_from(button) else {
        return Err(c.error(format!(
            "mouse button {button} does not exist: use 0 (left), 1 (right) or 2 (middle)"
        )));
    };
    c.read(|w| w.input().is_mouse_button_down(button))
        .map(Ret::Bool)
}

pub(super) fn get_mouse_position(c: &Call<'_>) -> R {
    let p: DVec2 = c.read(|w| Ok(w.input().mouse_position()))?;
    Ok(Ret::Vec2(p.x, p.y))
}

pub(super) fn time_delta(c: &Call<'_>) -> R {
    c.read(|w| Ok(w.time().delta)).map(Ret::Number)
}

pub(super) fn time_elapsed(c: &Call<'_>) -> R {
    c.read(|w| Ok(w.time().elapsed)).map(Ret::Number)
}

pub(super) fn time_frame(c: &Call<'_>) -> R {
    c.read(|w| Ok(i64::try_from(w.time().frame).unwrap_or(i64::MAX)))
        .map(Ret::Integer)
}

pub(super) fn scene_get_name(c: &Call<'_>) -> R {
    c.read(|w| Ok(w.scene_name().to_owned())).map(Ret::Str)
}

// zephyr.light -------------------------------------------------------------------

pub(super) fn light_get_color(c: &Call<'_>) -> R {
    let e = c.entity(1);
    c.read(|w| Ok(w.light(e)?.color)).map(Ret::Vec3)
}

pub(super) fn light_set_color(c: &Call<'_>) -> R {
    c.write(W::SetLightColor(c.entity(1), c.vec3(2)))
        .map(|()| Ret::None)
}

pub(super) fn light_get_intensity(c: &Call<'_>) -> R {
    let e = c.entity(1);
    c.read(|w| Ok(w.light(e)?.intensity)).map(Ret::Number)
}

pub(super) fn light_set_intensity(c: &Call<'_>) -> R {
    c.write(W::SetLightIntensity(c.entity(1), c.number(2)))
        .map(|()| Ret::None)
}

pub(super) fn light_get_range(c: &Call<'_>) -> R {
    let e = c.entity(1);
    c.read(|w| Ok(w.light(e)?.range)).map(Ret::Number)
}

pub(super) fn light_set_range(c: &Call<'_>) -> R {
    c.write(W::SetLightRange(c.entity(1), c.number(2)))
        .map(|()| Ret::None)
}

// zephyr.particles -----------------------------------------------------------------

pub(super) fn particles_get_rate(c: &Call<'_>) -> R {
    let e = c.entity(1);
    c.read(|w| Ok(w.emitter(e)?.rate)).map(Ret::Number)
}

pub(super) fn particles_set_rate(c: &Call<'_>) -> R {
    c.write(W::SetParticleRate(c.entity(1), c.number(2)))
        .map(|()| Ret::None)
}

pub(super) fn particles_get_color(c: &Call<'_>) -> R {
    let e = c.entity(1);
    c.read(|w| Ok(w.emitter(e)?.color)).map(Ret::Vec3)
}

pub(super) fn particles_set_color(c: &Call<'_>) -> R {
    c.write(W::SetParticleColor(c.entity(1), c.vec3(2)))
        .map(|()| Ret::None)
}

pub(super) fn particles_get_active(c: &Call<'_>) -> R {
    let e = c.entity(1);
    c.read(|w| Ok(w.emitter(e)?.active)).map(Ret::Bool)
}

pub(super) fn particles_set_active(c: &Call<'_>) -> R {
    c.write(W::SetParticleActive(c.entity(1), c.boolean(2)))
        .map(|()| Ret::None)
}

// zephyr.physics ---------------------------------------------------------------------

pub(super) fn get_velocity(c: &Call<'_>) -> R {
    let e = c.entity(1);
    c.read(|w| Ok(w.body(e)?.velocity)).map(Ret::Vec3)
}

pub(super) fn set_velocity(c: &Call<'_>) -> R {
    c.write(W::SetVelocity(c.entity(1), c.vec3(2)))
        .map(|()| Ret::None)
}

pub(super) fn add_force(c: &Call<'_>) -> R {
    c.write(W::AddForce(c.entity(1), c.vec3(2)))
        .map(|()| Ret::None)
}

pub(super) fn add_impulse(c: &Call<'_>) -> R {
    c.write(W::AddImpulse(c.entity(1), c.vec3(2)))
        .map(|()| Ret::None)
}
