//! The `zephyr.*` game API: entity, transform, input, time, scene, light,
//! particles, physics. Each function is one world read or one world command;
//! the per-entity setters need no function here, the registry names their
//! [`WorldCommand`](zephyr_world::WorldCommand) constructor.

use glam::{DVec2, DVec3};
use mlua::Value;
use zephyr_world::{self as world, EntityId, Within, WorldCommand as W, WorldRead};

use super::call::Call;
use super::package::Ret;

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

/// An array of entity ids, as Lua sees it.
fn entities(c: &Call<'_>, ids: impl IntoIterator<Item = EntityId>) -> R {
    let table = c
        .lua()
        .create_sequence_from(ids.into_iter().map(EntityId::to_lua))?;
    Ok(Ret::Value(Value::Table(table)))
}

pub(super) fn entity_add_tag(c: &Call<'_>) -> R {
    c.write(W::AddTag(c.entity(1), c.string(2)))
        .map(|()| Ret::None)
}

pub(super) fn entity_remove_tag(c: &Call<'_>) -> R {
    c.write(W::RemoveTag(c.entity(1), c.string(2)))
        .map(|()| Ret::None)
}

pub(super) fn entity_has_tag(c: &Call<'_>) -> R {
    let (e, tag) = (c.entity(1), c.string(2));
    c.read(|w| match w.has_tag(e, &tag) {
        Err(world::Error::NoSuchEntity(_)) => Ok(false),
        other => other,
    })
    .map(Ret::Bool)
}

pub(super) fn entity_get_tags(c: &Call<'_>) -> R {
    let e = c.entity(1);
    let tags = c.read(|w| match w.tags(e) {
        Err(world::Error::NoSuchEntity(_)) => Ok(None),
        other => other.map(Some),
    })?;
    match tags {
        Some(tags) => Ok(Ret::Value(Value::Table(
            c.lua().create_sequence_from(tags)?,
        ))),
        None => Ok(Ret::Value(Value::Nil)),
    }
}

pub(super) fn entity_find_all(c: &Call<'_>) -> R {
    let tag = c.string(1);
    let found = c.read(|w| w.tagged(&tag))?;
    entities(c, found.into_iter().map(|(_, e)| e))
}

pub(super) fn entity_within(c: &Call<'_>) -> R {
    let tag = c.opt_string(5);
    let query = Within {
        center: c.vec3(1),
        radius: c.number(4),
        tag: tag.as_deref(),
    };
    let found = c.read(|w| w.within(&query))?;
    entities(c, found.into_iter().map(|n| n.entity))
}

// zephyr.transform -------------------------------------------------------------

pub(super) fn get_position(w: &dyn WorldRead, e: EntityId) -> world::Result<DVec3> {
    Ok(w.transform(e)?.position)
}

pub(super) fn get_rotation(w: &dyn WorldRead, e: EntityId) -> world::Result<DVec3> {
    let (pitch, yaw, roll) = w.transform(e)?.euler();
    Ok(DVec3::new(pitch, yaw, roll))
}

pub(super) fn get_scale(w: &dyn WorldRead, e: EntityId) -> world::Result<DVec3> {
    Ok(w.transform(e)?.scale)
}

pub(super) fn look_at(c: &Call<'_>) -> R {
    c.write(W::LookAt {
        entity: c.entity(1),
        target: c.vec3(2),
        preserve_roll: c.boolean(5),
    })
    .map(|()| Ret::None)
}

pub(super) fn forward(w: &dyn WorldRead, e: EntityId) -> world::Result<DVec3> {
    Ok(w.transform(e)?.forward())
}

pub(super) fn right(w: &dyn WorldRead, e: EntityId) -> world::Result<DVec3> {
    Ok(w.transform(e)?.right())
}

pub(super) fn up(w: &dyn WorldRead, e: EntityId) -> world::Result<DVec3> {
    Ok(w.transform(e)?.up())
}

// zephyr.input, zephyr.time, zephyr.scene --------------------------------------

pub(super) fn is_key_down(c: &Call<'_>) -> R {
    let key = c.key(1);
    c.read(|w| Ok(w.input().is_key_down(key))).map(Ret::Bool)
}

pub(super) fn was_pressed(c: &Call<'_>) -> R {
    let key = c.key(1);
    c.read(|w| Ok(w.input().was_pressed(key))).map(Ret::Bool)
}

pub(super) fn was_released(c: &Call<'_>) -> R {
    let key = c.key(1);
    c.read(|w| Ok(w.input().was_released(key))).map(Ret::Bool)
}

/// Argument 1 as a mouse button number.
fn button(c: &Call<'_>) -> mlua::Result<u8> {
    let button = c.integer(1);
    u8::try_from(button).map_err(|_| {
        c.error(format!(
            "mouse button {button} does not exist: use Mouse.Left (0), Mouse.Right (1) or Mouse.Middle (2)"
        ))
    })
}

pub(super) fn is_mouse_button_down(c: &Call<'_>) -> R {
    let button = button(c)?;
    c.read(|w| w.input().is_mouse_button_down(button))
        .map(Ret::Bool)
}

pub(super) fn was_mouse_button_pressed(c: &Call<'_>) -> R {
    let button = button(c)?;
    c.read(|w| w.input().was_mouse_button_pressed(button))
        .map(Ret::Bool)
}

pub(super) fn was_mouse_button_released(c: &Call<'_>) -> R {
    let button = button(c)?;
    c.read(|w| w.input().was_mouse_button_released(button))
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

pub(super) fn light_get_color(w: &dyn WorldRead, e: EntityId) -> world::Result<DVec3> {
    Ok(w.light(e)?.color)
}

pub(super) fn light_get_intensity(w: &dyn WorldRead, e: EntityId) -> world::Result<f64> {
    Ok(w.light(e)?.intensity)
}

pub(super) fn light_get_range(w: &dyn WorldRead, e: EntityId) -> world::Result<f64> {
    Ok(w.light(e)?.range)
}

// zephyr.particles -----------------------------------------------------------------

pub(super) fn particles_get_rate(w: &dyn WorldRead, e: EntityId) -> world::Result<f64> {
    Ok(w.emitter(e)?.rate)
}

pub(super) fn particles_get_color(w: &dyn WorldRead, e: EntityId) -> world::Result<DVec3> {
    Ok(w.emitter(e)?.color)
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

pub(super) fn get_velocity(w: &dyn WorldRead, e: EntityId) -> world::Result<DVec3> {
    Ok(w.body(e)?.velocity)
}

pub(super) fn profile_begin(c: &Call<'_>) -> R {
    zephyr_lua::profile::begin_label(c.lua, &c.string(1));
    Ok(Ret::None)
}

pub(super) fn profile_finish(c: &Call<'_>) -> R {
    if zephyr_lua::profile::finish_label(c.lua) {
        Ok(Ret::None)
    } else {
        Err(c.error(
            "no section is open (zephyr.profile.begin was not called in this callback or script)",
        ))
    }
}
