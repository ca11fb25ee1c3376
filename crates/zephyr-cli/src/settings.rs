//! Saved settings, as in Quake: ARCHIVE cvars load from `config.cfg` when a
//! run starts and are written back as `seta name "value"` lines when it
//! ends, and `autoexec.cfg` beside it runs once the scripts have loaded.
//!
//! The config file is the game's: by default `config.cfg` in the folder of
//! the scene or script (`--config FILE` picks another). Order at start:
//! the scene's `[cvars]`, then `config.cfg` (the player's settings win over
//! the scene's), then `--set` (the command line wins over both); names no
//! script has registered yet wait for their script. A malformed line is a
//! warning naming the file and line, and the other lines still load.
//!
//! At the end of a run the file is written when an archived cvar changed
//! during the run (a script's `cvar.set` anywhere: main chunk, callbacks,
//! handlers, worker jobs; console `set`; `autoexec.cfg`) and the text
//! differs from the file's; `host_writeconfig` writes it at once. Settings
//! in the file for cvars this run never registered are kept, and so is a
//! line that did not load, as a `// not loaded: ` comment. The text goes
//! to a temporary file renamed over the old one, so a crash mid-write
//! loses nothing. `--no-config` reads and writes no settings file at all.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use zephyr_runtime::cvar::{CVarRegistry, Console};

use crate::error::{Error, Result};

/// How a line that did not load is kept when the file is rewritten.
const NOT_LOADED: &str = "// not loaded: ";

/// The config file of one run.
#[derive(Debug)]
pub(crate) struct Settings {
    path: PathBuf,
    /// `--no-config`: no file is read or written.
    off: bool,
    /// [`CVarRegistry::archive_changes`] once the run's own settings
    /// (scene, config file, command line) are in: a later reading that
    /// differs means a player's setting changed.
    baseline: u64,
    /// The lines of the file that did not load (kept, commented, when the
    /// file is rewritten; shared with `host_writeconfig`).
    not_loaded: Arc<Mutex<Vec<String>>>,
}

impl Settings {
    /// The config file `--config` names, or `config.cfg` in `dir`; none
    /// at all with `--no-config` (`off`).
    pub(crate) fn new(config: Option<&Path>, dir: &Path, off: bool) -> Self {
        Settings {
            path: config.map_or_else(|| dir.join("config.cfg"), Path::to_path_buf),
            off,
            baseline: 0,
            not_loaded: Arc::default(),
        }
    }

