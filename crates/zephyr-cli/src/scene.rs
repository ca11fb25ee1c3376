//! Scene files: a TOML description of a world, read and checked before
//! anything runs.
//!
//! ```toml
//! name = "demo"
//!
//! [cvars]
//! phys_gravity = -9.81
//!
//! [[entities]]
//! name = "Player"
//! position = [0, 0, 0]
//! rotation = [0, 0, 0]     # pitch, yaw, roll in radians
//! scale = [1, 1, 1]
//! light = { color = [1, 0.5, 0], intensity = 1, range = 10 }
//! particles = { rate = 10, color = [1, 1, 1], active = false }
//! body = { mass = 70, velocity = [0, 0, 0] }
//! script = "scripts/player.lua"  # relative to the scene file
//! parallel = false               # true: on_update runs on a worker
//! tags = ["player"]
//!
//! [prefabs.Bullet]               # what zephyr.entity.spawn("Bullet") makes
//! script = "scripts/bullet.lua"
//! parallel = true
//! tags = ["bullet"]
//!
//! [[entities]]
//! prefab = "Bullet"              # an entity made from a prefab: its keys
//! position = [0, 1, 0]           # replace the prefab's
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use zephyr_runtime::ScriptSource;
use zephyr_runtime::prefab::EntityTemplate;
use zephyr_world::glam::DVec3;
use zephyr_world::{EntityId, ParticleEmitter, PointLight, RigidBody, World};

use crate::error::{Error, Result};

/// A scene file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneFile {
    /// The scene's name.
    pub name: String,
    /// Cvars to set (or to give to scripts that register them).
    #[serde(default)]
    pub cvars: BTreeMap<String, toml::Spanned<toml::Value>>,
    /// The entities, in order.
    #[serde(default)]
    pub entities: Vec<EntityDef>,
    /// The prefabs scripts spawn by name, and entities are made from.
    #[serde(default)]
    pub prefabs: BTreeMap<String, EntityDef>,
}

/// One `[[entities]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityDef {
    /// Its name.
    pub name: Option<String>,
    /// Position.
    pub position: Option<Vec3>,
    /// Pitch, yaw, roll in radians.
    pub rotation: Option<Vec3>,
    /// Scale.
    pub scale: Option<Vec3>,
    /// A point light.
    pub light: Option<LightDef>,
    /// A particle emitter.
    pub particles: Option<ParticlesDef>,
    /// A rigid body.
    pub body: Option<BodyDef>,
    /// A script, relative to the scene file.
    pub script: Option<String>,
    /// Run the script's `on_update` in the parallel phase, on a worker
    /// (default false).
    pub parallel: Option<bool>,
    /// Its tags.
    pub tags: Option<Vec<String>>,
    /// The prefab it is made from (an entity's only): its keys replace
    /// the prefab's.
    pub prefab: Option<String>,
}

/// Three numbers `[x, y, z]`, exactly: TOML arrays of another length, or
/// with an element that is not a number, are refused (serde's `[f64; 3]`
/// ignores extra elements).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vec3(pub [f64; 3]);

impl<'de> Deserialize<'de> for Vec3 {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let values = Vec::<f64>::deserialize(deserializer)?;
        match <[f64; 3]>::try_from(values.as_slice()) {
            Ok(array) => Ok(Vec3(array)),
            Err(_) => Err(serde::de::Error::invalid_length(
                values.len(),
                &"3 numbers [x, y, z]",
            )),
        }
    }
}

/// `light = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LightDef {
    color: Option<Vec3>,
    intensity: Option<f64>,
    range: Option<f64>,
}

/// `particles = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticlesDef {
    rate: Option<f64>,
    color: Option<Vec3>,
    active: Option<bool>,
}

/// `body = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyDef {
    mass: Option<f64>,
    velocity: Option<Vec3>,
}

/// A scene read from disk and checked.
#[derive(Debug)]
pub struct Scene {
    /// Where it was read from.
    pub path: PathBuf,
    /// The folder scripts are read from (the scene's folder).
    pub dir: PathBuf,
    /// The file's contents.
    pub file: SceneFile,
    /// Each entity as it is made: its keys over its prefab's, its script
    /// read. Every file is read once; entities that share a file share its
    /// source (and, in the runtime, its compiled chunk).
    pub entities: Vec<EntityTemplate>,
    /// The prefabs, by name, their scripts read.
    pub prefabs: BTreeMap<String, EntityTemplate>,
    /// The line of each `[cvars]` value.
    cvar_lines: BTreeMap<String, usize>,
}

/// A cvar value a scene sets: its name, its text, and `scene.toml:LINE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvarSetting {
    /// The cvar's name.
    pub name: String,
    /// The value, as text.
    pub value: String,
    /// Where it is set: `scene.toml:LINE`.
    pub origin: String,
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl EntityDef {
    /// How the prefab is named in messages: `prefabs.Bullet`.
    pub fn prefab_label(name: &str) -> String {
        format!("prefabs.{name}")
    }

    /// How the entity is named in messages: `entities[2] ("Player")`.
    pub fn label(&self, index: usize) -> String {
        match &self.name {
            Some(name) => format!("entities[{index}] (\"{name}\")"),
            None => format!("entities[{index}]"),
        }
    }
}

