//! Hot reload: new code for attached behaviours, and for the modules they
//! `require`, in place, keeping every instance's state.
//!
//! Reloading a behaviour script runs the new file in each instance's own
//! environment (as Defold does): its functions replace the old ones, its
//! globals that the new code does not reassign keep their values, its
//! top-level `local`s keep theirs ([`zephyr_lua::reload`]: the old and the
//! new closures share one variable per local; a changed initial value or a
//! function takes the new version's), and the callbacks are looked up
//! again; then `on_reload(self)` runs, if the script defines it. Tasks and
//! subscriptions the old version started are not cancelled: they run the
//! old functions until they end, over the same (kept) locals.
//!
//! Reloading a module re-runs its file in every environment that has
//! required it, keeping its top-level locals the same way; when the old
//! and the new module are tables, the new fields are copied into the old
//! table, so every `local util = require "util"` sees the new functions.
//! Those instances then get `on_reload(self)`. Locals a new version no
//! longer declares are named in [`ReloadReport::dropped_locals`].
//!
//! A new version that does not compile, or whose top-level code or
//! `on_reload` raises, changes nothing: the instance's environment is put
//! back as it was (a shallow copy), the old callbacks stay, and the error
//! is reported. Reloading again works.

use std::path::{Path, PathBuf};

use mlua::{Table, Value};

use super::instance::{Instance, callbacks_of, instance_error as failure, plain_error};
use super::types::ReloadReport;
use super::{Behaviours, home_state};
use crate::source::ScriptSource;
use crate::system::ScriptingSystem;
use zephyr_lua::ScriptError;
use zephyr_lua::ScriptState;

impl Behaviours {
    /// Reloads what the file at `path` is to the attached behaviours: the
    /// script of some of them, and/or a module some of them have required
    /// (a file under the script roots). The engine calls this from its file
    /// watcher, between frames; `zephyr run --watch` does. A path that is
    /// neither gives an empty report.
    pub fn reload(&mut self, system: &ScriptingSystem, path: &Path) -> ReloadReport {
        let mut report = ReloadReport::default();
        let wanted = canonical(path);
        let of_file: Vec<usize> = self
            .instances
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                !i.removed && i.cold.source.path().is_some_and(|p| canonical(p) == wanted)
            })
            .map(|(index, _)| index)
            .collect();
        let mut reloaded = Vec::new();
        if let Some(&first) = of_file.first() {
            match self.instances[first].cold.source.reread() {
                Ok(fresh) => {
                    for index in of_file {
                        match self.reload_instance(system, index, &fresh, &mut report) {
                            Reloaded::Yes => reloaded.push(index),
                            Reloaded::No => {}
                            // Every instance would say the same.
                            Reloaded::DoesNotCompile => break,
                        }
                    }
                    // Named only when some instance runs the new code.
                    if !reloaded.is_empty() {
                        report.scripts.push(fresh.name().to_owned());
                    }
                }
                Err(e) => report.errors.push(failure(
                    system,
                    &self.instances[first],
                    format!("reloading {}", self.instances[first].script),
                    plain_error(&self.instances[first].script, e.to_string()),
                )),
            }
        }
        // Prefabs (and scripts spawns read) run the new version from now
        // on, also when no instance of it is alive.
        match system.reread_spawn_scripts(path) {
            Some(Ok(name)) if !report.scripts.contains(&name) => report.scripts.push(name),
            Some(Err(e)) => report.errors.push(crate::behaviour::BehaviourError {
                behaviour: None,
                entity: None,
                entity_name: None,
                entity_label: None,
                during: "reloading a prefab's script".into(),
                error: Box::new(plain_error(&path.display().to_string(), e.to_string())),
            }),
            _ => {}
        }
        let roots = system.main_state().config().script_roots.clone();
        for module in module_names(&roots, &wanted) {
            let mut any = false;
            for index in 0..self.instances.len() {
                if self.instances[index].removed {
                    continue;
                }
                match self.reload_module(system, index, &module) {
                    Ok(None) => {}
                    Ok(Some(kept)) => {
                        any = true;
                        report.note_dropped(&module, kept.dropped);
                        if !reloaded.contains(&index) {
                            self.after_reload(system, index, &mut report);
                        }
                    }
                    Err(error) => report.errors.push(failure(
                        system,
                        &self.instances[index],
                        format!("reloading module {module}"),
                        error,
                    )),
                }
            }
            if any {
                report.modules.push(module);
            }
        }
        report
    }

    /// Runs the new version in one instance's environment; whether it took.
    fn reload_instance(
        &mut self,
        system: &ScriptingSystem,
        index: usize,
        fresh: &ScriptSource,
        report: &mut ReloadReport,
    ) -> Reloaded {
        let Behaviours {
            instances, lanes, ..
        } = self;
        let instance = &mut instances[index];
        let state = home_state(lanes, system, instance.home);
        let during = format!("reloading {}", fresh.name());
        let result = (|| {
            let chunk = state.compile_reloadable(fresh.text(), &fresh.lua_chunk_name())?;
            let saved = backup(state, &instance.env)?;
            let ran = {
                let _stream = state.enter_stream(&instance.random);
                state.run_reloadable(&chunk, &instance.env)
            };
            let kept = ran.and_then(|capture| {
                let kept = state.keep_locals(
                    instance.cold.capture.as_ref(),
                    capture.as_ref(),
                    &instance.env,
                )?;
                let callbacks = callbacks_of(&instance.env);
                on_reload(state, instance)?;
                Ok((callbacks, capture, kept))
            });
            kept.inspect_err(|_| restore(&instance.env, &saved))
        })();
        match result {
            Ok((callbacks, capture, kept)) => {
                instance.callbacks = callbacks;
                instance.cold.source = fresh.clone();
                instance.cold.capture = capture;
                report.instances += 1;
                report.note_dropped(fresh.name(), kept.dropped);
                Reloaded::Yes
            }
            Err(error) => {
                let syntax = error.kind == zephyr_lua::ScriptErrorKind::Syntax;
                report
                    .errors
                    .push(failure(system, &self.instances[index], during, error));
                if syntax {
                    Reloaded::DoesNotCompile
                } else {
                    Reloaded::No
                }
            }
        }
    }

    /// Re-runs module `name` in one instance's environment, if it has
    /// required it, keeping the module's top-level locals: what it kept,
    /// or `None` when the instance had not required it.
    fn reload_module(
        &self,
        system: &ScriptingSystem,
        index: usize,
        name: &str,
    ) -> std::result::Result<Option<zephyr_lua::reload::KeptLocals>, ScriptError> {
        let instance = &self.instances[index];
        let state = home_state(&self.lanes, system, instance.home);
        state.reload_module(&instance.env, name)
    }

    /// `on_reload(self)` after a module the instance uses was reloaded.
    fn after_reload(&mut self, system: &ScriptingSystem, index: usize, report: &mut ReloadReport) {
        let instance = &self.instances[index];
        let state = home_state(&self.lanes, system, instance.home);
        match on_reload(state, instance) {
            Ok(()) => report.instances += 1,
            Err(error) => report.errors.push(failure(
                system,
                instance,
                "callback on_reload".into(),
                error,
            )),
        }
    }
}

