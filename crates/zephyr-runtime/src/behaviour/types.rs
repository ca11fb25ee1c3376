//! The behaviours' public types: sources, ids, what `list` and a frame
//! report, and errors.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use zephyr_world::EntityId;

use crate::error::{Error, Result};
use crate::system::UpdateReport;
use zephyr_lua::ScriptError;
use zephyr_lua::chunk::file_source;

/// A script's text and the chunk name its errors show.
///
/// ```
/// use zephyr_runtime::ScriptSource;
/// let script = ScriptSource::new("spin.lua", "function on_update(self, dt) end");
/// assert_eq!(script.name(), "spin.lua");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptSource {
    name: Arc<str>,
    text: Arc<[u8]>,
    /// Read from a file: Lua names the chunk `@name`, as `lua` does (what
    /// `debug.getinfo(f).source` shows).
    file: bool,
    /// The file it was read from, for [`Behaviours::reload`](super::Behaviours::reload).
    path: Option<Arc<Path>>,
    /// The code [`with_prelude`](Self::with_prelude) wrote before it (kept
    /// across a reload).
    prelude: Option<Arc<str>>,
}

impl ScriptSource {
    /// A script from text, taken as it is.
    pub fn new(name: impl Into<Arc<str>>, text: impl AsRef<[u8]>) -> Self {
        ScriptSource {
            name: name.into(),
            text: Arc::from(text.as_ref()),
            file: false,
            path: None,
            prelude: None,
        }
    }

    /// Reads a script file as bytes, as `lua` does (see
    /// [`file_source`](crate::file_source): a UTF-8 BOM and a `#!` first line
    /// are skipped); `name` is the chunk name errors show.
    pub fn from_file(path: &Path, name: impl Into<Arc<str>>) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(ScriptSource {
            file: true,
            path: Some(Arc::from(path)),
            ..ScriptSource::new(name, file_source(&bytes))
        })
    }

    /// The same script with `code` written before its first line, on that
    /// line (so line numbers stay): how `zephyr run --prelude` sets globals
    /// before a script runs.
    pub fn with_prelude(&self, code: &str) -> Self {
        let mut text = Vec::with_capacity(code.len() + 1 + self.text.len());
        text.extend_from_slice(code.as_bytes());
        text.push(b' ');
        text.extend_from_slice(&self.text);
        ScriptSource {
            text: Arc::from(text),
            prelude: Some(Arc::from(code)),
            ..self.clone()
        }
    }

    /// The file the script was read from ([`from_file`](Self::from_file)).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The script as its file reads now (with the same name and prelude).
    pub fn reread(&self) -> Result<Self> {
        let path = self.path.as_deref().ok_or_else(|| Error::Io {
            path: self.name.to_string(),
            message: "the script was not read from a file".into(),
        })?;
        let fresh = ScriptSource::from_file(path, self.name.clone())?;
        Ok(match &self.prelude {
            Some(code) => fresh.with_prelude(code),
            None => fresh,
        })
    }

    /// The chunk name as Lua takes it (`@file.lua` for a file).
    pub(crate) fn lua_chunk_name(&self) -> std::borrow::Cow<'_, str> {
        if self.file {
            format!("@{}", self.name).into()
        } else {
            std::borrow::Cow::Borrowed(&self.name)
        }
    }

    /// The chunk name, shared.
    pub(super) fn shared_name(&self) -> Arc<str> {
        self.name.clone()
    }

    /// The chunk name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The source text.
    pub fn text(&self) -> &[u8] {
        &self.text
    }
}

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
/// `player.lua:12: attempt to index a nil value (callback on_update, entity 4294967296 "Player")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BehaviourError {
    /// The instance (`None` when it failed to load, so never got one).
    pub behaviour: Option<BehaviourId>,
    /// Its entity (`None` for a global behaviour).
    pub entity: Option<EntityId>,
    /// The entity's name, if it had one when the error happened.
    pub entity_name: Option<String>,
    /// What was running: `loading`, `callback on_update`, `call f`.
    pub during: String,
    /// The script error, with chunk name, line and traceback.
    pub error: Box<ScriptError>,
}

impl fmt::Display for BehaviourError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", self.error.message, self.during)?;
        if let Some(entity) = self.entity {
            write!(f, ", entity {entity}")?;
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
}

impl ReloadReport {
    /// Whether the path was nothing the behaviours run.
    pub fn is_empty(&self) -> bool {
        self.scripts.is_empty() && self.modules.is_empty() && self.errors.is_empty()
    }
}
