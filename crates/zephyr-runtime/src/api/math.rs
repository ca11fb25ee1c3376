//! `zephyr.math`: small vector helpers on plain numbers (glam does the math).

use glam::DVec3;

use super::spec::{Call, Ret};

type R = mlua::Result<Ret>;

pub(super) fn vec3(c: &Call<'_>) -> R {
    let t = c.lua.create_table_with_capacity(0, 3)?;
    t.set("x", c.number(1))?;
    t.set("y", c.number(2))?;
    t.set("z", c.number(3))?;
    Ok(Ret::Value(mlua::Value::Table(t)))
}

pub(super) fn distance(c: &Call<'_>) -> R {
    Ok(Ret::Number(c.vec3(1).distance(c.vec3(4))))
}

pub(super) fn lerp(c: &Call<'_>) -> R {
    let (a, b, t) = (c.number(1), c.number(2), c.number(3));
    Ok(Ret::Number(a + (b - a) * t))
}

pub(super) fn clamp(c: &Call<'_>) -> R {
    let (v, min, max) = (c.number(1), c.number(2), c.number(3));
    if min > max {
        return Err(c.error(format!("min ({min}) is greater than max ({max})")));
    }
    Ok(Ret::Number(v.clamp(min, max)))
}

/// The zero vector normalizes to (0, 0, 0), never NaN.
pub(super) fn normalize(c: &Call<'_>) -> R {
    Ok(Ret::Vec3(c.vec3(1).normalize_or(DVec3::ZERO)))
}

pub(super) fn dot(c: &Call<'_>) -> R {
    Ok(Ret::Number(c.vec3(1).dot(c.vec3(4))))
}

pub(super) fn cross(c: &Call<'_>) -> R {
    Ok(Ret::Vec3(c.vec3(1).cross(c.vec3(4))))
}
