//! Quake-style config files: `seta name "value"` lines for ARCHIVE cvars.

use std::path::Path;

use crate::error::{Error, Result};
use crate::parse::parse_line;
use crate::registry::CVarRegistry;

/// A line of a config file that could not be applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigLineError {
    /// The 1-based line number.
    pub line: usize,
    /// Why the line was refused.
    pub error: Error,
}

impl std::fmt::Display for ConfigLineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.error)
    }
}

/// What loading a config applied and what it refused. A bad line never stops
/// the lines after it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigReport {
    /// How many `set`/`seta` lines were applied.
    pub applied: usize,
    /// The refused lines, in file order.
    pub errors: Vec<ConfigLineError>,
}

impl CVarRegistry {
    /// The ARCHIVE cvars as config text, one `seta name "value"` line each,
    /// sorted by name.
    pub fn archive_to_string(&self) -> String {
        self.archive_text(&[])
    }

    /// Config text for the ARCHIVE cvars plus `kept`: settings (name, value)
    /// the file held for cvars this run never registered, which a save must
    /// not lose. Sorted by name.
    pub fn archive_text(&self, kept: &[(String, String)]) -> String {
        let mut entries = self.archived();
        for (name, value) in kept {
            if !entries.iter().any(|(n, _)| n == name) {
                entries.push((name.clone(), value.clone()));
            }
        }
        entries.sort();
        let mut out = String::from("// Zephyr config: archived cvars, written by the engine\n");
        for (name, value) in entries {
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            out.push_str(&format!("seta {name} \"{escaped}\"\n"));
        }
        out
    }

    /// The ARCHIVE cvars and their values as text, by name: what a host
    /// compares to tell whether a setting changed during a run.
    pub fn archived_values(&self) -> std::collections::BTreeMap<String, String> {
        self.archived().into_iter().collect()
    }

    /// Writes [`archive_to_string`](Self::archive_to_string) to a file.
    /// The text goes to a temporary file beside it, which is then renamed
    /// over the old file: a crash mid-write leaves the old file whole.
    pub fn save_archive(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomically(path.as_ref(), &self.archive_to_string())
    }

    /// Applies config text: `seta name "value"` and `set name "value"` lines,
    /// blank lines and `//` comments. Every malformed or refused line is
    /// reported with its line number; the other lines still load.
    pub fn load_config_str(&self, text: &str) -> ConfigReport {
        self.load_lines(text, |name, value, _| {
            self.set_from_string(name, value).map(drop)
        })
    }

    /// Like [`load_config_str`](Self::load_config_str), for a config read
    /// before the scripts that register its cvars have run: a name not
    /// registered yet is preset (see
    /// [`set_or_preset_from`](Self::set_or_preset_from)) with the origin
    /// `origin:line`, and applies when a script registers it.
    pub fn load_config_presets(&self, text: &str, origin: &str) -> ConfigReport {
        self.load_lines(text, |name, value, line| {
            self.set_or_preset_from(name, value, &format!("{origin}:{line}"))
        })
    }

    fn load_lines(
        &self,
        text: &str,
        mut apply: impl FnMut(&str, &str, usize) -> Result<()>,
    ) -> ConfigReport {
        let mut report = ConfigReport::default();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let result = parse_line(line, &[]).and_then(|cmds| {
                cmds.iter()
                    .try_for_each(|cmd| match (cmd.name.as_str(), cmd.args.as_slice()) {
                        ("seta" | "set", [name, value]) => {
                            apply(name, value, number)?;
                            report.applied += 1;
                            Ok(())
                        }
                        ("seta" | "set", _) => Err(Error::Usage {
                            command: cmd.name.clone(),
                            usage: format!("{} <cvar> \"<value>\"", cmd.name),
                        }),
                        (other, _) => Err(Error::Parse {
                            message: format!("expected 'seta <cvar> \"<value>\"', found '{other}'"),
                        }),
                    })
            });
            if let Err(error) = result {
                report.errors.push(ConfigLineError {
                    line: number,
                    error,
                });
            }
        }
        report
    }

    /// Reads and applies a config file (see [`load_config_str`](Self::load_config_str)).
    pub fn load_config(&self, path: impl AsRef<Path>) -> Result<ConfigReport> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
        Ok(self.load_config_str(&text))
    }
}

