//! `--watch`: a file watcher (the `notify` crate) over the scene's folder;
//! changed `.lua` files are handed to [`Behaviours::reload`] between frames.
//!
//! Editors save in steps (truncate, write; or write a temporary file and
//! rename it), so a file is reloaded once it has been quiet for
//! [`QUIET`]: a half-written file is not compiled.
//!
//! [`Behaviours::reload`]: zephyr_runtime::Behaviours::reload

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use notify::Watcher as _;

use crate::error::{Error, Result};

/// How long a changed file must stay unchanged before it is reloaded.
const QUIET: Duration = Duration::from_millis(60);

/// Watches one folder, recursively, for changed Lua files.
pub(crate) struct Watcher {
    _watcher: notify::RecommendedWatcher,
    events: Receiver<PathBuf>,
    /// Changed files and when they last changed.
    pending: HashMap<PathBuf, Instant>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Watcher {
    /// Starts watching `dir`.
    pub(crate) fn start(dir: &Path) -> Result<Self> {
        let (tx, events) = std::sync::mpsc::channel();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                if matches!(
                    event.kind,
                    notify::EventKind::Create(_) | notify::EventKind::Modify(_)
                ) {
                    for path in event.paths {
                        if path.extension().is_some_and(|e| e == "lua") {
                            let _ = tx.send(path);
                        }
                    }
                }
            })
            .map_err(|e| Error::Usage(format!("--watch: cannot watch files: {e}")))?;
        watcher
            .watch(dir, notify::RecursiveMode::Recursive)
            .map_err(|e| Error::bad_file(dir, format!("--watch: cannot watch this folder: {e}")))?;
        Ok(Watcher {
            _watcher: watcher,
            events,
            pending: HashMap::new(),
        })
    }

    /// The changed files that have been quiet long enough, in path order.
    pub(crate) fn ready(&mut self) -> Vec<PathBuf> {
        let now = Instant::now();
        while let Ok(path) = self.events.try_recv() {
            self.pending.insert(path, now);
        }
        let mut ready: Vec<PathBuf> = self
            .pending
            .iter()
            .filter(|(_, changed)| now.duration_since(**changed) >= QUIET)
            .map(|(path, _)| path.clone())
            .collect();
        ready.sort();
        for path in &ready {
            self.pending.remove(path);
        }
        ready
    }
}
