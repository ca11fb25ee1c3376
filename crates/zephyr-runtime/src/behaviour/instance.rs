//! One behaviour instance: its callbacks, where it lives, how it loads and
//! how its errors are told.

use std::sync::Arc;

use mlua::{Function, Table, Value};
use zephyr_world::EntityId;

use super::types::{BehaviourError, BehaviourId, BehaviourInfo};
use crate::source::ScriptSource;
use crate::system::ScriptingSystem;
use zephyr_lua::ScriptState;
use zephyr_lua::random::{Stream, StreamKind};
use zephyr_lua::{ScriptError, ScriptErrorKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Callback {
    Start = 0,
    Update = 1,
    Destroy = 2,
}

impl Callback {
    pub(super) const ALL: [Callback; 3] = [Callback::Start, Callback::Update, Callback::Destroy];

    pub(super) fn name(self) -> &'static str {
        match self {
            Callback::Start => "on_start",
            Callback::Update => "on_update",
            Callback::Destroy => "on_destroy",
        }
    }
}

/// Where an instance lives: the main state, or lane `n`'s state (a parallel
/// behaviour, whose `on_update` runs on a worker thread).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Home {
    Main,
    Lane(usize),
}

pub(super) struct Instance {
    pub(super) id: BehaviourId,
    pub(super) home: Home,
    pub(super) entity: Option<EntityId>,
    pub(super) script: Arc<str>,
    /// What the frame does not read, out of line: the frame walks
    /// instances one after another, so a smaller instance is a faster frame.
    pub(super) cold: Box<Cold>,
    pub(super) env: Table,
    pub(super) callbacks: [Option<Function>; 3],
    pub(super) started: bool,
    pub(super) removed: bool,
    /// Its `math.random` stream (from the seed and its id).
    pub(super) random: Stream,
}

/// The parts of an instance a frame does not touch.
pub(super) struct Cold {
    /// The script it runs (its file, for a reload).
    pub(super) source: ScriptSource,
    /// What traces call it: its entity's name when it was attached, else
    /// `entity <id>`, or the script for a global behaviour.
    pub(super) label: Arc<str>,
    /// Its top-level locals, for a reload to keep.
    pub(super) capture: Option<zephyr_lua::reload::Capture>,
}

impl Instance {
    pub(super) fn info(&self) -> BehaviourInfo {
        BehaviourInfo {
            id: self.id,
            entity: self.entity,
            script: self.script.to_string(),
            started: self.started,
            has_start: self.callbacks[0].is_some(),
            has_update: self.callbacks[1].is_some(),
            has_destroy: self.callbacks[2].is_some(),
            parallel: self.home != Home::Main,
        }
    }

    /// Calls a callback, if the script defines it, with `self` first when the
    /// instance has an entity.
    pub(super) fn call(
        &self,
        state: &ScriptState,
        callback: Callback,
        dt: Option<f64>,
    ) -> Option<std::result::Result<(), ScriptError>> {
        let function = self.callbacks[callback as usize].as_ref()?;
        let _stream = state.enter_stream(&self.random);
        // Free unless a subscriber wants this target at this level (a trace).
        let _span = tracing::info_span!(
            target: "zephyr::behaviour",
            "callback",
            label = %format_args!("{} {}", callback.name(), self.cold.label),
            entity = %self.cold.label,
            file = %self.script,
        )
        .entered();
        Some(match (self.entity, dt) {
            (Some(e), Some(dt)) => state.call_unit(function, (e.to_lua(), dt), &self.script),
            (Some(e), None) => state.call_unit(function, e.to_lua(), &self.script),
            (None, Some(dt)) => state.call_unit(function, dt, &self.script),
            (None, None) => state.call_unit(function, (), &self.script),
        })
    }
}

/// Loads an instance: runs the compiled script in `env`, looks its
/// callbacks up.
pub(super) fn load(
    state: &ScriptState,
    env: Table,
    entity: Option<EntityId>,
    script: &ScriptSource,
    id: BehaviourId,
    home: Home,
    label: Arc<str>,
) -> std::result::Result<Instance, ScriptError> {
    let chunk = state.compile_reloadable(script.text(), &script.lua_chunk_name())?;
    // Tasks its code spawns belong to it (main-state instances only).
    if home == Home::Main
        && let Some(hooks) = crate::task::Hooks::of(state.lua())
    {
        hooks
            .register(&env, crate::task::owner(id.0))
            .map_err(|e| ScriptError::from_lua(&e, script.name()))?;
    }
    let stream = Stream::derived(state.config().seed, StreamKind::Behaviour, id.0);
    let capture = {
        let _stream = state.enter_stream(&stream);
        state.run_reloadable(&chunk, &env)?
    };
    let callbacks = callbacks_of(&env);
    Ok(Instance {
        id,
        home,
        entity,
        script: script.shared_name(),
        cold: Box::new(Cold {
            source: script.clone(),
            label,
            capture,
        }),
        env,
        callbacks,
        started: false,
        removed: false,
        random: stream,
    })
}

/// The callbacks an environment defines, looked up once.
pub(super) fn callbacks_of(env: &Table) -> [Option<Function>; 3] {
    Callback::ALL.map(|c| match env.raw_get::<Value>(c.name()) {
        Ok(Value::Function(f)) => Some(f),
        _ => None,
    })
}

pub(super) fn load_failure(
    system: &ScriptingSystem,
    entity: Option<EntityId>,
    error: ScriptError,
) -> BehaviourError {
    BehaviourError {
        behaviour: None,
        entity,
        entity_name: entity.and_then(|e| entity_name(system, e)),
        entity_label: entity.map(|e| entity_label(system, e)),
        during: "loading".into(),
        error: Box::new(error),
    }
}

pub(super) fn entity_name(system: &ScriptingSystem, entity: EntityId) -> Option<String> {
    system.world().read().name(entity).ok().flatten()
}

/// How messages show the entity: `3:1` in Zephyr's world (index and
/// generation), the id elsewhere.
pub(super) fn entity_label(system: &ScriptingSystem, entity: EntityId) -> String {
    system.world().read().label(entity)
}

pub(super) fn callback_error(
    system: &ScriptingSystem,
    instance: &Instance,
    callback: Callback,
    error: ScriptError,
) -> BehaviourError {
    instance_error(
        system,
        instance,
        format!("callback {}", callback.name()),
        error,
    )
}

/// An error of an instance, `during` what it was doing.
pub(super) fn instance_error(
    system: &ScriptingSystem,
    instance: &Instance,
    during: String,
    error: ScriptError,
) -> BehaviourError {
    BehaviourError {
        behaviour: Some(instance.id),
        entity: instance.entity,
        entity_name: instance.entity.and_then(|e| entity_name(system, e)),
        entity_label: instance.entity.map(|e| entity_label(system, e)),
        during,
        error: Box::new(error),
    }
}

pub(super) fn plain_error(chunk: &str, message: String) -> ScriptError {
    ScriptError {
        kind: ScriptErrorKind::Runtime,
        message,
        chunk: chunk.to_owned(),
        line: None,
        traceback: None,
    }
}
