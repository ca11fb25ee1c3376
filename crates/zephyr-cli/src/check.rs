//! `zephyr check`: compiles Lua files and validates scenes without running
//! anything, and reads each script against the API (see `lint.rs`),
//! printing `file:line: message` for each problem.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::lint::{Api, Context, Mode, lint};
use crate::scene::Scene;

/// Checks every path; returns the number of problems (each already printed
/// to stdout).
pub(crate) fn check(paths: &[std::path::PathBuf]) -> Result<usize> {
    let mut problems = Vec::new();
    let api = Api::builtin();
    for path in paths {
        match path.extension().and_then(|e| e.to_str()) {
            Some("lua") => match std::fs::read(path) {
                Ok(bytes) => {
                    let shown = path.display().to_string();
                    let source = zephyr_runtime::file_source(&bytes);
                    match compile(&shown, &source) {
                        Some(problem) => problems.push(problem),
                        None => {
                            let cx = Context {
                                mode: Mode::Alone,
                                roots: alone_roots(path),
                                prefabs: None,
                            };
                            problems.extend(lint(&api, &shown, &source, &cx));
                        }
                    }
                }
                Err(e) => problems.push(format!("{}: {e}", path.display())),
            },
            Some("toml") => match Scene::load(path) {
                Ok(scene) => {
                    let prefabs: Vec<String> = scene.prefabs.keys().cloned().collect();
                    let cx = Context {
                        mode: Mode::Scene,
                        roots: vec![if scene.dir.as_os_str().is_empty() {
                            PathBuf::from(".")
                        } else {
                            scene.dir.clone()
                        }],
                        prefabs: Some((&prefabs, &scene.path)),
                    };
                    for script in scene.scripts() {
                        let shown = scene.dir.join(script.name()).display().to_string();
                        match compile(&shown, script.text()) {
                            Some(problem) => problems.push(problem),
                            None => problems.extend(lint(&api, &shown, script.text(), &cx)),
                        }
                    }
                    problems.extend(check_cvars(&scene));
                }
                Err(Error::BadFile { file, message }) => problems.push(located(&file, &message)),
                Err(other) => problems.push(format!("{}: {other}", path.display())),
            },
            _ => problems.push(format!(
                "{}: expected a .lua script or a .toml scene",
                path.display()
            )),
        }
    }
    let mut out = std::io::stdout().lock();
    for problem in &problems {
        let _ = std::io::Write::write_all(&mut out, format!("{problem}\n").as_bytes());
    }
    Ok(problems.len())
}

/// The scene's `[cvars]`: a value for a cvar the engine defines must fit
/// it; any other name must be one a script of the scene registers (its name
/// appears quoted in one of them), else it is reported as unknown, with the
/// names it is close to.
fn check_cvars(scene: &Scene) -> Vec<String> {
    let cvars = zephyr_runtime::cvar::CVarRegistry::new();
    if let Err(e) = zephyr_runtime::register_engine_cvars(&cvars) {
        return vec![format!("{}: {e}", scene.path.display())];
    }
    let mentioned = |name: &str| {
        scene.scripts().iter().any(|script| {
            let text = script.text();
            [format!("\"{name}\""), format!("'{name}'")]
                .iter()
                .any(|quoted| text.windows(quoted.len()).any(|w| w == quoted.as_bytes()))
        })
    };
    let mut problems = Vec::new();
    for setting in scene.cvars() {
        if cvars.contains(&setting.name) {
            if let Err(e) = cvars.set_from_string(&setting.name, &setting.value) {
                problems.push(format!("{}: [cvars] {e}", setting.origin));
            }
        } else if !mentioned(&setting.name) {
            let mut problem = format!(
                "{}: [cvars] unknown cvar '{}': not built in, and no script of the scene registers it",
                setting.origin, setting.name
            );
            let suggestions = cvars.suggestions(&setting.name);
            if !suggestions.is_empty() {
                problem.push_str(&format!(" (did you mean: {}?)", suggestions.join(", ")));
            }
            problems.push(problem);
        }
    }
    problems
}

/// Where a script checked on its own finds its modules: its folder, and
/// the folder above it (it may be a behaviour of a scene there, whose
/// folder is the script root: `scripts/player.lua` requiring
/// `scripts.util`).
fn alone_roots(path: &Path) -> Vec<PathBuf> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = dir.canonicalize().unwrap_or(dir);
    dir.ancestors().take(2).map(Path::to_path_buf).collect()
}

/// `file:line: message` for scene errors that know their line.
fn located(file: &Path, message: &str) -> String {
    match message
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((line, rest)) if line.chars().all(|c| c.is_ascii_digit()) => {
            format!("{}:{line}: {rest}", file.display())
        }
        _ => format!("{}: {message}", file.display()),
    }
}

/// Compiles `source` without running it; a syntax error as `file:line: message`.
fn compile(name: &str, source: &[u8]) -> Option<String> {
    zephyr_runtime::check_syntax(source, name).err()
}
