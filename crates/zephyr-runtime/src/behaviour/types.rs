//! The behaviours' public types: ids, what `list` and a frame report, and
//! errors.

use std::fmt;
use std::time::Duration;

use zephyr_world::EntityId;

use crate::system::UpdateReport;
use zephyr_lua::ScriptError;

/// Identifies one attached behaviour instance. Ids grow in attach order and
/// are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BehaviourId(pub u64);

impl fmt::Display for BehaviourId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "behaviour#{}", self.0)
    }
}

/// What [`Behaviours::list`](super::Behaviours::list) tells about one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BehaviourInfo {
    /// Its id.
    pub id: BehaviourId,
    /// Its entity (`None` for a global behaviour).
    pub entity: Option<EntityId>,
    /// Its script's chunk name.
    pub script: String,
    /// Whether `on_start` has run (or would have, had it been defined).
    pub started: bool,
    /// Whether the script defines `on_start`.
    pub has_start: bool,
    /// Whether the script defines `on_update`.
    pub has_update: bool,
    /// Whether the script defines `on_destroy`.
    pub has_destroy: bool,
    /// Whether its `on_update` runs in the parallel phase.
    pub parallel: bool,
}

/// A behaviour that failed: loading its script, or in a callback. Its text
/// is the script error followed by what was running and for which entity:
/// `player.lua:12: attempt to index a nil value (callback on_update, entity 3:1 "Player")`
/// (the world's [label](zephyr_world::WorldRead::label) of the entity:
/// index and generation in Zephyr's world; its name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BehaviourError {
    /// The instance (`None` when it failed to load, so never got one).
    pub behaviour: Option<BehaviourId>,
    /// Its entity (`None` for a global behaviour).
    pub entity: Option<EntityId>,
    /// The entity's name, if it had one when the error happened.
    pub entity_name: Option<String>,
    /// How the world labels the entity (`3:1`; the id when it has no
    /// label of its own).
    pub entity_label: Option<String>,
    /// What was running: `loading`, `callback on_update`, `call f`.
    pub during: String,
    /// The script error, with chunk name, line and traceback.
    pub error: Box<ScriptError>,
}

impl fmt::Display for BehaviourError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", self.error.message, self.during)?;
        if let Some(entity) = self.entity {
            match &self.entity_label {
                Some(label) => write!(f, ", entity {label}")?,
                None => write!(f, ", entity {entity}")?,
            }
            if let Some(name) = &self.entity_name {
                write!(f, " \"{name}\"")?;
            }
        }
        f.write_str(")")
    }
}

impl std::error::Error for BehaviourError {}

/// One stage of a frame, in the order [`FRAME`](Self::FRAME) lists them.
/// [`Behaviours::frame`](super::Behaviours::frame) runs them all (with
/// physics); a host that drives its own frame runs them one by one with
/// [`Behaviours::run_stage`](super::Behaviours::run_stage), leaving out or
/// putting its own systems between any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// The frame number + 1, `delta = dt`, `elapsed += dt`.
    AdvanceTime,
    /// `on_start` of the instances attached since the last frame.
    Start,
    /// `on_update(self, dt)` of the serial instances, on the main thread.
    Update,
    /// Resumes the tasks whose wait is over.
    Tasks,
    /// `on_update` of the parallel instances, on the workers.
    Parallel,
    /// The built-in world's rigid bodies (nothing for another world).
    Physics,
    /// The sync point: worker writes applied in order, cvar handlers.
    Sync,
    /// Events delivered to their subscribers.
    Events,
    /// `on_destroy` of the instances of destroyed entities, then the
    /// entities' removal.
    Destroy,
    /// Tasks that failed on their first run reported.
    TaskFailures,
    /// The input's per-frame edges (`was_pressed`) cleared.
    EndInput,
}

impl Stage {
    /// A frame's stages, in order, without physics (an engine steps its own).
    pub const FRAME: [Stage; 10] = [
        Stage::AdvanceTime,
        Stage::Start,
        Stage::Update,
        Stage::Tasks,
        Stage::Parallel,
        Stage::Sync,
        Stage::Events,
        Stage::Destroy,
        Stage::TaskFailures,
        Stage::EndInput,
    ];

    /// A frame's stages with the built-in physics after the updates (the
    /// `zephyr` host's frame).
    pub const FRAME_WITH_PHYSICS: [Stage; 11] = [
        Stage::AdvanceTime,
        Stage::Start,
        Stage::Update,
        Stage::Tasks,
        Stage::Parallel,
        Stage::Physics,
        Stage::Sync,
        Stage::Events,
        Stage::Destroy,
        Stage::TaskFailures,
        Stage::EndInput,
    ];

