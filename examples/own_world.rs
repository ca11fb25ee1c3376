//! An engine that brings its own world: plain `Vec`s of its own structs
//! (positions in `f32`, ids it mints itself, a `Health` component Zephyr
//! knows nothing of), lent to the scripting system through
//! [`EngineWorld`]. Scripts run over it as behaviours, as a worker job and
//! as parallel behaviours, and call the engine's own packages: `audio.play`
//! (main thread only, returns a handle), `game.spawn_enemy` and
//! `game.damage`, and the component `Health` by field (`Health.hp(e)`).
//!
//! The run prints the same transcript for any number of workers (the test
//! `tests/own_world.rs` runs it with 1, 2 and 4).
//!
//! ```text
//! cargo run --example own_world
//! ```
#![allow(clippy::print_stdout)] // an example's job is to show what happens

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use zephyr::runtime::api::{Component, FieldType, Function, Package, line_sink};
use zephyr::runtime::{Behaviours, Job, ScriptSource, ScriptingConfig, ScriptingSystem};
use zephyr::world::glam::{DQuat, DVec3, Quat, Vec3};
use zephyr::world::{
    DespawnHolds, EngineWorld, EntityId, Error, FieldValue, Input, Result, Time, Transform, Update,
    WorldCommand, WorldRead, WorldView, WorldWrite, share,
};

/// The engine's own component: scripts read and write it by field
/// (`Health.hp(e)`, `Health.set_max(e, 5)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Health {
    /// Hit points left.
    pub hp: f64,
    /// Hit points when full.
    pub max: f64,
}

/// One thing in the arena, as the engine stores it.
#[derive(Debug, Clone)]
struct Actor {
    id: u64,
    created: u64,
    name: Option<String>,
    position: Vec3,
    rotation: Quat,
    scale: Vec3,
    health: Option<Health>,
}

impl Actor {
    fn transform(&self) -> Transform {
        Transform {
            position: self.position.as_dvec3(),
            rotation: self.rotation.as_dquat(),
            scale: self.scale.as_dvec3(),
        }
    }
}

/// What scripts read: the actors (sorted by id), input and time. Cloned
/// for a worker job's view only when it changed since the last one.
#[derive(Debug, Clone, Default)]
struct State {
    actors: Vec<Actor>,
    input: Input,
    time: Time,
    next_created: u64,
}

impl State {
    fn actor(&self, id: EntityId) -> Result<&Actor> {
        self.actors
            .binary_search_by_key(&id.bits(), |a| a.id)
            .map(|i| &self.actors[i])
            .map_err(|_| Error::NoSuchEntity(id))
    }
}

/// `Health`'s fields as scripts see them.
fn health_field(health: &Health, field: &str) -> Result<FieldValue> {
    match field {
        "hp" => Ok(FieldValue::Number(health.hp)),
        "max" => Ok(FieldValue::Number(health.max)),
        _ => Err(no_field(field)),
    }
}

fn no_field(field: &str) -> Error {
    Error::Field {
        component: "Health".into(),
        field: field.into(),
        reason: "no such field".into(),
    }
}

impl WorldRead for State {
    fn exists(&self, id: EntityId) -> bool {
        self.actor(id).is_ok()
    }
    fn name(&self, id: EntityId) -> Result<Option<String>> {
        Ok(self.actor(id)?.name.clone())
    }
    fn find(&self, name: &str) -> Option<EntityId> {
        let actor = self
            .actors
            .iter()
            .filter(|a| a.name.as_deref() == Some(name))
            .min_by_key(|a| a.created)?;
        EntityId::from_bits(actor.id)
    }
    fn transform(&self, id: EntityId) -> Result<Transform> {
        Ok(self.actor(id)?.transform())
    }
    fn field(&self, id: EntityId, component: &str, field: &str) -> Result<FieldValue> {
        match (component, &self.actor(id)?.health) {
            ("Health", Some(health)) => health_field(health, field),
            _ => Err(Error::NoComponent {
                entity: id,
                component: component.into(),
            }),
        }
    }
    fn input(&self) -> &Input {
        &self.input
    }
    fn time(&self) -> Time {
        self.time
    }
    fn scene_name(&self) -> &str {
        "arena"
    }
}

