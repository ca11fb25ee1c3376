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
//! during the run (console `set`, a script's `cvar.set`, `autoexec.cfg`)
//! and the text differs from the file's; `host_writeconfig` writes it at
//! once. Settings in the file for cvars this run never registered are kept.
//! The text goes to a temporary file renamed over the old one, so a crash
//! mid-write loses nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use zephyr_runtime::cvar::{CVarRegistry, Console};

use crate::error::{Error, Result};

/// The config file of one run.
#[derive(Debug)]
pub(crate) struct Settings {
    path: PathBuf,
    /// The archived values once the scripts have loaded.
    baseline: BTreeMap<String, String>,
}

impl Settings {
    /// The config file `--config` names, or `config.cfg` in `dir`.
    pub(crate) fn new(config: Option<&Path>, dir: &Path) -> Self {
        Settings {
            path: config.map_or_else(|| dir.join("config.cfg"), Path::to_path_buf),
            baseline: BTreeMap::new(),
        }
    }

    /// The config file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Loads the config file, if there is one: each line's cvar is set, or
    /// preset until a script registers it. Returns the warnings (file and
    /// line each).
    pub(crate) fn load(&self, cvars: &CVarRegistry) -> Result<Vec<String>> {
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
        Ok(report
            .errors
            .iter()
            .map(|e| format!("warning: {origin}:{}: {}", e.line, e.error))
            .collect())
    }

    /// Runs `autoexec.cfg` beside the config file, if there is one: every
    /// line runs even when one fails. Returns the warnings.
    pub(crate) fn autoexec(&self, console: &Console) -> Vec<String> {
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

    /// Remembers the archived values now (once the scripts have loaded):
    /// a change after this is saved at the end.
    pub(crate) fn mark_baseline(&mut self, cvars: &CVarRegistry) {
        self.baseline = cvars.archived_values();
    }

    /// Whether an archived cvar changed since the baseline.
    fn changed(&self, cvars: &CVarRegistry) -> bool {
        cvars
            .archived_values()
            .iter()
            .any(|(name, value)| self.baseline.get(name).is_some_and(|v| v != value))
    }

    /// Whether `origin` (of a preset) is a line of this config file.
    pub(crate) fn is_from_config(&self, origin: &str) -> bool {
        origin.starts_with(&format!("{}:", self.path.display()))
    }

    /// Writes the config file now.
    pub(crate) fn write(&self, cvars: &CVarRegistry) -> Result<()> {
        write(&self.path, cvars)
    }

    /// Writes the config file if a setting changed during the run and the
    /// text differs from the file's. Returns whether it wrote.
    pub(crate) fn save_if_changed(&self, cvars: &CVarRegistry) -> Result<bool> {
        if !self.changed(cvars) {
            return Ok(false);
        }
        let text = config_text(&self.path, cvars);
        if std::fs::read_to_string(&self.path).is_ok_and(|old| old == text) {
            return Ok(false);
        }
        self.write(cvars)?;
        Ok(true)
    }

    /// Registers `host_writeconfig`, which writes the config file at once.
    pub(crate) fn register_command(&self, console: &Console) -> Result<()> {
        let path = self.path.clone();
        console
            .register_command(
                "host_writeconfig",
                "host_writeconfig: saves the archived cvars to the config file now",
                move |console, _args| {
                    write(&path, console.cvars()).map_err(|e| {
                        zephyr_runtime::cvar::Error::Command {
                            command: "host_writeconfig".into(),
                            message: e.to_string(),
                        }
                    })?;
                    console.print(&format!("wrote {}", path.display()));
                    Ok(())
                },
            )
            .map_err(|e| Error::Usage(format!("host_writeconfig: {e}")))
    }
}

/// The config text: the archived cvars, and the settings the file held for
/// cvars this run never registered.
fn config_text(path: &Path, cvars: &CVarRegistry) -> String {
    let origin = format!("{}:", path.display());
    let kept: Vec<(String, String)> = cvars
        .unused_presets()
        .into_iter()
        .filter(|p| p.origin.starts_with(&origin))
        .map(|p| (p.name, p.value))
        .collect();
    cvars.archive_text(&kept)
}

fn write(path: &Path, cvars: &CVarRegistry) -> Result<()> {
    zephyr_runtime::cvar::write_atomically(path, &config_text(path, cvars))
        .map_err(|e| Error::bad_file(path, format!("cannot save the settings: {e}")))
}
