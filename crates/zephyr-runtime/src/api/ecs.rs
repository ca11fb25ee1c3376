//! The reference's legacy modules on the same world: `ecs` (createEntity,
//! addComponent, getComponent) and `input` (isKeyPressed, getMousePos), and
//! the conversion between Lua tables and components.

use std::collections::BTreeMap;

use glam::{DQuat, DVec3};
use mlua::{Table, Value};
use zephyr_world::{
    DataKey, DataValue, ParticleEmitter, PointLight, RigidBody, Transform, WorldCommand as W,
};

use super::call::Call;
use super::package::Ret;

type R = mlua::Result<Ret>;

/// How deep script data tables may nest (also stops reference cycles).
const MAX_DEPTH: usize = 32;

pub(super) fn create_entity(c: &Call<'_>) -> R {
    c.create_entity().map(Ret::Entity)
}

pub(super) fn add_component(c: &Call<'_>) -> R {
    let entity = c.entity(1);
    let name = c.string(2);
    let Value::Table(table) = c.value(3) else {
        unreachable!("checked as a table")
    };
    let fields = Fields {
        call: c,
        table: &table,
        component: &name,
    };
    let command = match name.as_str() {
        "Transform" => {
            fields.only(&["position", "rotation", "scale"])?;
            W::SetTransform(
                entity,
                Box::new(Transform {
                    position: fields.vec3("position", ["x", "y", "z"], DVec3::ZERO)?,
                    rotation: fields.quat("rotation")?,
                    scale: fields.vec3("scale", ["x", "y", "z"], DVec3::ONE)?,
                }),
            )
        }
        "PointLight" => {
            fields.only(&["color", "intensity", "range"])?;
            let d = PointLight::default();
            W::InsertLight(
                entity,
                Box::new(PointLight {
                    color: fields.vec3("color", ["r", "g", "b"], d.color)?,
                    intensity: fields.number("intensity", d.intensity)?,
                    range: fields.number("range", d.range)?,
                }),
            )
        }
        "ParticleEmitter" => {
            fields.only(&["rate", "color", "active"])?;
            let d = ParticleEmitter::default();
            W::InsertEmitter(
                entity,
                Box::new(ParticleEmitter {
                    rate: fields.number("rate", d.rate)?,
                    color: fields.vec3("color", ["r", "g", "b"], d.color)?,
                    active: fields.boolean("active", d.active)?,
                }),
            )
        }
        "RigidBody" => {
            fields.only(&["mass", "velocity"])?;
            let d = RigidBody::default();
            W::InsertBody(
                entity,
                Box::new(RigidBody {
                    mass: fields.number("mass", d.mass)?,
                    velocity: fields.vec3("velocity", ["x", "y", "z"], d.velocity)?,
                    force: DVec3::ZERO,
                }),
            )
        }
        _ => W::SetData(
            entity,
            name.clone(),
            Box::new(to_data(c, &Value::Table(table.clone()), "", 0)?),
        ),
    };
    c.write(command).map(|()| Ret::None)
}

pub(super) fn get_component(c: &Call<'_>) -> R {
    let entity = c.entity(1);
    let name = c.string(2);
    let lua = c.lua;
    let vec = |v: DVec3, keys: [&str; 3]| -> mlua::Result<Table> {
        let t = lua.create_table_with_capacity(0, 3)?;
        t.set(keys[0], v.x)?;
        t.set(keys[1], v.y)?;
        t.set(keys[2], v.z)?;
        Ok(t)
    };
    let table = lua.create_table()?;
    match name.as_str() {
        "Transform" => {
            let t = c.read(|w| w.transform(entity))?;
            table.set("position", vec(t.position, ["x", "y", "z"])?)?;
            let q = lua.create_table_with_capacity(0, 4)?;
            q.set("x", t.rotation.x)?;
            q.set("y", t.rotation.y)?;
            q.set("z", t.rotation.z)?;
            q.set("w", t.rotation.w)?;
            table.set("rotation", q)?;
            table.set("scale", vec(t.scale, ["x", "y", "z"])?)?;
        }
        "PointLight" => match c.read(|w| Ok(w.light(entity).ok()))? {
            Some(l) => {
                table.set("color", vec(l.color, ["r", "g", "b"])?)?;
                table.set("intensity", l.intensity)?;
                table.set("range", l.range)?;
            }
            None => return absent(c, entity),
        },
        "ParticleEmitter" => match c.read(|w| Ok(w.emitter(entity).ok()))? {
            Some(e) => {
                table.set("rate", e.rate)?;
                table.set("color", vec(e.color, ["r", "g", "b"])?)?;
                table.set("active", e.active)?;
            }
            None => return absent(c, entity),
        },
        "RigidBody" => match c.read(|w| Ok(w.body(entity).ok()))? {
            Some(b) => {
                table.set("mass", b.mass)?;
                table.set("velocity", vec(b.velocity, ["x", "y", "z"])?)?;
            }
            None => return absent(c, entity),
        },
        _ => {
            return match c.read(|w| w.data(entity, &name))? {
                Some(data) => Ok(Ret::Value(from_data(lua, &data)?)),
                None => Ok(Ret::Value(Value::Nil)),
            };
        }
    }
    Ok(Ret::Value(Value::Table(table)))
}