impl WorldView for State {
    fn named(&self, name: &str) -> Vec<(u64, EntityId)> {
        let named = self
            .actors
            .iter()
            .filter(|a| a.name.as_deref() == Some(name));
        named
            .filter_map(|a| Some((a.created, EntityId::from_bits(a.id)?)))
            .collect()
    }
    fn created(&self, id: EntityId) -> Option<u64> {
        self.actor(id).ok().map(|a| a.created)
    }
    fn next_created(&self) -> u64 {
        self.next_created
    }
}

/// The engine's world. Ids come from a counter (never reused); the state
/// is shared copy-on-write with the views worker jobs read.
#[derive(Debug, Default)]
pub struct Arena {
    state: Arc<State>,
    next_id: AtomicU64,
    holds: DespawnHolds,
    removals: u64,
    /// What `audio.play` asked for, in order: (handle, sound, volume).
    pub sounds: Vec<(u64, String, f64)>,
}

impl Arena {
    fn state_mut(&mut self) -> &mut State {
        Arc::make_mut(&mut self.state)
    }

    fn actor_mut(&mut self, id: EntityId) -> Result<&mut Actor> {
        let state = self.state_mut();
        let index = state
            .actors
            .binary_search_by_key(&id.bits(), |a| a.id)
            .map_err(|_| Error::NoSuchEntity(id))?;
        Ok(&mut state.actors[index])
    }

    /// The actor's health, if it has some.
    pub fn health(&self, id: EntityId) -> Result<Option<Health>> {
        Ok(self.state.actor(id)?.health)
    }

    /// Gives the actor a health component.
    pub fn set_health(&mut self, id: EntityId, health: Health) -> Result<()> {
        self.actor_mut(id)?.health = Some(health);
        Ok(())
    }

    /// Every actor as `name (x, y, z) hp`, in creation order.
    pub fn dump(&self) -> Vec<String> {
        let mut actors: Vec<&Actor> = self.state.actors.iter().collect();
        actors.sort_by_key(|a| a.created);
        actors
            .iter()
            .map(|a| {
                let hp = a
                    .health
                    .map_or(String::new(), |h| format!(" hp {}/{}", h.hp, h.max));
                let p = a.position;
                let name = a.name.as_deref().unwrap_or("?");
                format!("{name} ({:.2}, {:.2}, {:.2}){hp}", p.x, p.y, p.z)
            })
            .collect()
    }
}

impl WorldRead for Arena {
    fn exists(&self, id: EntityId) -> bool {
        self.state.exists(id)
    }
    fn name(&self, id: EntityId) -> Result<Option<String>> {
        self.state.name(id)
    }
    fn find(&self, name: &str) -> Option<EntityId> {
        self.state.find(name)
    }
    fn transform(&self, id: EntityId) -> Result<Transform> {
        self.state.transform(id)
    }
    fn field(&self, id: EntityId, component: &str, field: &str) -> Result<FieldValue> {
        self.state.field(id, component, field)
    }
    fn input(&self) -> &Input {
        &self.state.input
    }
    fn time(&self) -> Time {
        self.state.time
    }
    fn scene_name(&self) -> &str {
        self.state.scene_name()
    }
}

impl WorldView for Arena {
    fn named(&self, name: &str) -> Vec<(u64, EntityId)> {
        self.state.named(name)
    }
    fn created(&self, id: EntityId) -> Option<u64> {
        self.state.created(id)
    }
    fn next_created(&self) -> u64 {
        self.state.next_created
    }
}

impl WorldWrite for Arena {
    fn reserve(&mut self) -> EntityId {
        self.reserve_shared()
    }
    fn spawn(&mut self, id: EntityId) -> Result<()> {
        let state = self.state_mut();
        let Err(at) = state.actors.binary_search_by_key(&id.bits(), |a| a.id) else {
            return Ok(());
        };
        state.actors.insert(
            at,
            Actor {
                id: id.bits(),
                created: state.next_created,
                name: None,
                position: Vec3::ZERO,
                rotation: Quat::IDENTITY,
                scale: Vec3::ONE,
                health: None,
            },
        );
        state.next_created += 1;
        Ok(())
    }
    fn despawn(&mut self, id: EntityId) -> Result<()> {
        self.state.actor(id)?;
        if self.holds.defer(id) {
            return Ok(());
        }
        self.despawn_now(id)
    }
    fn set_name(&mut self, id: EntityId, name: Option<String>) -> Result<()> {
        self.actor_mut(id)?.name = name;
        Ok(())
    }
    fn update_transform(&mut self, id: EntityId, change: Update<'_, Transform>) -> Result<()> {
        let actor = self.actor_mut(id)?;
        let mut transform = actor.transform();
        change(&mut transform)?;
        actor.position = transform.position.as_vec3();
        actor.rotation = DQuat::as_quat(transform.rotation);
        actor.scale = transform.scale.as_vec3();
        Ok(())
    }
    fn set_field(
        &mut self,
        id: EntityId,
        component: &str,
        field: &str,
        value: FieldValue,
    ) -> Result<()> {
        if component != "Health" {
            return Err(Error::NoComponent {
                entity: id,
                component: component.into(),
            });
        }
        let FieldValue::Number(value) = value else {
            return Err(Error::Field {
                component: component.into(),
                field: field.into(),
                reason: format!("must be a number, not a {}", value.kind()),
            });
        };
        let health = self
            .actor_mut(id)?
            .health
            .get_or_insert(Health { hp: 0.0, max: 0.0 });
        match field {
            "hp" => health.hp = value,
            "max" => health.max = value,
            _ => return Err(no_field(field)),
        }
        Ok(())
    }
}