/// Formats a TOML error as `line N: message`, naming the entity
/// (`entities[2]`) when the line is inside an `[[entities]]` table.
pub(crate) fn toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message();
    let Some(span) = error.span() else {
        return message.to_owned();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let key = key_path(before);
    let mut entity = None;
    let mut table = None;
    for header in before.lines().map(str::trim).filter(|l| l.starts_with('[')) {
        entity = match (header == "[[entities]]", entity) {
            (true, None) => Some(0),
            (true, Some(i)) => Some(i + 1),
            (false, _) if header.starts_with("[entities") => entity,
            (false, _) => None,
        };
        table = header
            .strip_prefix("[prefabs.")
            .and_then(|rest| rest.strip_suffix(']'))
            .map(|name| EntityDef::prefab_label(name.trim_matches('"')));
    }
    let key = key.map(|k| format!(".{k}")).unwrap_or_default();
    match (entity, table) {
        (Some(index), _) => format!("line {line}: entities[{index}]{key}: {message}"),
        (None, Some(table)) => format!("line {line}: {table}{key}: {message}"),
        (None, None) if key.is_empty() => format!("line {line}: {message}"),
        (None, None) => format!("line {line}: {}: {message}", &key[1..]),
    }
}

/// The key whose value starts where `before` ends (`position`, or
/// `light.color` inside an inline table), read from the text since the
/// last table header: the keys assigned at each open `{` depth.
fn key_path(before: &str) -> Option<String> {
    let start = before.rfind("\n[").map_or(0, |i| {
        before[i + 1..]
            .find('\n')
            .map_or(before.len(), |n| i + 1 + n)
    });
    let mut keys: Vec<String> = Vec::new();
    let mut depth = 0usize;
    let mut token = String::new();
    let mut quote = None;
    for c in before[start..].chars() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                keys.truncate(depth);
            }
            '=' => {
                keys.truncate(depth);
                keys.push(token.trim().to_owned());
                token.clear();
            }
            ',' | '\n' | '[' | ']' => token.clear(),
            _ => token.push(c),
        }
    }
    (!keys.is_empty() && keys.iter().all(|k| !k.is_empty())).then(|| keys.join("."))
}

impl Scene {
    /// Reads a scene and its scripts; every problem names the file, and the
    /// entity and key where there is one.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::bad_file(path, e.to_string()))?;
        Self::parse(path, &text)
    }

    /// Reads a scene from its text; `path` names it in errors, and scripts
    /// are read beside it.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let text = text.to_owned();
        let file: SceneFile =
            toml::from_str(&text).map_err(|e| Error::bad_file(path, toml_error(&text, &e)))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut read: BTreeMap<String, ScriptSource> = BTreeMap::new();
        let mut prefabs = BTreeMap::new();
        for (name, def) in &file.prefabs {
            let label = EntityDef::prefab_label(name);
            if def.prefab.is_some() {
                return Err(Error::bad_file(
                    path,
                    format!(
                        "{label}: a prefab cannot be made from another prefab ('prefab' is a key of [[entities]])"
                    ),
                ));
            }
            let template = template(def, &dir, &mut read)
                .and_then(|t| t.validate().map(|()| t))
                .map_err(|e| Error::bad_file(path, format!("{label}: {e}")))?;
            prefabs.insert(name.clone(), template);
        }
        let mut entities = Vec::new();
        for (index, def) in file.entities.iter().enumerate() {
            let label = def.label(index);
            let mut template = template(def, &dir, &mut read)
                .map_err(|e| Error::bad_file(path, format!("{label}: {e}")))?;
            if let Some(name) = &def.prefab {
                let prefab = prefabs.get(name).ok_or_else(|| {
                    let names: Vec<&String> = prefabs.keys().collect();
                    Error::bad_file(
                        path,
                        format!(
                            "{label}: no prefab '{name}'{}",
                            zephyr_runtime::api::did_you_mean(name, &names)
                        ),
                    )
                })?;
                template = template.over(prefab);
            }
            template
                .validate()
                .map_err(|e| Error::bad_file(path, format!("{label}: {e}")))?;
            entities.push(template);
        }
        for (name, value) in &file.cvars {
            cvar_text(value.get_ref()).map_err(|e| {
                Error::bad_file(
                    path,
                    format!(
                        "line {}: cvars.{name}: {e}",
                        line_of(&text, value.span().start)
                    ),
                )
            })?;
        }
        let cvar_lines = file
            .cvars
            .iter()
            .map(|(name, value)| (name.clone(), line_of(&text, value.span().start)))
            .collect();
        Ok(Scene {
            path: path.to_path_buf(),
            dir,
            file,
            entities,
            prefabs,
            cvar_lines,
        })
    }

    /// The `[cvars]` values, in file order, with the line each is set on.
    pub fn cvars(&self) -> Vec<CvarSetting> {
        let mut settings: Vec<(usize, CvarSetting)> = self
            .file
            .cvars
            .iter()
            .filter_map(|(name, value)| {
                let value = cvar_text(value.get_ref()).ok()?;
                let line = self.cvar_lines.get(name).copied().unwrap_or(0);
                let origin = format!("{}:{line}", self.path.display());
                let name = name.clone();
                Some((
                    line,
                    CvarSetting {
                        name,
                        value,
                        origin,
                    },
                ))
            })
            .collect();
        settings.sort_by_key(|(line, _)| *line);
        settings.into_iter().map(|(_, setting)| setting).collect()
    }

    /// Creates the entities in `world`, in file order; returns their ids.
    pub fn spawn(&self, world: &mut World) -> Result<Vec<EntityId>> {
        world.set_scene_name(self.file.name.clone());
        let mut ids = Vec::with_capacity(self.entities.len());
        for (index, template) in self.entities.iter().enumerate() {
            let id = world.create();
            let fail = |e: zephyr_world::Error| {
                Error::bad_file(
                    &self.path,
                    format!("{}: {e}", self.file.entities[index].label(index)),
                )
            };
            for command in template.commands(id).map_err(fail)? {
                command.apply(world).map_err(fail)?;
            }
            ids.push(id);
        }
        Ok(ids)
    }

    /// Every script of the scene (its entities' and its prefabs'), each
    /// once, in file order.
    pub fn scripts(&self) -> Vec<&ScriptSource> {
        let mut seen = std::collections::BTreeSet::new();
        self.entities
            .iter()
            .chain(self.prefabs.values())
            .filter_map(|t| t.script.as_ref())
            .filter(|s| seen.insert(s.name().to_owned()))
            .collect()
    }

    /// Puts `f`'s version of every script in place of it (a prelude).
    pub fn map_scripts(&mut self, f: impl Fn(ScriptSource) -> ScriptSource) {
        for template in self.entities.iter_mut().chain(self.prefabs.values_mut()) {
            if let Some(script) = template.script.take() {
                template.script = Some(f(script));
            }
        }
    }
}

