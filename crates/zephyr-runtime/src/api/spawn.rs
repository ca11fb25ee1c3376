//! `zephyr.entity.spawn`: a prefab by name, or a table of keys over one.

use std::sync::Arc;

use glam::DVec3;
use mlua::{Table, Value};
use zephyr_lua::binding::type_name;
use zephyr_world::{ParticleEmitter, PointLight, RigidBody};

use super::call::Call;
use super::package::Ret;
use super::suggest::did_you_mean;
use crate::prefab::{EntityTemplate, KEYS};

pub(super) fn entity_spawn(c: &Call<'_>) -> mlua::Result<Ret> {
    let (template, prefab) = match c.value(1) {
        Value::String(name) => {
            let name = name.to_string_lossy();
            let mut template = (*prefab(c, &name)?).clone();
            match (c.is_given(2), c.is_given(3), c.is_given(4)) {
                (false, false, false) => {}
                (true, true, true) => template.position = Some(c.vec3(2)),
                _ => {
                    return Err(c.error(format!(
                        "prefab '{name}': give the position as three numbers x, y, z, or none"
                    )));
                }
            }
            (template, Some(name))
        }
        Value::Table(table) => {
            if c.is_given(2) {
                return Err(c.error(
                    "a spawn table takes no other arguments: give the position as \
                     position = {x, y, z}",
                ));
            }
            from_table(c, &table)?
        }
        // The declaration (`Type::Spawn`) takes strings and tables only.
        _ => unreachable!("checked as a prefab name or a table"),
    };
    let about = |message: String| match &prefab {
        Some(name) => c.error(format!("prefab '{name}': {message}")),
        None => c.error(message),
    };
    template.validate().map_err(about)?;
    let id = c.create_entity()?;
    for command in template.commands(id).map_err(|e| about(e.to_string()))? {
        c.write(command)?;
    }
    if let Some(behaviour) = template.behaviour(id) {
        c.attach_later(behaviour)?;
    }
    Ok(Ret::Entity(id))
}

/// The prefab named `name`, or the error that lists the known ones.
fn prefab(c: &Call<'_>, name: &str) -> mlua::Result<Arc<EntityTemplate>> {
    let spawns = &c.host.spawns;
    spawns.prefab(name).ok_or_else(|| {
        let names = spawns.prefab_names();
        let known = if names.is_empty() {
            " (no prefab is declared)".to_owned()
        } else {
            did_you_mean(name, &names)
        };
        c.error(format!("no prefab '{name}'{known}"))
    })
}

/// A spawn table's keys over its prefab's (or over nothing); returns the
/// prefab's name too.
fn from_table(c: &Call<'_>, table: &Table) -> mlua::Result<(EntityTemplate, Option<String>)> {
    let prefab_name = match table.raw_get::<Value>("prefab")? {
        Value::Nil => None,
        Value::String(s) => Some(s.to_string_lossy()),
        other => {
            return Err(c.error(format!(
                "key 'prefab' must be a prefab name (a string), got {}",
                type_name(&other)
            )));
        }
    };
    let base = match &prefab_name {
        Some(name) => (*prefab(c, name)?).clone(),
        None => EntityTemplate::default(),
    };
    let about = |key: &str, message: String| match &prefab_name {
        Some(name) => c.error(format!("prefab '{name}': key '{key}' {message}")),
        None => c.error(format!("key '{key}' {message}")),
    };
    let mut keys = EntityTemplate::default();
    for pair in table.clone().pairs::<Value, Value>() {
        let (key, value) = pair?;
        let Value::String(key) = key else {
            return Err(c.error(format!(
                "a spawn table's keys are names ({}), not a {}",
                KEYS.join(", "),
                type_name(&key)
            )));
        };
        let key = key.to_string_lossy();
        let field = Field {
            key: &key,
            value: &value,
            about: &about,
        };
        match key.as_str() {
            "prefab" => {}
            "name" => keys.name = Some(field.string()?),
            "position" => keys.position = Some(field.vec3()?),
            "rotation" => keys.rotation = Some(field.vec3()?),
            "scale" => keys.scale = Some(field.vec3()?),
            "light" => keys.light = Some(field.light()?),
            "particles" => keys.particles = Some(field.particles()?),
            "body" => keys.body = Some(field.body()?),
            "tags" => keys.tags = Some(field.strings()?),
            "script" => {
                let path = field.string()?;
                let script = c
                    .host
                    .spawns
                    .script(&path)
                    .map_err(|e| about("script", format!("names no script: {e}")))?;
                keys.script = Some(script);
            }
            "parallel" => keys.parallel = Some(field.boolean()?),
            _ => {
                return Err(c.error(format!(
                    "a spawn table has no key '{key}'{} (its keys: {})",
                    did_you_mean(&key, &KEYS),
                    KEYS.join(", ")
                )));
            }
        }
    }
    Ok((keys.over(&base), prefab_name))
}

