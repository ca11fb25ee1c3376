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
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use zephyr_runtime::ScriptSource;
use zephyr_world::glam::DVec3;
use zephyr_world::{
    EntityId, ParticleEmitter, PointLight, RigidBody, Transform, World, WorldCommand,
};

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
    /// Each scripted entity's script: (entity index, script). Every file is
    /// read once; entities that share a file share its source (and, in the
    /// runtime, its compiled chunk).
    pub scripts: Vec<(usize, ScriptSource)>,
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
    for header in before.lines().map(str::trim).filter(|l| l.starts_with('[')) {
        entity = match (header == "[[entities]]", entity) {
            (true, None) => Some(0),
            (true, Some(i)) => Some(i + 1),
            (false, _) if header.starts_with("[entities") => entity,
            (false, _) => None,
        };
    }
    let key = key.map(|k| format!(".{k}")).unwrap_or_default();
    match entity {
        Some(index) => format!("line {line}: entities[{index}]{key}: {message}"),
        None if key.is_empty() => format!("line {line}: {message}"),
        None => format!("line {line}: {}: {message}", &key[1..]),
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
        let mut scripts = Vec::new();
        let mut read: BTreeMap<&str, ScriptSource> = BTreeMap::new();
        for (index, entity) in file.entities.iter().enumerate() {
            // Check the values by building the components once.
            components(entity)
                .map_err(|e| Error::bad_file(path, format!("{}: {e}", entity.label(index))))?;
            if entity.parallel.is_some() && entity.script.is_none() {
                return Err(Error::bad_file(
                    path,
                    format!("{}: 'parallel' needs a 'script'", entity.label(index)),
                ));
            }
            if let Some(script) = &entity.script {
                let source = match read.get(script.as_str()) {
                    Some(source) => source.clone(),
                    None => {
                        let source = ScriptSource::from_file(&dir.join(script), script.as_str())
                            .map_err(|e| {
                                let reason = match e {
                                    zephyr_runtime::Error::Io { message, .. } => message,
                                    other => other.to_string(),
                                };
                                Error::bad_file(
                                    path,
                                    format!(
                                        "{}: script '{script}' cannot be read: {reason}",
                                        entity.label(index)
                                    ),
                                )
                            })?;
                        read.insert(script, source.clone());
                        source
                    }
                };
                scripts.push((index, source));
            }
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
            scripts,
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
        let mut ids = Vec::with_capacity(self.file.entities.len());
        for (index, entity) in self.file.entities.iter().enumerate() {
            let id = world.create();
            let fail = |e: zephyr_world::Error| {
                Error::bad_file(&self.path, format!("{}: {e}", entity.label(index)))
            };
            for command in commands(id, entity).map_err(fail)? {
                command.apply(world).map_err(fail)?;
            }
            ids.push(id);
        }
        Ok(ids)
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

/// An entity's components, as a scene defines them.
struct Components {
    transform: Transform,
    light: Option<PointLight>,
    emitter: Option<ParticleEmitter>,
    body: Option<RigidBody>,
}

/// The entity's components, validated.
fn components(entity: &EntityDef) -> zephyr_world::Result<Components> {
    let mut transform = Transform {
        position: vec3(entity.position, DVec3::ZERO),
        scale: vec3(entity.scale, DVec3::ONE),
        ..Transform::IDENTITY
    };
    if let Some(Vec3([pitch, yaw, roll])) = entity.rotation {
        transform.rotation = Transform::rotation_from_euler(pitch, yaw, roll)?;
    }
    for (what, v) in [("position", transform.position), ("scale", transform.scale)] {
        if !v.is_finite() {
            return Err(zephyr_world::Error::InvalidValue {
                what: what.into(),
                reason: "must be finite".into(),
            });
        }
    }
    let light = entity.light.as_ref().map(|l| {
        let d = PointLight::default();
        PointLight {
            color: vec3(l.color, d.color),
            intensity: l.intensity.unwrap_or(d.intensity),
            range: l.range.unwrap_or(d.range),
        }
    });
    let emitter = entity.particles.as_ref().map(|p| {
        let d = ParticleEmitter::default();
        ParticleEmitter {
            rate: p.rate.unwrap_or(d.rate),
            color: vec3(p.color, d.color),
            active: p.active.unwrap_or(d.active),
        }
    });
    let body = entity.body.as_ref().map(|b| {
        let d = RigidBody::default();
        RigidBody {
            mass: b.mass.unwrap_or(d.mass),
            velocity: vec3(b.velocity, d.velocity),
            force: DVec3::ZERO,
        }
    });
    if let Some(l) = &light {
        l.validate()?;
    }
    if let Some(e) = &emitter {
        e.validate()?;
    }
    if let Some(b) = &body {
        b.validate()?;
    }
    Ok(Components {
        transform,
        light,
        emitter,
        body,
    })
}

/// The world commands that give entity `id` its definition.
fn commands(id: EntityId, entity: &EntityDef) -> zephyr_world::Result<Vec<WorldCommand>> {
    let Components {
        transform,
        light,
        emitter,
        body,
    } = components(entity)?;
    let mut commands = vec![WorldCommand::SetTransform(id, Box::new(transform))];
    if let Some(name) = &entity.name {
        commands.push(WorldCommand::SetName(id, Some(name.clone())));
    }
    commands.extend(light.map(|l| WorldCommand::InsertLight(id, Box::new(l))));
    commands.extend(emitter.map(|e| WorldCommand::InsertEmitter(id, Box::new(e))));
    commands.extend(body.map(|b| WorldCommand::InsertBody(id, Box::new(b))));
    Ok(commands)
}
