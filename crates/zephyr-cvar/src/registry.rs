//! The thread-safe cvar registry: registration, typed set/get, reset and
//! the ordered list of pending change events.

use std::collections::BTreeMap;

use parking_lot::RwLock;

use crate::error::{Error, Result, suggest};
use crate::value::{CVarDef, CVarFlags, CVarKind, CVarValue};

/// One change of a cvar's value, as returned by
/// [`CVarRegistry::take_pending_changes`] (the reference's change event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CVarChange {
    /// The cvar's name.
    pub name: String,
    /// The value before the change, in string form.
    pub old: String,
    /// The value after the change, in string form.
    pub new: String,
}

/// A snapshot of one cvar, for listings and help.
#[derive(Debug, Clone, PartialEq)]
pub struct CVarInfo {
    /// The cvar's name.
    pub name: String,
    /// Its type.
    pub kind: CVarKind,
    /// Its current value.
    pub value: CVarValue,
    /// Its default value.
    pub default: CVarValue,
    /// Its help text.
    pub help: String,
    /// Its flags.
    pub flags: CVarFlags,
    /// Its numeric range, if any.
    pub min: Option<f64>,
    /// Its numeric range, if any.
    pub max: Option<f64>,
}

#[derive(Debug)]
struct Entry {
    def: CVarDef,
    value: CVarValue,
}

#[derive(Debug, Default)]
struct Inner {
    vars: BTreeMap<String, Entry>,
    pending: Vec<CVarChange>,
    /// Values given before their cvar was registered (command-line `--set`,
    /// a scene's `[cvars]`): the text and where it came from.
    presets: BTreeMap<String, (String, String)>,
    /// How many times an ARCHIVE cvar's value changed.
    archive_changes: u64,
}

/// A value given for a cvar that was never registered (see
/// [`CVarRegistry::unused_presets`]): most often a typo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusedPreset {
    /// The name given.
    pub name: String,
    /// The value given.
    pub value: String,
    /// Where it came from (`scene.toml:4`, `--set`), as the caller said.
    pub origin: String,
    /// Registered names close to it, best first.
    pub suggestions: Vec<String>,
}

/// The name of the built-in cvar that unlocks `CHEAT` cvars.
pub(crate) const SV_CHEATS: &str = "sv_cheats";

/// All cvars of an engine.
///
/// # Thread safety
///
/// The registry is `Send + Sync` and every method takes `&self`: reads
/// (`get`, `get_as_string`, `info`, `list`) are safe from any thread. By the
/// engine's rule, *writes* happen on the main thread only; scripts on worker
/// threads send their writes as actions that `ScriptingSystem::update()` applies.
/// Locks are held only inside each call, never across user code.
#[derive(Debug)]
pub struct CVarRegistry {
    inner: RwLock<Inner>,
}

impl Default for CVarRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl CVarRegistry {
    /// A registry holding only the built-in `sv_cheats` (bool, default `false`).
    pub fn new() -> Self {
        let registry = CVarRegistry {
            inner: RwLock::new(Inner::default()),
        };
        registry
            .register(CVarDef::new(SV_CHEATS, false).help("Allows changing cvars flagged CHEAT"))
            .unwrap_or_else(|_| unreachable!("sv_cheats is a valid definition"));
        registry
    }

    /// Registers a cvar with its default value.
    ///
    /// Registering a name again with the same type keeps the existing cvar and
    /// its current value (so scripts can declare the cvars they use on every
    /// load, as Garry's Mod's `CreateConVar` does); another type is an error.
    pub fn register(&self, def: CVarDef) -> Result<()> {
        def.check()?;
        let mut inner = self.inner.write();
        if let Some(existing) = inner.vars.get(&def.name) {
            let kind = existing.def.default.kind();
            return if kind == def.default.kind() {
                Ok(())
            } else {
                Err(Error::AlreadyRegistered {
                    name: def.name,
                    kind,
                })
            };
        }
        let mut value = def.default.clone();
        if let Some((text, origin)) = inner.presets.remove(&def.name) {
            match def.parse_value(&text) {
                Ok(preset) => value = preset,
                Err(e) => tracing::warn!(
                    target: "zephyr::cvar",
                    "{}preset value ignored: {e}",
                    if origin.is_empty() { String::new() } else { format!("{origin}: ") }
                ),
            }
        }
        inner.vars.insert(def.name.clone(), Entry { def, value });
        Ok(())
    }

