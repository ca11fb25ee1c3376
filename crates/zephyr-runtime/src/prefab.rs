//! Prefabs and spawning: what an entity is made of ([`EntityTemplate`],
//! the keys of a scene's `[[entities]]` and `[prefabs.NAME]` tables), and
//! the behaviours that spawns leave for the next start phase
//! ([`PendingBehaviour`]).
//!
//! The host keeps the declared prefabs, the scripts spawns read by path
//! and the pending behaviours in one `Spawns`.
//!
//! A spawn makes its entity at once (its id is usable at once, also on a
//! worker, where the writes are recorded like every other write); its
//! behaviour, if the template has a script, is attached by the next
//! [`Stage::Start`](crate::Stage::Start), in the order the spawns took
//! effect, and its `on_start` runs there.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use glam::DVec3;
use parking_lot::{Mutex, RwLock};
use zephyr_lua::ScriptFiles;
use zephyr_world::{
    EntityId, ParticleEmitter, PointLight, RigidBody, Transform, WorldCommand, validate_tag,
};

use crate::source::ScriptSource;

/// The keys of an entity template, as a scene's tables and a spawn table
/// name them (a spawn table adds `prefab`).
pub const KEYS: [&str; 11] = [
    "prefab",
    "name",
    "position",
    "rotation",
    "scale",
    "light",
    "particles",
    "body",
    "tags",
    "script",
    "parallel",
];

/// An entity as a scene or a script describes it: every key is optional,
/// and a spawn's keys replace its prefab's ([`over`](Self::over)).
///
/// ```
/// use zephyr_runtime::prefab::EntityTemplate;
/// use zephyr_runtime::world::glam::DVec3;
///
/// let bullet = EntityTemplate {
///     tags: Some(vec!["bullet".into()]),
///     position: Some(DVec3::ZERO),
///     ..EntityTemplate::default()
/// };
/// let fired = EntityTemplate { position: Some(DVec3::X), ..EntityTemplate::default() }.over(&bullet);
/// assert_eq!(fired.position, Some(DVec3::X));
/// assert_eq!(fired.tags, bullet.tags);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityTemplate {
    /// Its name.
    pub name: Option<String>,
    /// Its position (default: the origin).
    pub position: Option<DVec3>,
    /// Pitch, yaw, roll in radians.
    pub rotation: Option<DVec3>,
    /// Its scale (default: 1).
    pub scale: Option<DVec3>,
    /// A point light.
    pub light: Option<PointLight>,
    /// A particle emitter.
    pub particles: Option<ParticleEmitter>,
    /// A rigid body.
    pub body: Option<RigidBody>,
    /// Its tags.
    pub tags: Option<Vec<String>>,
    /// Its behaviour script.
    pub script: Option<ScriptSource>,
    /// Whether the behaviour's `on_update` runs in the parallel phase
    /// (default false).
    pub parallel: Option<bool>,
}

impl EntityTemplate {
    /// This template's keys over `base`'s: each key this one gives replaces
    /// `base`'s (a whole component or the whole tag list, not their parts).
    pub fn over(&self, base: &EntityTemplate) -> EntityTemplate {
        fn pick<T: Clone>(mine: &Option<T>, base: &Option<T>) -> Option<T> {
            mine.as_ref().or(base.as_ref()).cloned()
        }
        EntityTemplate {
            name: pick(&self.name, &base.name),
            position: pick(&self.position, &base.position),
            rotation: pick(&self.rotation, &base.rotation),
            scale: pick(&self.scale, &base.scale),
            light: pick(&self.light, &base.light),
            particles: pick(&self.particles, &base.particles),
            body: pick(&self.body, &base.body),
            tags: pick(&self.tags, &base.tags),
            script: pick(&self.script, &base.script),
            parallel: pick(&self.parallel, &base.parallel),
        }
    }

