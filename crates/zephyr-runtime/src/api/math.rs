//! `zephyr.math`: small vector helpers on plain numbers (glam does the math;
//! `distance`, `dot` and `cross` are glam's own, named in the registry).

use glam::DVec3;

use super::call::Call;
use super::package::Ret;

type R = mlua::Result<Ret>;

pub(super) fn vec3(c: &Call<'_>) -> R {
    let t = c.lua.create_table_with_capacity(0, 3)?;
    t.set("x", c.number(1))?;
    t.set("y", c.number(2))?;
    t.set("z", c.number(3))?;
    Ok(Ret::Value(mlua::Value::Table(t)))
}

pub(super) fn lerp(a: f64, b: f64, t: f64) -> f64 {
    a + (b - a) * t
}

pub(super) fn clamp(c: &Call<'_>) -> R {
    let (v, min, max) = (c.number(1), c.number(2), c.number(3));
    if min > max {
        return Err(c.error(format!("min ({min}) is greater than max ({max})")));
    }
    Ok(Ret::Number(v.clamp(min, max)))
}

/// The zero vector normalizes to (0, 0, 0), never NaN.
pub(super) fn normalize(v: DVec3) -> DVec3 {
    v.normalize_or(DVec3::ZERO)
}
