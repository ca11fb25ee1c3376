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
        let mut out = String::from("// Zephyr config: archived cvars\n");
        for (name, value) in self.archived() {
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            out.push_str(&format!("seta {name} \"{escaped}\"\n"));
        }
        out
    }

    /// Writes [`archive_to_string`](Self::archive_to_string) to a file.
    pub fn save_archive(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.archive_to_string()).map_err(|e| Error::io(path, &e))
    }

    /// Applies config text: `seta name "value"` and `set name "value"` lines,
    /// blank lines and `//` comments. Every malformed or refused line is
    /// reported with its line number; the other lines still load.
    pub fn load_config_str(&self, text: &str) -> ConfigReport {
        let mut report = ConfigReport::default();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let result = parse_line(line, &[]).and_then(|cmds| {
                cmds.iter()
                    .try_for_each(|cmd| match (cmd.name.as_str(), cmd.args.as_slice()) {
                        ("seta" | "set", [name, value]) => {
                            self.set_from_string(name, value)?;
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
}