    /// The entity's transform.
    pub fn transform(&self) -> zephyr_world::Result<Transform> {
        let mut transform = Transform {
            position: self.position.unwrap_or(DVec3::ZERO),
            scale: self.scale.unwrap_or(DVec3::ONE),
            ..Transform::IDENTITY
        };
        if let Some(r) = self.rotation {
            transform.rotation = Transform::rotation_from_euler(r.x, r.y, r.z)?;
        }
        for (what, v) in [("position", transform.position), ("scale", transform.scale)] {
            if !v.is_finite() {
                return Err(zephyr_world::Error::InvalidValue {
                    what: what.into(),
                    reason: "must be finite (not NaN or infinite)".into(),
                });
            }
        }
        Ok(transform)
    }

    /// Checks every value: finite numbers, valid components and tags, and
    /// no `parallel` without a `script`. The message names the value
    /// (`light intensity must not be negative`, `mass must be greater than
    /// 0`).
    pub fn validate(&self) -> Result<(), String> {
        self.transform().map_err(|e| e.to_string())?;
        let components = [
            self.light.map(|l| l.validate()),
            self.particles.map(|p| p.validate()),
            self.body.map(|b| b.validate()),
        ];
        for checked in components.into_iter().flatten() {
            checked.map_err(|e| e.to_string())?;
        }
        for tag in self.tags.iter().flatten() {
            validate_tag(tag).map_err(|e| e.to_string())?;
        }
        if self.parallel.is_some() && self.script.is_none() {
            return Err("'parallel' needs a 'script'".into());
        }
        Ok(())
    }

    /// The world commands that give entity `id` what this template
    /// describes (after its `Spawn`), checked as they are made.
    pub fn commands(&self, id: EntityId) -> zephyr_world::Result<Vec<WorldCommand>> {
        let mut commands = vec![WorldCommand::SetTransform(id, Box::new(self.transform()?))];
        if let Some(name) = &self.name {
            commands.push(WorldCommand::SetName(id, Some(name.clone())));
        }
        commands.extend(
            self.light
                .map(|l| WorldCommand::InsertLight(id, Box::new(l))),
        );
        commands.extend(
            self.particles
                .map(|p| WorldCommand::InsertEmitter(id, Box::new(p))),
        );
        commands.extend(self.body.map(|b| WorldCommand::InsertBody(id, Box::new(b))));
        for tag in self.tags.iter().flatten() {
            commands.push(WorldCommand::AddTag(id, tag.clone()));
        }
        Ok(commands)
    }

    /// The behaviour a spawn of this template attaches to `entity`.
    pub fn behaviour(&self, entity: EntityId) -> Option<PendingBehaviour> {
        self.script.as_ref().map(|script| PendingBehaviour {
            entity,
            script: script.clone(),
            parallel: self.parallel.unwrap_or(false),
        })
    }
}

/// A behaviour a spawn made, waiting for the next start phase to be
/// attached.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingBehaviour {
    /// The spawned entity.
    pub entity: EntityId,
    /// Its script.
    pub script: ScriptSource,
    /// Whether it is a parallel behaviour.
    pub parallel: bool,
}

/// The spawns' side of a host: the declared prefabs, the scripts spawns
/// read by path, and the behaviours waiting for the next start phase.
#[derive(Debug, Default)]
pub(crate) struct Spawns {
    prefabs: RwLock<BTreeMap<String, Arc<EntityTemplate>>>,
    /// Where a spawn's `script` path is read (the states' script roots).
    files: Option<ScriptFiles>,
    /// Scripts spawns read, by the path they were given: read once.
    scripts: Mutex<HashMap<String, ScriptSource>>,
    pending: Mutex<Vec<PendingBehaviour>>,
}

impl Spawns {
    /// Reads spawns' scripts through `files`.
    pub(crate) fn set_files(&mut self, files: ScriptFiles) {
        self.files = Some(files);
    }

    /// Declares (or replaces) a prefab, its values checked.
    pub(crate) fn add_prefab(&self, name: &str, template: EntityTemplate) -> Result<(), String> {
        if name.is_empty() {
            return Err("a prefab needs a name".into());
        }
        template
            .validate()
            .map_err(|e| format!("prefab '{name}': {e}"))?;
        self.prefabs
            .write()
            .insert(name.to_owned(), Arc::new(template));
        Ok(())
    }