/// Writes `text` to `path` through a temporary file in the same folder,
/// flushed to disk and renamed over `path` (atomic on one file system).
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::io(path, &e)
    })
}

#[cfg(test)]
mod tests {
    use crate::{CVarDef, CVarFlags, CVarRegistry, Error};

    fn registry() -> CVarRegistry {
        let r = CVarRegistry::new();
        r.register(CVarDef::new("r_fov", 75.0).flags(CVarFlags::ARCHIVE))
            .unwrap();
        r.register(CVarDef::new("name", "player").flags(CVarFlags::ARCHIVE))
            .unwrap();
        r.register(CVarDef::new("temp", 1)).unwrap();
        r
    }

    #[test]
    fn archive_round_trips_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.cfg");
        let a = registry();
        a.set_from_string("r_fov", "90").unwrap();
        a.set_from_string("name", "Big \"Bob\"").unwrap();
        a.set_from_string("temp", "5").unwrap();
        a.save_archive(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("seta r_fov \"90.0\""), "{text}");
        assert!(
            !text.contains("temp"),
            "non-archived cvars stay out: {text}"
        );

        let b = registry();
        let report = b.load_config(&path).unwrap();
        assert_eq!(report.applied, 2);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(b.get_as_string("r_fov").as_deref(), Some("90.0"));
        assert_eq!(b.get_as_string("name").as_deref(), Some("Big \"Bob\""));
    }

    #[test]
    fn malformed_lines_are_reported_and_the_rest_loads() {
        let r = registry();
        let report = r.load_config_str(
            "// comment\nseta r_fov \"abc\"\nbogus line\nseta nosuch 1\nseta name \"ok\"\nseta r_fov",
        );
        assert_eq!(report.applied, 1);
        let lines: Vec<_> = report.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 6]);
        assert!(matches!(report.errors[2].error, Error::UnknownCVar { .. }));
        assert_eq!(r.get_as_string("name").as_deref(), Some("ok"));
        assert!(report.errors[0].to_string().starts_with("line 2: "));
    }

    #[test]
    fn a_config_read_before_registration_presets_its_names() {
        let r = registry();
        let report = r.load_config_presets(
            "seta later \"7\"\nseta r_fov \"oops\"\nseta name \"ann\"\n",
            "config.cfg",
        );
        assert_eq!(report.applied, 2);
        assert_eq!(report.errors.len(), 1);
        assert_eq!(report.errors[0].line, 2);
        assert_eq!(r.get_as_string("name").as_deref(), Some("ann"));
        let unused = r.unused_presets();
        assert_eq!(unused[0].origin, "config.cfg:1");
        r.register(CVarDef::new("later", 1).flags(CVarFlags::ARCHIVE))
            .unwrap();
        assert_eq!(r.get_as_string("later").as_deref(), Some("7"));
    }

    #[test]
    fn a_save_keeps_settings_of_cvars_not_registered_and_replaces_the_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.cfg");
        std::fs::write(&path, "old").unwrap();
        let r = registry();
        let text = r.archive_text(&[("other_game_var".into(), "3".into())]);
        super::write_atomically(&path, &text).unwrap();
        let saved = std::fs::read_to_string(&path).unwrap();
        assert!(saved.contains("seta other_game_var \"3\""), "{saved}");
        assert!(saved.contains("seta r_fov \"75.0\""), "{saved}");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
        // A folder that does not exist: an error naming the file.
        let error =
            super::write_atomically(&dir.path().join("no/such/config.cfg"), &text).unwrap_err();
        assert!(error.to_string().contains("config.cfg"), "{error}");
    }
}