    /// Whether a cvar of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.inner.read().vars.contains_key(name)
    }

    /// The current value.
    pub fn get(&self, name: &str) -> Option<CVarValue> {
        self.inner.read().vars.get(name).map(|e| e.value.clone())
    }

    /// The current value in string form (the reference's `getAsStringAlloc`).
    pub fn get_as_string(&self, name: &str) -> Option<String> {
        self.inner
            .read()
            .vars
            .get(name)
            .map(|e| e.value.to_string())
    }

    /// The current value, or an [`Error::UnknownCVar`] with suggestions.
    pub fn value(&self, name: &str) -> Result<CVarValue> {
        let inner = self.inner.read();
        inner
            .vars
            .get(name)
            .map(|e| e.value.clone())
            .ok_or_else(|| unknown(&inner, name))
    }

    /// A float or int cvar as `f64` (`None` when missing or not numeric).
    pub fn get_f64(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(|v| v.as_f64())
    }

    /// A bool cvar (`None` when missing or not a bool).
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(CVarValue::Bool(b)) => Some(b),
            _ => None,
        }
    }

    /// Everything about one cvar.
    pub fn info(&self, name: &str) -> Option<CVarInfo> {
        self.inner.read().vars.get(name).map(info_of)
    }

    /// Every cvar whose name starts with `prefix`, sorted by name.
    pub fn list(&self, prefix: &str) -> Vec<CVarInfo> {
        self.inner
            .read()
            .vars
            .range(prefix.to_owned()..)
            .take_while(|(name, _)| name.starts_with(prefix))
            .map(|(_, e)| info_of(e))
            .collect()
    }

    /// All registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.inner.read().vars.keys().cloned().collect()
    }

    /// Checks that `text` would be accepted by [`set_from_string`](Self::set_from_string)
    /// without changing anything; returns the canonical string form.
    pub fn validate(&self, name: &str, text: &str) -> Result<String> {
        let inner = self.inner.read();
        Ok(checked_value(&inner, name, text)?.to_string())
    }

    /// [`validate`](Self::validate) for a cvar defined by `def` but not
    /// registered yet (a worker job's `cvar.register`, applied later): its
    /// type, range and flags (`READ_ONLY`; `CHEAT` while `sv_cheats` is off).
    pub fn validate_unregistered(&self, def: &CVarDef, text: &str) -> Result<String> {
        let inner = self.inner.read();
        let entry = Entry {
            def: def.clone(),
            value: def.default.clone(),
        };
        check_writable(&inner, &entry)?;
        Ok(def.parse_value(text)?.to_string())
    }

    /// Sets a cvar from text, validating type, range and flags.
    ///
    /// Returns whether the value changed. A change is recorded as a pending
    /// [`CVarChange`]; setting the current value again records nothing. A
    /// refused value leaves the cvar and the pending list untouched.
    pub fn set_from_string(&self, name: &str, text: &str) -> Result<bool> {
        let mut inner = self.inner.write();
        let value = checked_value(&inner, name, text)?;
        Ok(store(&mut inner, name, value))
    }

    /// Sets a registered cvar, or keeps the value for a cvar that is not
    /// registered yet and gives it to that cvar when it is (a value that does
    /// not fit its type then is ignored with a warning). This is how a
    /// command line sets cvars that a script registers later.
    pub fn set_or_preset(&self, name: &str, text: &str) -> Result<()> {
        self.set_or_preset_from(name, text, "")
    }

    /// [`set_or_preset`](Self::set_or_preset), remembering where the value
    /// came from (`scene.toml:4`, `--set`) for the warning a bad preset gets
    /// at registration and for [`unused_presets`](Self::unused_presets).
    pub fn set_or_preset_from(&self, name: &str, text: &str, origin: &str) -> Result<()> {
        if self.contains(name) {
            return self.set_from_string(name, text).map(drop);
        }
        crate::value::check_name(name)?;
        if text.contains('\0') {
            return Err(Error::NulByte {
                name: name.to_owned(),
            });
        }
        self.inner
            .write()
            .presets
            .insert(name.to_owned(), (text.to_owned(), origin.to_owned()));
        Ok(())
    }

    /// Values preset for names that were never registered, in name order,
    /// each with the registered names close to it: what a host reports at
    /// the end of a run (a typo in `--set` or a scene's `[cvars]`).
    pub fn unused_presets(&self) -> Vec<UnusedPreset> {
        let inner = self.inner.read();
        inner
            .presets
            .iter()
            .map(|(name, (value, origin))| UnusedPreset {
                name: name.clone(),
                value: value.clone(),
                origin: origin.clone(),
                suggestions: suggest(name, inner.vars.keys().map(String::as_str)),
            })
            .collect()
    }

    /// Sets a cvar back to its default (refused for `READ_ONLY`, and for
    /// `CHEAT` while `sv_cheats` is off). Returns whether the value changed.
    pub fn reset(&self, name: &str) -> Result<bool> {
        let mut inner = self.inner.write();
        let entry = inner.vars.get(name).ok_or_else(|| unknown(&inner, name))?;
        check_writable(&inner, entry)?;
        let value = entry.def.default.clone();
        Ok(store(&mut inner, name, value))
    }

    /// Takes every change recorded since the last call, in the order they
    /// happened.
    pub fn take_pending_changes(&self) -> Vec<CVarChange> {
        std::mem::take(&mut self.inner.write().pending)
    }

    /// How many changes are waiting to be taken.
    pub fn pending_len(&self) -> usize {
        self.inner.read().pending.len()
    }

    /// How many times an ARCHIVE cvar's value has changed since the
    /// registry was made (through [`set_from_string`](Self::set_from_string)
    /// or [`reset`](Self::reset); registering with a preset value is not a
    /// change). A host that saves settings compares two readings: any
    /// difference means a player's setting changed in between.
    pub fn archive_changes(&self) -> u64 {
        self.inner.read().archive_changes
    }

    /// Archived cvars as `(name, value)` pairs, sorted by name.
    pub(crate) fn archived(&self) -> Vec<(String, String)> {
        self.inner
            .read()
            .vars
            .values()
            .filter(|e| e.def.flags.contains(CVarFlags::ARCHIVE))
            .map(|e| (e.def.name.clone(), e.value.to_string()))
            .collect()
    }

    /// Suggestions of registered names close to `name`.
    pub fn suggestions(&self, name: &str) -> Vec<String> {
        let inner = self.inner.read();
        suggest(name, inner.vars.keys().map(String::as_str))
    }
}