/// What reloading one instance did.
enum Reloaded {
    Yes,
    /// Its new top-level code or `on_reload` raised: rolled back.
    No,
    /// The new version does not compile (for any instance).
    DoesNotCompile,
}

/// Calls the instance's `on_reload`, if its environment defines one.
fn on_reload(state: &ScriptState, instance: &Instance) -> std::result::Result<(), ScriptError> {
    let Ok(Value::Function(function)) = instance.env.raw_get::<Value>("on_reload") else {
        return Ok(());
    };
    let _stream = state.enter_stream(&instance.random);
    match instance.entity {
        Some(entity) => state.call_unit(&function, entity.to_lua(), &instance.script),
        None => state.call_unit(&function, (), &instance.script),
    }
}

/// A shallow copy of an environment's own fields.
fn backup(state: &ScriptState, env: &Table) -> std::result::Result<Table, ScriptError> {
    let copy = (|| {
        let copy = state.lua().create_table()?;
        for pair in env.pairs::<Value, Value>() {
            let (key, value) = pair?;
            copy.raw_set(key, value)?;
        }
        Ok::<_, mlua::Error>(copy)
    })();
    copy.map_err(|e| ScriptError::from_lua(&e, "reload"))
}

/// Puts an environment's own fields back as `saved` had them.
fn restore(env: &Table, saved: &Table) {
    let keys: Vec<Value> = env
        .pairs::<Value, Value>()
        .filter_map(|pair| pair.ok().map(|(k, _)| k))
        .collect();
    for key in keys {
        if matches!(saved.raw_get::<Value>(key.clone()), Ok(Value::Nil)) {
            let _ = env.raw_set(key, Value::Nil);
        }
    }
    for (key, value) in saved.pairs::<Value, Value>().flatten() {
        let _ = env.raw_set(key, value);
    }
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// The module names `file` is under the script roots: `util.lua` is
/// `util`, `ai/path.lua` is `ai.path`, `ai/init.lua` is `ai`.
fn module_names(roots: &[PathBuf], file: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for root in roots {
        let Ok(relative) = file.strip_prefix(canonical(root)) else {
            continue;
        };
        let Some(text) = relative.to_str() else {
            continue;
        };
        let Some(stem) = text.strip_suffix(".lua") else {
            continue;
        };
        let stem = stem.strip_suffix("/init").unwrap_or(stem);
        let name = stem.replace(['/', '\\'], ".");
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_follow_require() {
        let root = std::env::temp_dir();
        let root = canonical(&root);
        let names = |rel: &str| module_names(std::slice::from_ref(&root), &root.join(rel));
        assert_eq!(names("util.lua"), ["util"]);
        assert_eq!(names("ai/path.lua"), ["ai.path"]);
        assert_eq!(names("ai/init.lua"), ["ai"]);
        assert!(names("notes.txt").is_empty());
        assert!(
            module_names(std::slice::from_ref(&root), Path::new("/elsewhere/x.lua")).is_empty()
        );
    }
}