impl EngineWorld for Arena {
    fn reserve_shared(&self) -> EntityId {
        let bits = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        EntityId::from_bits(bits).unwrap_or_else(|| unreachable!("ids start at 1"))
    }
    fn release_reserved(&mut self, _id: EntityId) {}
    fn view(&self) -> Arc<dyn WorldView> {
        // Copy-on-write: the view shares the actors until the arena
        // changes them.
        self.state.clone()
    }
    fn hold_despawn(&mut self, id: EntityId) -> Result<()> {
        self.state.actor(id)?;
        self.holds.hold(id);
        Ok(())
    }
    fn release_despawn(&mut self, id: EntityId) {
        self.holds.release(id);
    }
    fn take_doomed(&mut self) -> Vec<EntityId> {
        self.holds.take_doomed()
    }
    fn despawn_now(&mut self, id: EntityId) -> Result<()> {
        let state = self.state_mut();
        let index = state
            .actors
            .binary_search_by_key(&id.bits(), |a| a.id)
            .map_err(|_| Error::NoSuchEntity(id))?;
        state.actors.remove(index);
        self.holds.forget(id);
        self.removals += 1;
        Ok(())
    }
    fn removals(&self) -> u64 {
        self.removals
    }
    fn input_mut(&mut self) -> &mut Input {
        &mut self.state_mut().input
    }
    fn set_time(&mut self, time: Time) {
        self.state_mut().time = time;
    }
}

/// The engine's packages: `audio` and `game`.
pub fn packages() -> Vec<Package> {
    let next_sound = Arc::new(AtomicU64::new(1));
    let audio = Package::new("audio").doc("The engine's mixer.").function(
        Function::typed(
            "play",
            &["sound", "volume"],
            move |call, (sound, volume): (String, Option<f64>)| {
                let handle = next_sound.fetch_add(1, Ordering::Relaxed);
                let volume = volume.unwrap_or(1.0);
                call.command(move |arena: &mut Arena| {
                    arena.sounds.push((handle, sound, volume));
                })?;
                Ok(handle as i64)
            },
        )
        .return_names(&["handle"])
        .doc("Plays a sound; returns its handle.")
        .main_thread(),
    );
    let game = Package::new("game")
        .doc("The arena's rules.")
        .function(
            Function::typed(
                "spawn_enemy",
                &["x", "y", "z"],
                |call, (x, y, z): (f64, f64, f64)| {
                    let enemy = call.create_entity()?;
                    call.write(WorldCommand::SetName(enemy, Some("enemy".into())))?;
                    call.write(WorldCommand::SetPosition(enemy, DVec3::new(x, y, z)))?;
                    for field in ["max", "hp"] {
                        let hp = FieldValue::Number(3.0);
                        call.write(WorldCommand::set_field(enemy, "Health", field, hp))?;
                    }
                    Ok(enemy)
                },
            )
            .return_names(&["enemy"])
            .doc("Creates an enemy with 3 hit points.")
            .writes(),
        )
        .function(
            Function::typed(
                "damage",
                &["entity", "amount"],
                |call, (e, amount): (EntityId, f64)| {
                    // The engine's rule, run where writes are applied: at
                    // 0 hit points the entity goes (after its on_destroy).
                    call.try_command(move |arena: &mut Arena| -> Result<()> {
                        let Some(mut health) = arena.health(e)? else {
                            return Ok(());
                        };
                        health.hp = (health.hp - amount).max(0.0);
                        arena.set_health(e, health)?;
                        if health.hp == 0.0 {
                            arena.despawn(e)?;
                        }
                        Ok(())
                    })
                },
            )
            .doc("Takes hit points; at 0 the entity is destroyed.")
            .writes(),
        );
    let health = Component::new("Health")
        .doc("The engine's hit points.")
        .field("hp", FieldType::Number, "Hit points left.")
        .field("max", FieldType::Number, "Hit points when full.");
    vec![audio, game, health.into()]
}