fn cvar_text(value: &toml::Value) -> std::result::Result<String, String> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(format!("{f:?}")),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        other => Err(format!(
            "must be a string, number or boolean, not {}",
            other.type_str()
        )),
    }
}

fn vec3(v: Option<Vec3>, default: DVec3) -> DVec3 {
    let v = v.map(|Vec3(array)| array);
    v.map_or(default, DVec3::from_array)
}

/// An entity or prefab table as a template: its values checked, its
/// script read (once per file, through `read`) from beside the scene.
fn template(
    def: &EntityDef,
    dir: &Path,
    read: &mut BTreeMap<String, ScriptSource>,
) -> std::result::Result<EntityTemplate, String> {
    let light = def.light.as_ref().map(|l| {
        let d = PointLight::default();
        PointLight {
            color: vec3(l.color, d.color),
            intensity: l.intensity.unwrap_or(d.intensity),
            range: l.range.unwrap_or(d.range),
        }
    });
    let particles = def.particles.as_ref().map(|p| {
        let d = ParticleEmitter::default();
        ParticleEmitter {
            rate: p.rate.unwrap_or(d.rate),
            color: vec3(p.color, d.color),
            active: p.active.unwrap_or(d.active),
        }
    });
    let body = def.body.as_ref().map(|b| {
        let d = RigidBody::default();
        RigidBody {
            mass: b.mass.unwrap_or(d.mass),
            velocity: vec3(b.velocity, d.velocity),
            force: DVec3::ZERO,
        }
    });
    let mut template = EntityTemplate {
        name: def.name.clone(),
        position: def.position.map(|Vec3(v)| DVec3::from_array(v)),
        rotation: def.rotation.map(|Vec3(v)| DVec3::from_array(v)),
        scale: def.scale.map(|Vec3(v)| DVec3::from_array(v)),
        light,
        particles,
        body,
        tags: def.tags.clone(),
        script: None,
        parallel: None,
    };
    // The values are checked before the script is read (a scene with a bad
    // light and a missing script reports the light); whether `parallel`
    // has a script is checked once an entity has its prefab's keys.
    template.validate()?;
    template.parallel = def.parallel;
    if let Some(path) = &def.script {
        template.script = Some(match read.get(path) {
            Some(source) => source.clone(),
            None => {
                let source =
                    ScriptSource::from_file(&dir.join(path), path.as_str()).map_err(|e| {
                        let reason = match e {
                            zephyr_runtime::Error::Io { message, .. } => message,
                            other => other.to_string(),
                        };
                        format!("script '{path}' cannot be read: {reason}")
                    })?;
                read.insert(path.clone(), source.clone());
                source
            }
        });
    }
    Ok(template)
}
