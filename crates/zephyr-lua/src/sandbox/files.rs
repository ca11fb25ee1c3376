//! File access for the safe profile's `dofile`, `loadfile`, `require`,
//! `io.open` and `io.lines`, and for the console's `exec`: every path is
//! confined to the script roots (lexically: `..` may appear as long as the
//! path stays inside a root). The trusted profile reads any path.

use std::path::{Component, Path, PathBuf};

/// Files scripts may read: those inside the script roots (any file in the
/// trusted profile). What `dofile`, `loadfile`, `require` and `io.open` go
/// through, and what a host's own file-reading commands (the console's
/// `exec`) should go through too.
///
/// ```
/// use zephyr_lua::{Profile, ScriptFiles};
/// let files = ScriptFiles::new(vec!["mods/arena".into()], Profile::Safe);
/// let refused = files.read("../secrets.lua").unwrap_err();
/// assert!(refused.contains("outside the script roots (mods/arena)"), "{refused}");
/// ```
#[derive(Debug, Clone)]
pub struct ScriptFiles {
    pub(crate) roots: Vec<PathBuf>,
    pub(crate) trusted: bool,
}

/// `path` with `.` and `..` taken out lexically (no file system access);
/// `None` when `..` would climb above its start.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    let mut depth = 0usize;
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if depth == 0 {
                    return None;
                }
                out.pop();
                depth -= 1;
            }
            Component::Normal(part) => {
                out.push(part);
                depth += 1;
            }
            Component::RootDir | Component::Prefix(_) => out.push(component),
        }
    }
    Some(out)
}

/// `path` made absolute against the working directory, then normalized.
fn absolute(path: &Path) -> Option<PathBuf> {
    normalize(&std::path::absolute(path).ok()?)
}

impl ScriptFiles {
    /// Files inside `roots` (relative to the working directory, or
    /// absolute); in the trusted profile, any file.
    pub fn new(roots: Vec<PathBuf>, profile: crate::Profile) -> Self {
        ScriptFiles {
            roots,
            trusted: profile == crate::Profile::Trusted,
        }
    }

    /// The places `path` may name, in root order: for a relative path, the
    /// path under each root, where it lands inside one of the roots (so
    /// `../lib/x.lua` from one root may reach another); for an absolute
    /// one, itself if it lies inside a root. Empty when it is outside them
    /// all.
    fn candidates(&self, path: &str) -> Vec<PathBuf> {
        let roots: Vec<PathBuf> = self.roots.iter().filter_map(|r| absolute(r)).collect();
        let inside = |target: &Path| {
            absolute(target).is_some_and(|t| roots.iter().any(|root| t.starts_with(root)))
        };
        let given = Path::new(path);
        if given.is_absolute() {
            return normalize(given)
                .filter(|target| inside(target))
                .into_iter()
                .collect();
        }
        self.roots
            .iter()
            .filter_map(|root| {
                let joined = absolute(&root.join(given))?;
                inside(&joined).then_some(joined)
            })
            .collect()
    }

    /// Whether `path` lies inside the roots (it need not exist).
    pub(crate) fn is_inside(&self, path: &str) -> bool {
        self.trusted || !self.candidates(path).is_empty()
    }

    /// Why `path` is refused: the message every reader gives.
    fn outside(&self, path: &str) -> String {
        let roots: Vec<String> = self.roots.iter().map(|r| r.display().to_string()).collect();
        format!(
            "'{path}' is outside the script roots ({})",
            roots.join(", ")
        )
    }

    /// Finds the file `path` names inside the roots (anywhere when trusted).
    pub fn resolve(&self, path: &str) -> Result<PathBuf, String> {
        if self.trusted {
            return Ok(PathBuf::from(path));
        }
        if path.is_empty() {
            return Err("an empty path names no file".to_owned());
        }
        if self.roots.is_empty() {
            return Err(format!(
                "cannot read '{path}': no script roots are configured"
            ));
        }
        let candidates = self.candidates(path);
        if candidates.is_empty() {
            return Err(self.outside(path));
        }
        let found = candidates
            .into_iter()
            .find(|candidate| candidate.is_file())
            .ok_or_else(|| format!("cannot find '{path}' in the script roots"))?;
        // The path is inside lexically; a symbolic link on the way must not
        // lead out (a mod's folder unpacked with a link to /etc/passwd).
        let real = found
            .canonicalize()
            .map_err(|e| format!("cannot read '{path}': {e}"))?;
        let inside = self
            .roots
            .iter()
            .filter_map(|root| root.canonicalize().ok())
            .any(|root| real.starts_with(root));
        if !inside {
            return Err(format!(
                "'{path}' leads outside the script roots (through a symbolic link)"
            ));
        }
        Ok(found)
    }