const PLAYER: &str = r#"
function on_update(self, dt)
    local hp = Health.hp(self)
    if hp < last_hp then
        print(("frame %d: player hit, hp %d, sound %d"):format(
            zephyr.time.frame(), hp, audio.play("hurt", 0.5)))
    end
    last_hp = hp
end
last_hp = 10
"#;

const CHASER: &str = r#"
function on_update(self, dt)
    local player = zephyr.entity.find("Player")
    if not player then return end
    local px, _, pz = zephyr.transform.get_position(player)
    local x, _, z = zephyr.transform.get_position(self)
    local dx, dz = px - x, pz - z
    local d = math.sqrt(dx * dx + dz * dz)
    if d < 0.5 then
        game.damage(player, 1)
        game.damage(self, 3)
    else
        zephyr.transform.translate(self, dx / d * 2 * dt, 0, dz / d * 2 * dt)
    end
end
"#;

const ENEMY_END: &str = r#"
function on_destroy(self)
    print(("frame %d: enemy %d gone, sound %d"):format(
        zephyr.time.frame(), self, audio.play("pop")))
end
"#;

const WAVE: &str = r#"
local a = game.spawn_enemy(4, 0, 0)
local b = game.spawn_enemy(-4, 0, 1)
return Health.hp(a), Health.max(b)
"#;

/// Runs the arena for 90 frames with `workers` workers; returns the
/// transcript.
pub fn run(workers: usize) -> std::result::Result<Vec<String>, Box<dyn std::error::Error>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let out = lines.clone();
    let arena = share(Arena::default());
    let config = ScriptingConfig {
        workers,
        packages: packages(),
        print: Some(line_sink(move |line: &[u8]| {
            out.lock().push(String::from_utf8_lossy(line).into_owned())
        })),
        ..ScriptingConfig::default()
    };
    let mut system = ScriptingSystem::with_parts(config, Default::default(), arena.clone())?;
    let mut behaviours = Behaviours::new();
    let player = {
        let mut arena = arena.write();
        let player = arena.reserve_shared();
        arena.spawn(player)?;
        arena.set_name(player, Some("Player".into()))?;
        arena.set_health(
            player,
            Health {
                hp: 10.0,
                max: 10.0,
            },
        )?;
        player
    };
    behaviours.attach(&system, player, &ScriptSource::new("player.lua", PLAYER))?;
    // A worker job spawns the first wave; its writes land at the next sync.
    let wave = system.enqueue(Job::new(WAVE).chunk_name("wave.lua"))?;
    let hp = system.wait(wave);
    lines.lock().push(format!("wave job returned {hp}"));

    let chaser = ScriptSource::new("chaser.lua", CHASER);
    let enemy_end = ScriptSource::new("enemy_end.lua", ENEMY_END);
    for _ in 0..90 {
        // The engine's own system: every enemy gets its behaviours.
        let fresh: Vec<EntityId> = {
            let arena = arena.read();
            let enemies = arena.named("enemy").into_iter().map(|(_, id)| id);
            enemies
                .filter(|e| behaviours.of_entity(*e).is_empty())
                .collect()
        };
        for enemy in fresh {
            behaviours.attach_parallel(&system, enemy, &chaser)?;
            behaviours.attach(&system, enemy, &enemy_end)?;
        }
        let report = behaviours.frame(&mut system, 1.0 / 30.0);
        if let Some(error) = report.errors.first() {
            return Err(error.to_string().into());
        }
    }
    let arena = arena.read();
    let mut transcript = lines.lock().clone();
    transcript.extend(arena.dump());
    transcript.extend(
        arena
            .sounds
            .iter()
            .map(|(h, s, v)| format!("sound {h}: {s} at {v}")),
    );
    Ok(transcript)
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let workers = std::env::args()
        .nth(1)
        .and_then(|w| w.parse().ok())
        .unwrap_or(2);
    for line in run(workers)? {
        println!("{line}");
    }
    Ok(())
}