/// One key of a spawn table, read as its type.
struct Field<'a> {
    key: &'a str,
    value: &'a Value,
    about: &'a dyn Fn(&str, String) -> mlua::Error,
}

impl Field<'_> {
    fn wrong(&self, expected: &str) -> mlua::Error {
        (self.about)(
            self.key,
            format!("must be {expected}, got {}", type_name(self.value)),
        )
    }

    fn string(&self) -> mlua::Result<String> {
        match self.value {
            Value::String(s) => Ok(s.to_string_lossy()),
            _ => Err(self.wrong("a string")),
        }
    }

    fn boolean(&self) -> mlua::Result<bool> {
        match self.value {
            Value::Boolean(b) => Ok(*b),
            _ => Err(self.wrong("a boolean")),
        }
    }

    fn number(&self) -> mlua::Result<f64> {
        match self.value {
            Value::Integer(i) => Ok(*i as f64),
            Value::Number(n) if n.is_finite() => Ok(*n),
            _ => Err(self.wrong("a finite number")),
        }
    }

    fn vec3(&self) -> mlua::Result<DVec3> {
        let Value::Table(t) = self.value else {
            return Err(self.wrong("{x, y, z} (three numbers)"));
        };
        let values: Vec<Value> = t
            .clone()
            .sequence_values::<Value>()
            .collect::<mlua::Result<_>>()?;
        let numbers: Option<Vec<f64>> = values
            .iter()
            .map(|v| match v {
                Value::Integer(i) => Some(*i as f64),
                Value::Number(n) if n.is_finite() => Some(*n),
                _ => None,
            })
            .collect();
        match numbers.as_deref() {
            Some([x, y, z]) if t.raw_len() == 3 => Ok(DVec3::new(*x, *y, *z)),
            _ => Err((self.about)(
                self.key,
                "must be {x, y, z} (three finite numbers)".to_owned(),
            )),
        }
    }

    fn strings(&self) -> mlua::Result<Vec<String>> {
        let Value::Table(t) = self.value else {
            return Err(self.wrong("an array of strings"));
        };
        t.clone()
            .sequence_values::<Value>()
            .map(|v| match v? {
                Value::String(s) => Ok(s.to_string_lossy()),
                other => Err((self.about)(
                    self.key,
                    format!(
                        "must be an array of strings, and holds a {}",
                        type_name(&other)
                    ),
                )),
            })
            .collect()
    }

    /// A component table: each of its keys read by `set`; the keys it may
    /// have are `names`.
    fn component<T>(
        &self,
        mut component: T,
        names: &[&str],
        mut set: impl FnMut(&mut T, &str, &Field<'_>) -> mlua::Result<()>,
    ) -> mlua::Result<T> {
        let Value::Table(t) = self.value else {
            return Err(self.wrong("a table"));
        };
        for pair in t.clone().pairs::<Value, Value>() {
            let (key, value) = pair?;
            let name = match &key {
                Value::String(s) => s.to_string_lossy(),
                other => type_name(other).to_owned(),
            };
            if !names.contains(&name.as_str()) {
                return Err((self.about)(
                    self.key,
                    format!(
                        "has no key '{name}'{} (its keys: {})",
                        did_you_mean(&name, names),
                        names.join(", ")
                    ),
                ));
            }
            let path = format!("{}.{name}", self.key);
            let about = |_: &str, message: String| (self.about)(&path, message);
            set(
                &mut component,
                &name,
                &Field {
                    key: &path,
                    value: &value,
                    about: &about,
                },
            )?;
        }
        Ok(component)
    }

    fn light(&self) -> mlua::Result<PointLight> {
        self.component(
            PointLight::default(),
            &["color", "intensity", "range"],
            |l, key, f| {
                match key {
                    "color" => l.color = f.vec3()?,
                    "intensity" => l.intensity = f.number()?,
                    _ => l.range = f.number()?,
                }
                Ok(())
            },
        )
    }

    fn particles(&self) -> mlua::Result<ParticleEmitter> {
        self.component(
            ParticleEmitter::default(),
            &["rate", "color", "active"],
            |p, key, f| {
                match key {
                    "rate" => p.rate = f.number()?,
                    "color" => p.color = f.vec3()?,
                    _ => p.active = f.boolean()?,
                }
                Ok(())
            },
        )
    }

    fn body(&self) -> mlua::Result<RigidBody> {
        self.component(RigidBody::default(), &["mass", "velocity"], |b, key, f| {
            match key {
                "mass" => b.mass = f.number()?,
                _ => b.velocity = f.vec3()?,
            }
            Ok(())
        })
    }
}