fn info_of(e: &Entry) -> CVarInfo {
    CVarInfo {
        name: e.def.name.clone(),
        kind: e.def.default.kind(),
        value: e.value.clone(),
        default: e.def.default.clone(),
        help: e.def.help.clone(),
        flags: e.def.flags,
        min: e.def.min,
        max: e.def.max,
    }
}

fn unknown(inner: &Inner, name: &str) -> Error {
    Error::UnknownCVar {
        name: name.to_owned(),
        suggestions: suggest(name, inner.vars.keys().map(String::as_str)),
    }
}

fn check_writable(inner: &Inner, entry: &Entry) -> Result<()> {
    let flags = entry.def.flags;
    if flags.contains(CVarFlags::READ_ONLY) {
        return Err(Error::ReadOnly {
            name: entry.def.name.clone(),
        });
    }
    let cheats = matches!(
        inner.vars.get(SV_CHEATS).map(|e| &e.value),
        Some(CVarValue::Bool(true))
    );
    if flags.contains(CVarFlags::CHEAT) && !cheats {
        return Err(Error::CheatProtected {
            name: entry.def.name.clone(),
        });
    }
    Ok(())
}

fn checked_value(inner: &Inner, name: &str, text: &str) -> Result<CVarValue> {
    let entry = inner.vars.get(name).ok_or_else(|| unknown(inner, name))?;
    check_writable(inner, entry)?;
    entry.def.parse_value(text)
}