    /// The stages of [`FRAME_WITH_PHYSICS`](Self::FRAME_WITH_PHYSICS) after
    /// the updates (what ends a frame, or a scene's frame 0 after its
    /// `on_start`s).
    pub const AFTER_UPDATES: [Stage; 6] = [
        Stage::Physics,
        Stage::Sync,
        Stage::Events,
        Stage::Destroy,
        Stage::TaskFailures,
        Stage::EndInput,
    ];

    /// Whether the stage runs after a stop-on-error failure earlier in the
    /// frame (time, reports and the input's edges still do).
    pub fn runs_when_stopped(self) -> bool {
        matches!(
            self,
            Stage::AdvanceTime | Stage::TaskFailures | Stage::EndInput
        )
    }

    /// The stage's name in traces and messages (`parallel`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::AdvanceTime => "advance time",
            Stage::Start => "start",
            Stage::Update => "update",
            Stage::Tasks => "tasks",
            Stage::Parallel => "parallel",
            Stage::Physics => "physics",
            Stage::Sync => "sync",
            Stage::Events => "events",
            Stage::Destroy => "destroy",
            Stage::TaskFailures => "task failures",
            Stage::EndInput => "end input",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What one frame (or one phase of it) did.
#[derive(Debug, Clone, Default)]
pub struct FrameReport {
    /// Callback and load errors, in the order they happened.
    pub errors: Vec<BehaviourError>,
    /// What the frame's [`ScriptingSystem::sync`](crate::ScriptingSystem::sync) did (worker writes, cvar
    /// handlers, and their errors).
    pub update: UpdateReport,
    /// `on_start` calls.
    pub started: usize,
    /// `on_update` calls (serial and parallel).
    pub updated: usize,
    /// Of those, the parallel ones (run in the parallel phase).
    pub updated_in_parallel: usize,
    /// The threads the parallel phase ran on: 0 without one, 1 when it ran
    /// on the calling thread alone (its work was too small to pay for
    /// waking the others: see
    /// [`Behaviours::set_parallel_threshold`](super::Behaviours::set_parallel_threshold)).
    pub parallel_threads: usize,
    /// `on_destroy` calls.
    pub destroyed: usize,
    /// Time spent in callbacks and in the sync point.
    pub script_time: Duration,
    /// The frame stopped early at an error (see
    /// [`Behaviours::set_stop_on_error`](super::Behaviours::set_stop_on_error)).
    pub stopped: bool,
}

impl FrameReport {
    /// Whether nothing failed: no callback, load, task or event error, and
    /// nothing refused at the sync point.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty() && self.update.errors.is_empty()
    }

    /// Records a failure; returns whether the frame must stop there (with
    /// stop-on-error).
    pub(super) fn fail(&mut self, error: BehaviourError, stop_on_error: bool) -> bool {
        self.errors.push(error);
        self.stopped |= stop_on_error;
        stop_on_error
    }
}

/// What [`Behaviours::reload`](super::Behaviours::reload) did.
#[derive(Debug, Default)]
pub struct ReloadReport {
    /// Behaviour scripts reloaded (in at least one instance), by name.
    pub scripts: Vec<String>,
    /// Modules reloaded (in at least one instance), by name.
    pub modules: Vec<String>,
    /// Instances now running the new code (counted once per script or
    /// module reloaded in them).
    pub instances: usize,
    /// What failed; each failed instance keeps its old code running.
    pub errors: Vec<BehaviourError>,
    /// Top-level locals the new version of a script no longer declares:
    /// (script, local), each once. Their values are gone with the old
    /// version.
    pub dropped_locals: Vec<(String, String)>,
}

impl ReloadReport {
    /// Notes the locals `script` no longer declares, each once (every
    /// instance of the script reports the same ones).
    pub(super) fn note_dropped(&mut self, script: &str, locals: Vec<String>) {
        for local in locals {
            let dropped = (script.to_owned(), local);
            if !self.dropped_locals.contains(&dropped) {
                self.dropped_locals.push(dropped);
            }
        }
    }

    /// Whether the path was nothing the behaviours run.
    pub fn is_empty(&self) -> bool {
        self.scripts.is_empty() && self.modules.is_empty() && self.errors.is_empty()
    }
}