    pub(crate) fn prefab(&self, name: &str) -> Option<Arc<EntityTemplate>> {
        self.prefabs.read().get(name).cloned()
    }

    pub(crate) fn prefab_names(&self) -> Vec<String> {
        self.prefabs.read().keys().cloned().collect()
    }

    /// The script at `path` (under the script roots), read once.
    pub(crate) fn script(&self, path: &str) -> Result<ScriptSource, String> {
        if let Some(script) = self.scripts.lock().get(path) {
            return Ok(script.clone());
        }
        let files = self
            .files
            .as_ref()
            .ok_or_else(|| format!("cannot read '{path}': no script roots are configured"))?;
        let file = files.resolve(path)?;
        let script = ScriptSource::from_file(&file, path).map_err(|e| match e {
            crate::Error::Io { message, .. } => format!("cannot read '{path}': {message}"),
            other => other.to_string(),
        })?;
        self.scripts.lock().insert(path.to_owned(), script.clone());
        Ok(script)
    }

    /// Puts the file at `path` as it reads now in place of every prefab's
    /// and every read spawn script's copy of it (a hot reload: entities
    /// spawned after it run the new version). Returns the script's name
    /// when there was one; an error when the file cannot be read.
    pub(crate) fn reread(&self, path: &Path) -> Option<Result<String, crate::Error>> {
        let wanted = canonical(path);
        let same = |script: &ScriptSource| script.path().is_some_and(|p| canonical(p) == wanted);
        let mut fresh: Option<ScriptSource> = None;
        let mut read = |old: &ScriptSource| -> Result<ScriptSource, crate::Error> {
            if let Some(fresh) = &fresh {
                return Ok(fresh.clone());
            }
            let made = old.reread()?;
            fresh = Some(made.clone());
            Ok(made)
        };
        let mut name = None;
        {
            let mut prefabs = self.prefabs.write();
            for template in prefabs.values_mut() {
                if let Some(script) = template.script.as_ref().filter(|s| same(s)) {
                    let new = match read(script) {
                        Ok(new) => new,
                        Err(e) => return Some(Err(e)),
                    };
                    name = Some(new.name().to_owned());
                    Arc::make_mut(template).script = Some(new);
                }
            }
        }
        for script in self.scripts.lock().values_mut() {
            if same(script) {
                let new = match read(script) {
                    Ok(new) => new,
                    Err(e) => return Some(Err(e)),
                };
                name = Some(new.name().to_owned());
                *script = new;
            }
        }
        name.map(Ok)
    }

    pub(crate) fn push_pending(&self, pending: PendingBehaviour) {
        self.pending.lock().push(pending);
    }

    pub(crate) fn take_pending(&self) -> Vec<PendingBehaviour> {
        std::mem::take(&mut *self.pending.lock())
    }
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_checks_its_values_and_names_the_key() {
        let bad_light = EntityTemplate {
            light: Some(PointLight {
                intensity: -1.0,
                ..PointLight::default()
            }),
            ..EntityTemplate::default()
        };
        assert_eq!(
            bad_light.validate().unwrap_err(),
            "light intensity must not be negative"
        );
        let no_script = EntityTemplate {
            parallel: Some(true),
            ..EntityTemplate::default()
        };
        assert_eq!(
            no_script.validate().unwrap_err(),
            "'parallel' needs a 'script'"
        );
        let bad_tag = EntityTemplate {
            tags: Some(vec![String::new()]),
            ..EntityTemplate::default()
        };
        assert!(bad_tag.validate().unwrap_err().starts_with("tag \"\""));
        let far = EntityTemplate {
            position: Some(DVec3::new(f64::INFINITY, 0.0, 0.0)),
            ..EntityTemplate::default()
        };
        assert!(far.validate().unwrap_err().contains("position"));
    }
}