    /// The config file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Loads the config file, if there is one: each line's cvar is set, or
    /// preset until a script registers it. Returns what to say on stderr:
    /// the file loaded and how many values it set, then a warning per line
    /// that did not load (file and line each).
    pub(crate) fn load(&self, cvars: &CVarRegistry) -> Result<Vec<String>> {
        if self.off {
            return Ok(Vec::new());
        }
        let text = match std::fs::read(&self.path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Error::bad_file(
                    &self.path,
                    format!("cannot read the config file: {e}"),
                ));
            }
        };
        let origin = self.path.display().to_string();
        let report = cvars.load_config_presets(&text, &origin);
        let lines: Vec<&str> = text.lines().collect();
        // Lines kept from an earlier save, and this load's bad lines.
        let mut not_loaded: Vec<String> = lines
            .iter()
            .filter_map(|line| line.strip_prefix(NOT_LOADED).map(str::to_owned))
            .collect();
        for error in &report.errors {
            if let Some(line) = lines.get(error.line - 1) {
                not_loaded.push((*line).to_owned());
            }
        }
        *lock(&self.not_loaded) = not_loaded;
        let mut said = vec![format!(
            "settings: {} value(s) loaded from {origin} (--no-config runs without it)",
            report.applied
        )];
        said.extend(
            report
                .errors
                .iter()
                .map(|e| format!("warning: {origin}:{}: {}", e.line, e.error)),
        );
        Ok(said)
    }

    /// Runs `autoexec.cfg` beside the config file, if there is one: every
    /// line runs even when one fails. Returns the warnings.
    pub(crate) fn autoexec(&self, console: &Console) -> Vec<String> {
        if self.off {
            return Vec::new();
        }
        let path = self.path.with_file_name("autoexec.cfg");
        let Ok(bytes) = std::fs::read(&path) else {
            return Vec::new();
        };
        let text = String::from_utf8_lossy(&bytes);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let origin = path.display().to_string();
        let mut warnings = Vec::new();
        let mut commands = crate::console::Commands::default();
        let mut complete: Vec<(usize, String)> = text
            .lines()
            .filter_map(|line| commands.push(console, line))
            .collect();
        complete.extend(commands.finish());
        for (line, command) in complete {
            if let Err(e) = console.execute_from(&command, &format!("{origin}:{line}")) {
                warnings.push(format!("warning: {origin}:{line}: {e}"));
            }
        }
        warnings
    }

    /// Takes the count of archived changes now, once the run's own
    /// settings are in (before any script runs): a change after this is a
    /// player's, saved at the end.
    pub(crate) fn mark_baseline(&mut self, cvars: &CVarRegistry) {
        self.baseline = cvars.archive_changes();
    }

    /// Whether an archived cvar changed since the baseline.
    fn changed(&self, cvars: &CVarRegistry) -> bool {
        cvars.archive_changes() != self.baseline
    }

    /// Whether `origin` (of a preset) is a line of this config file.
    pub(crate) fn is_from_config(&self, origin: &str) -> bool {
        origin.starts_with(&format!("{}:", self.path.display()))
    }

    /// Writes the config file if a setting changed during the run and the
    /// text differs from the file's. Returns whether it wrote.
    pub(crate) fn save_if_changed(&self, cvars: &CVarRegistry) -> Result<bool> {
        if self.off || !self.changed(cvars) {
            return Ok(false);
        }
        let text = config_text(&self.path, cvars, &lock(&self.not_loaded));
        if std::fs::read_to_string(&self.path).is_ok_and(|old| old == text) {
            return Ok(false);
        }
        write(&self.path, &text)?;
        Ok(true)
    }

    /// Registers `host_writeconfig`, which writes the config file at once
    /// (with `--no-config`, it says why it does not).
    pub(crate) fn register_command(&self, console: &Console) -> Result<()> {
        let path = self.path.clone();
        let off = self.off;
        let not_loaded = self.not_loaded.clone();
        console
            .register_command(
                "host_writeconfig",
                "host_writeconfig: saves the archived cvars to the config file now",
                move |console, _args| {
                    let refused = |message: String| zephyr_runtime::cvar::Error::Command {
                        command: "host_writeconfig".into(),
                        message,
                    };
                    if off {
                        return Err(refused(
                            "this run reads and writes no settings (--no-config)".into(),
                        ));
                    }
                    write(
                        &path,
                        &config_text(&path, console.cvars(), &lock(&not_loaded)),
                    )
                    .map_err(|e| refused(e.to_string()))?;
                    console.print(&format!("wrote {}", path.display()));
                    Ok(())
                },
            )
            .map_err(|e| Error::Usage(format!("host_writeconfig: {e}")))
    }
}

fn lock(lines: &Mutex<Vec<String>>) -> std::sync::MutexGuard<'_, Vec<String>> {
    lines
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The config text: the archived cvars, the settings the file held for
/// cvars this run never registered, and its lines that did not load,
/// commented.
fn config_text(path: &Path, cvars: &CVarRegistry, not_loaded: &[String]) -> String {
    let origin = format!("{}:", path.display());
    let kept: Vec<(String, String)> = cvars
        .unused_presets()
        .into_iter()
        .filter(|p| p.origin.starts_with(&origin))
        .map(|p| (p.name, p.value))
        .collect();
    let mut text = cvars.archive_text(&kept);
    for line in not_loaded {
        text.push_str(NOT_LOADED);
        text.push_str(line);
        text.push('\n');
    }
    text
}

fn write(path: &Path, text: &str) -> Result<()> {
    zephyr_runtime::cvar::write_atomically(path, text)
        .map_err(|e| Error::bad_file(path, format!("cannot save the settings: {e}")))
}