    /// Reads a script as bytes, as `lua` does (a UTF-8 BOM and a `#` first
    /// line skipped): `(source, chunk name)`.
    pub fn read(&self, path: &str) -> Result<(Vec<u8>, String), String> {
        let file = self.resolve(path)?;
        let bytes = std::fs::read(&file).map_err(|e| format!("cannot read '{path}': {e}"))?;
        Ok((
            crate::chunk::file_source(&bytes).into_owned(),
            path.to_owned(),
        ))
    }

    /// The safe profile's `package.path`: templates relative to the roots,
    /// which play the part of the scripts' working directory.
    pub(crate) const PACKAGE_PATH: &'static str = "./?.lua;./?/init.lua";

    /// The trusted profile's templates for the roots, put before stock
    /// Lua's own: `root/?.lua;root/?/init.lua;...` (paths as given, read
    /// from the working directory).
    pub(crate) fn trusted_package_path(&self) -> String {
        self.roots
            .iter()
            .flat_map(|root| {
                let root = root.display().to_string();
                let root = root.trim_end_matches('/');
                [format!("{root}/?.lua"), format!("{root}/?/init.lua")]
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    /// Checks a value assigned to `package.path`: every template must stay
    /// inside the roots (relative templates are read under each root).
    pub(crate) fn check_package_path(&self, path: &str) -> Result<(), String> {
        for template in path.split(';').filter(|t| !t.is_empty()) {
            if !template.contains('?') {
                continue;
            }
            let sample = template.replace('?', "m");
            if !self.is_inside(&sample) {
                return Err(format!(
                    "package.path: the template '{template}' is outside the script roots ({}); \
                     templates are read under the roots, without leaving them",
                    self.roots
                        .iter()
                        .map(|r| r.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Finds `name` (a module name with its separators already made `/`)
    /// through `package.path`'s templates, as Lua's `package.searchpath`
    /// does, inside the roots. Returns the file name found, or the list of
    /// files tried.
    pub(crate) fn search(&self, name: &str, path: &str) -> Result<String, Vec<String>> {
        let mut tried = Vec::new();
        for template in path.split(';').filter(|t| !t.is_empty()) {
            let file = template.replace('?', name);
            if self.resolve(&file).is_ok() {
                return Ok(file);
            }
            tried.push(file);
        }
        Err(tried)
    }
}

/// Whether a module name can be looked up: no part of it (between `.` or
/// `/`) empty or `..`, no NUL byte.
pub(crate) fn valid_module_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('\0')
        && name
            .split(['.', '/'])
            .all(|part| !part.is_empty() && part != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(roots: &[&str]) -> ScriptFiles {
        ScriptFiles {
            roots: roots.iter().map(PathBuf::from).collect(),
            trusted: false,
        }
    }

    #[test]
    fn paths_stay_inside_the_roots_lexically() {
        let f = files(&["game/scripts"]);
        assert!(f.is_inside("a.lua"));
        assert!(f.is_inside("lib/../a.lua"));
        assert!(f.is_inside("./lib/a.lua"));
        assert!(!f.is_inside("../a.lua"));
        assert!(!f.is_inside("lib/../../a.lua"));
        assert!(!f.is_inside("/etc/passwd"));
        let cwd = std::env::current_dir().unwrap();
        let inside = cwd.join("game/scripts/x.lua");
        assert!(f.is_inside(&inside.display().to_string()));
        let outside = cwd.join("game/x.lua");
        assert!(!f.is_inside(&outside.display().to_string()));
    }

    #[test]
    fn a_relative_path_may_reach_from_one_root_into_another() {
        let f = files(&["game/test", "game"]);
        assert!(
            f.is_inside("../json.lua"),
            "game/test/../json.lua is in game"
        );
        assert!(!files(&["game/test"]).is_inside("../json.lua"));
        assert!(!f.is_inside("../../x.lua"));
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_out_of_the_roots_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "no").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
        std::fs::write(root.path().join("ok.txt"), "yes").unwrap();
        let f = ScriptFiles {
            roots: vec![root.path().to_path_buf()],
            trusted: false,
        };
        assert!(f.resolve("ok.txt").is_ok());
        let err = f.resolve("link/secret.txt").unwrap_err();
        assert!(err.contains("leads outside the script roots"), "{err}");
    }

    #[test]
    fn package_path_templates_are_checked() {
        let f = files(&["game"]);
        assert!(f.check_package_path("lib/?.lua;?/init.lua;;").is_ok());
        assert!(f.check_package_path(ScriptFiles::PACKAGE_PATH).is_ok());
        let err = f.check_package_path("../?.lua;lib/?.lua").unwrap_err();
        assert!(
            err.contains("'../?.lua' is outside the script roots (game)"),
            "{err}"
        );
    }

    #[test]
    fn module_names_with_empty_or_parent_parts_are_invalid() {
        assert!(valid_module_name("spec/helpers"));
        assert!(valid_module_name("a.b-c"));
        assert!(!valid_module_name("..secret"));
        assert!(!valid_module_name("a/../b"));
        assert!(!valid_module_name("a."));
        assert!(!valid_module_name(""));
    }
}