/// `nil` for a component the entity lacks, but an error for a missing entity.
fn absent(c: &Call<'_>, entity: zephyr_world::EntityId) -> R {
    c.read(|w| w.transform(entity).map(|_| Ret::Value(Value::Nil)))
}

pub(super) fn is_key_pressed(c: &Call<'_>) -> R {
    let key = c.key(1);
    c.read(|w| Ok(w.input().is_key_down(key))).map(Ret::Bool)
}

pub(super) fn get_mouse_pos(c: &Call<'_>) -> R {
    let p = c.read(|w| Ok(w.input().mouse_position()))?;
    Ok(Ret::Vec2(p.x, p.y))
}

/// The fields of a built-in component table.
struct Fields<'a> {
    call: &'a Call<'a>,
    table: &'a Table,
    component: &'a str,
}

impl Fields<'_> {
    fn fail(&self, message: String) -> mlua::Error {
        self.call
            .error(format!("argument 3 ({}): {message}", self.component))
    }

    fn only(&self, known: &[&str]) -> mlua::Result<()> {
        for pair in self.table.pairs::<Value, Value>() {
            let (key, _) = pair?;
            let name = match &key {
                Value::String(s) => s.to_string_lossy(),
                other => {
                    return Err(self.fail(format!(
                        "keys must be field names, got a {} key",
                        zephyr_lua::binding::type_name(other)
                    )));
                }
            };
            if !known.contains(&name.as_str()) {
                return Err(self.fail(format!(
                    "unknown field '{name}' (known: {})",
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }

    fn number_in(
        &self,
        table: &Table,
        path: &str,
        key: impl mlua::IntoLua,
        default: f64,
    ) -> mlua::Result<f64> {
        match table.raw_get::<Value>(key)? {
            Value::Nil => Ok(default),
            Value::Integer(i) => Ok(i as f64),
            Value::Number(n) if n.is_finite() => Ok(n),
            Value::Number(_) => Err(self.fail(format!("field '{path}' must be finite"))),
            other => Err(self.fail(format!(
                "field '{path}' must be a number, got {}",
                zephyr_lua::binding::type_name(&other)
            ))),
        }
    }

    fn number(&self, key: &str, default: f64) -> mlua::Result<f64> {
        self.number_in(self.table, key, key, default)
    }

    fn boolean(&self, key: &str, default: bool) -> mlua::Result<bool> {
        match self.table.raw_get::<Value>(key)? {
            Value::Nil => Ok(default),
            Value::Boolean(b) => Ok(b),
            other => Err(self.fail(format!(
                "field '{key}' must be a boolean, got {}",
                zephyr_lua::binding::type_name(&other)
            ))),
        }
    }

    fn sub_table(&self, key: &str) -> mlua::Result<Option<Table>> {
        match self.table.raw_get::<Value>(key)? {
            Value::Nil => Ok(None),
            Value::Table(t) => Ok(Some(t)),
            other => Err(self.fail(format!(
                "field '{key}' must be a table, got {}",
                zephyr_lua::binding::type_name(&other)
            ))),
        }
    }

    fn vec3(&self, key: &str, names: [&str; 3], default: DVec3) -> mlua::Result<DVec3> {
        let Some(t) = self.sub_table(key)? else {
            return Ok(default);
        };
        let [x, y, z] = self.numbers(&t, key, names, default.to_array())?;
        Ok(DVec3::new(x, y, z))
    }

    fn quat(&self, key: &str) -> mlua::Result<DQuat> {
        let Some(t) = self.sub_table(key)? else {
            return Ok(DQuat::IDENTITY);
        };
        let [x, y, z, w] =
            self.numbers(&t, key, ["x", "y", "z", "w"], DQuat::IDENTITY.to_array())?;
        Ok(DQuat::from_xyzw(x, y, z, w))
    }

    /// A vector field, written either way: `{x = 1, y = 2, z = 3}` (missing
    /// names take their default) or `{1, 2, 3}` (all of them, in order).
    /// Anything else (another length, a key that is neither, both forms
    /// mixed) is refused naming the field.
    fn numbers<const N: usize>(
        &self,
        t: &Table,
        key: &str,
        names: [&str; N],
        defaults: [f64; N],
    ) -> mlua::Result<[f64; N]> {
        let expected = || {
            format!(
                "{{{}}} or {{{}}}",
                names.join(", "),
                names.map(|n| format!("{n} = ...")).join(", ")
            )
        };
        let mut named = 0;
        let mut positional = 0;
        for pair in t.pairs::<Value, Value>() {
            let (k, _) = pair?;
            match &k {
                Value::String(s) if names.iter().any(|n| s.as_bytes() == n.as_bytes()) => {
                    named += 1
                }
                Value::Integer(i) if (1..=N as i64).contains(i) => positional += 1,
                other => {
                    let shown = match other {
                        Value::String(s) => format!("'{}'", s.to_string_lossy()),
                        Value::Integer(i) => format!("[{i}]"),
                        v => zephyr_lua::binding::type_name(v).to_owned(),
                    };
                    return Err(self.fail(format!(
                        "field '{key}' has an unexpected key {shown}: write {}",
                        expected()
                    )));
                }
            }
        }
        if named > 0 && positional > 0 {
            return Err(self.fail(format!(
                "field '{key}' mixes named and numbered values: write {}",
                expected()
            )));
        }
        let mut out = defaults;
        if positional > 0 {
            if positional != N {
                return Err(self.fail(format!(
                    "field '{key}' has {positional} of its {N} numbers: write {}",
                    expected()
                )));
            }
            for (i, slot) in out.iter_mut().enumerate() {
                *slot = self.number_in(t, &format!("{key}[{}]", i + 1), i as i64 + 1, 0.0)?;
            }
        } else {
            for (i, name) in names.iter().enumerate() {
                out[i] = self.number_in(t, &format!("{key}.{name}"), *name, defaults[i])?;
            }
        }
        Ok(out)
    }
}

/// Converts script data; errors name the key path of the bad value.
fn to_data(c: &Call<'_>, value: &Value, path: &str, depth: usize) -> mlua::Result<DataValue> {
    let fail = |what: String| {
        let at = if path.is_empty() {
            String::new()
        } else {
            format!(" at '{path}'")
        };
        c.error(format!("argument 3 (component): {what}{at}"))
    };
    Ok(match value {
        Value::Boolean(b) => DataValue::Bool(*b),
        Value::Integer(i) => DataValue::Int(*i),
        Value::Number(n) if n.is_finite() => DataValue::Number(*n),
        Value::Number(_) => return Err(fail("a number that is not finite".into())),
        Value::String(s) => DataValue::String(s.to_string_lossy()),
        Value::Table(t) => {
            if depth >= MAX_DEPTH {
                return Err(fail(format!(
                    "tables nested deeper than {MAX_DEPTH} (or a cycle)"
                )));
            }
            let mut map = BTreeMap::new();
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair?;
                let (key, label) = match &k {
                    Value::String(s) => (DataKey::Str(s.to_string_lossy()), s.to_string_lossy()),
                    Value::Integer(i) => (DataKey::Int(*i), format!("[{i}]")),
                    Value::Number(n) if n.fract() == 0.0 && n.is_finite() => {
                        (DataKey::Int(*n as i64), format!("[{n}]"))
                    }
                    other => {
                        return Err(fail(format!(
                            "a {} key (keys must be strings or integers)",
                            zephyr_lua::binding::type_name(other)
                        )));
                    }
                };
                let child = if path.is_empty() {
                    label
                } else if label.starts_with('[') {
                    format!("{path}{label}")
                } else {
                    format!("{path}.{label}")
                };
                map.insert(key, to_data(c, &v, &child, depth + 1)?);
            }
            DataValue::Table(map)
        }
        other => {
            return Err(fail(format!(
                "a {} (component data holds numbers, strings, booleans and tables)",
                zephyr_lua::binding::type_name(other)
            )));
        }
    })
}

fn from_data(lua: &mlua::Lua, value: &DataValue) -> mlua::Result<Value> {
    Ok(match value {
        DataValue::Bool(b) => Value::Boolean(*b),
        DataValue::Int(i) => Value::Integer(*i),
        DataValue::Number(n) => Value::Number(*n),
        DataValue::String(s) => Value::String(lua.create_string(s)?),
        DataValue::Table(map) => {
            let t = lua.create_table()?;
            for (k, v) in map {
                let v = from_data(lua, v)?;
                match k {
                    DataKey::Int(i) => t.raw_set(*i, v)?,
                    DataKey::Str(s) => t.raw_set(s.as_str(), v)?,
                }
            }
            Value::Table(t)
        }
    })
}