/// Stores an already validated value, recording a change when it differs.
fn store(inner: &mut Inner, name: &str, value: CVarValue) -> bool {
    let Some(entry) = inner.vars.get_mut(name) else {
        return false;
    };
    if entry.value == value {
        return false;
    }
    let old = std::mem::replace(&mut entry.value, value);
    let archived = entry.def.flags.contains(CVarFlags::ARCHIVE);
    let change = CVarChange {
        name: name.to_owned(),
        old: old.to_string(),
        new: entry.value.to_string(),
    };
    inner.pending.push(change);
    if archived {
        inner.archive_changes += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    static_assertions::assert_impl_all!(CVarRegistry: Send, Sync);

    fn registry() -> CVarRegistry {
        let r = CVarRegistry::new();
        r.register(CVarDef::new("r_fov", 75.0).range(30.0, 120.0))
            .unwrap();
        r.register(CVarDef::new("r_vsync", true)).unwrap();
        r.register(CVarDef::new("sv_maxplayers", 8).range(1.0, 64.0))
            .unwrap();
        r.register(CVarDef::new("name", "player")).unwrap();
        r
    }

    #[test]
    fn changes_come_out_in_order_with_string_forms() {
        let r = registry();
        assert!(r.set_from_string("r_fov", "90").unwrap());
        assert!(r.set_from_string("r_vsync", "0").unwrap());
        assert!(r.set_from_string("r_fov", "100.5").unwrap());
        let changes = r.take_pending_changes();
        let got: Vec<_> = changes
            .iter()
            .map(|c| (c.name.as_str(), c.old.as_str(), c.new.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("r_fov", "75.0", "90.0"),
                ("r_vsync", "true", "false"),
                ("r_fov", "90.0", "100.5")
            ]
        );
        assert!(r.take_pending_changes().is_empty());
    }

    #[test]
    fn changes_of_archived_cvars_are_counted() {
        let r = registry();
        r.register(CVarDef::new("ui_volume", 0.5).flags(CVarFlags::ARCHIVE))
            .unwrap();
        assert_eq!(r.archive_changes(), 0);
        r.set_from_string("r_fov", "90").unwrap();
        assert_eq!(r.archive_changes(), 0, "r_fov is not archived");
        r.set_from_string("ui_volume", "0.5").unwrap();
        assert_eq!(r.archive_changes(), 0, "the same value is no change");
        r.set_from_string("ui_volume", "0.75").unwrap();
        r.reset("ui_volume").unwrap();
        assert_eq!(r.archive_changes(), 2);
        r.set_or_preset("later", "3").unwrap();
        r.register(CVarDef::new("later", 1).flags(CVarFlags::ARCHIVE))
            .unwrap();
        assert_eq!(r.archive_changes(), 2, "a preset applied at registration");
    }

    #[test]
    fn a_refused_value_changes_nothing_and_records_nothing() {
        let r = registry();
        let bad = [
            ("r_fov", "abc"),
            ("r_fov", "500"),
            ("sv_maxplayers", "2.5"),
            ("sv_maxplayers", "0"),
            ("r_vsync", "maybe"),
            ("name", "a\0b"),
        ];
        for (name, value) in bad {
            let before = r.get_as_string(name);
            assert!(r.set_from_string(name, value).is_err(), "{name}={value}");
            assert_eq!(r.get_as_string(name), before);
        }
        assert_eq!(r.pending_len(), 0);
        let err = r.set_from_string("r_fov", "abc").unwrap_err();
        assert_eq!(err.to_string(), "cvar 'r_fov' expects a float, got 'abc'");
    }

    #[test]
    fn setting_the_same_value_records_no_change() {
        let r = registry();
        assert!(!r.set_from_string("r_fov", "75").unwrap());
        assert_eq!(r.pending_len(), 0);
    }

    #[test]
    fn unknown_cvars_are_never_created_and_get_suggestions() {
        let r = registry();
        let err = r.set_from_string("r_fob", "1").unwrap_err();
        assert!(
            matches!(&err, Error::UnknownCVar { suggestions, .. } if suggestions.contains(&"r_fov".to_string()))
        );
        assert!(err.to_string().contains("did you mean: r_fov"));
        assert!(!r.contains("r_fob"));
    }

    #[test]
    fn flags_guard_writes() {
        let r = registry();
        r.register(CVarDef::new("version", "1.0").flags(CVarFlags::READ_ONLY))
            .unwrap();
        r.register(CVarDef::new("god", false).flags(CVarFlags::CHEAT))
            .unwrap();
        assert!(matches!(
            r.set_from_string("version", "2"),
            Err(Error::ReadOnly { .. })
        ));
        assert!(matches!(r.reset("version"), Err(Error::ReadOnly { .. })));
        assert!(matches!(
            r.set_from_string("god", "true"),
            Err(Error::CheatProtected { .. })
        ));
        r.set_from_string(SV_CHEATS, "true").unwrap();
        assert!(r.set_from_string("god", "true").unwrap());
    }

    #[test]
    fn reset_restores_the_default_and_records_it() {
        let r = registry();
        r.set_from_string("sv_maxplayers", "16").unwrap();
        r.take_pending_changes();
        assert!(r.reset("sv_maxplayers").unwrap());
        assert_eq!(r.get("sv_maxplayers"), Some(CVarValue::Int(8)));
        let c = r.take_pending_changes();
        assert_eq!((c[0].old.as_str(), c[0].new.as_str()), ("16", "8"));
    }

    #[test]
    fn register_again_keeps_the_value_or_refuses_another_type() {
        let r = registry();
        r.set_from_string("r_fov", "90").unwrap();
        r.register(CVarDef::new("r_fov", 60.0)).unwrap();
        assert_eq!(r.get_as_string("r_fov").as_deref(), Some("90.0"));
        assert!(matches!(
            r.register(CVarDef::new("r_fov", "wide")),
            Err(Error::AlreadyRegistered { .. })
        ));
        assert!(r.register(CVarDef::new("bad name", 1)).is_err());
        assert!(r.register(CVarDef::new("x", f64::NAN)).is_err());
        assert!(
            r.register(CVarDef::new("y", 500.0).range(0.0, 1.0))
                .is_err()
        );
    }

    #[test]
    fn presets_wait_for_registration() {
        let r = registry();
        r.set_or_preset("mod_speed", "3.5").unwrap();
        r.set_or_preset("mod_lives", "many").unwrap();
        r.set_or_preset("r_fov", "90").unwrap();
        assert_eq!(r.get_as_string("r_fov").as_deref(), Some("90.0"));
        assert!(!r.contains("mod_speed"));
        r.register(CVarDef::new("mod_speed", 1.0)).unwrap();
        r.register(CVarDef::new("mod_lives", 3)).unwrap();
        assert_eq!(r.get_as_string("mod_speed").as_deref(), Some("3.5"));
        assert_eq!(
            r.get_as_string("mod_lives").as_deref(),
            Some("3"),
            "a preset that does not fit is ignored"
        );
        assert!(r.set_or_preset("bad name", "1").is_err());
        assert!(
            r.unused_presets().is_empty(),
            "registration consumes presets"
        );
    }

    #[test]
    fn presets_never_registered_are_listed_with_their_origin_and_suggestions() {
        let r = registry();
        r.set_or_preset_from("r_fvo", "90", "--set").unwrap();
        r.set_or_preset_from("zz_unheard", "1", "scene.toml:4")
            .unwrap();
        let unused = r.unused_presets();
        assert_eq!(unused.len(), 2);
        assert_eq!(
            (
                unused[0].name.as_str(),
                unused[0].origin.as_str(),
                unused[0].suggestions.as_slice()
            ),
            ("r_fvo", "--set", &["r_fov".to_owned()][..])
        );
        assert_eq!(unused[1].origin, "scene.toml:4");
        assert!(unused[1].suggestions.is_empty());
    }

    #[test]
    fn list_filters_by_prefix() {
        let r = registry();
        let names: Vec<_> = r.list("r_").into_iter().map(|i| i.name).collect();
        assert_eq!(names, ["r_fov", "r_vsync"]);
        assert_eq!(r.list("").len(), 5);
    }
}
