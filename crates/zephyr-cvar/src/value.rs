//! A cvar's type, typed value, string form, flags and definition.

use std::fmt;

use crate::error::{Error, Result};

/// The type of a cvar, fixed when it is registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CVarKind {
    /// `true` / `false` (also accepts `1` / `0` when set).
    Bool,
    /// A 64-bit signed integer.
    Int,
    /// A finite 64-bit float; its string form always has a decimal point.
    Float,
    /// Any text without NUL bytes.
    String,
}

impl CVarKind {
    /// The lowercase name used in messages (`bool`, `int`, `float`, `string`).
    pub fn name(self) -> &'static str {
        match self {
            CVarKind::Bool => "bool",
            CVarKind::Int => "int",
            CVarKind::Float => "float",
            CVarKind::String => "string",
        }
    }

    pub(crate) fn article(self) -> &'static str {
        match self {
            CVarKind::Bool => "a bool (true/false/1/0)",
            CVarKind::Int => "an int",
            CVarKind::Float => "a float",
            CVarKind::String => "a string",
        }
    }
}

impl fmt::Display for CVarKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A typed cvar value.
///
/// Its [`Display`](fmt::Display) form is the canonical string form that
/// `get_as_string`, change events and config files use.
///
/// ```
/// use zephyr_cvar::{CVarKind, CVarValue};
/// assert_eq!(CVarValue::Float(90.0).to_string(), "90.0");
/// assert_eq!(CVarValue::parse("r_vsync", CVarKind::Bool, "1")?, CVarValue::Bool(true));
/// # Ok::<(), zephyr_cvar::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum CVarValue {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A finite float.
    Float(f64),
    /// Text.
    String(String),
}

impl CVarValue {
    /// The value's type.
    pub fn kind(&self) -> CVarKind {
        match self {
            CVarValue::Bool(_) => CVarKind::Bool,
            CVarValue::Int(_) => CVarKind::Int,
            CVarValue::Float(_) => CVarKind::Float,
            CVarValue::String(_) => CVarKind::String,
        }
    }

    /// Parses `text` as a value of `kind` for the cvar `name` (used in errors).
    ///
    /// Booleans accept `true`, `false`, `1` and `0`; ints accept integer literals
    /// only; floats accept any finite number; strings refuse NUL bytes.
    pub fn parse(name: &str, kind: CVarKind, text: &str) -> Result<Self> {
        let invalid = || Error::InvalidValue {
            name: name.to_owned(),
            kind,
            value: text.to_owned(),
        };
        if text.contains('\0') {
            return Err(Error::NulByte {
                name: name.to_owned(),
            });
        }
        let trimmed = text.trim();
        Ok(match kind {
            CVarKind::Bool => match trimmed {
                "true" | "1" => CVarValue::Bool(true),
                "false" | "0" => CVarValue::Bool(false),
                _ => return Err(invalid()),
            },
            CVarKind::Int => CVarValue::Int(trimmed.parse().map_err(|_| invalid())?),
            CVarKind::Float => {
                let v: f64 = trimmed.parse().map_err(|_| invalid())?;
                if !v.is_finite() {
                    return Err(invalid());
                }
                CVarValue::Float(v)
            }
            CVarKind::String => CVarValue::String(text.to_owned()),
        })
    }

    /// The value as a number, for range checks (`None` for bools and strings).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            CVarValue::Int(i) => Some(*i as f64),
            CVarValue::Float(f) => Some(*f),
            _ => None,
        }
    }
}

impl fmt::Display for CVarValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CVarValue::Bool(b) => write!(f, "{b}"),
            CVarValue::Int(i) => write!(f, "{i}"),
            // `{:?}` keeps the decimal point of integral floats: 90.0, not 90.
            CVarValue::Float(v) => write!(f, "{v:?}"),
            CVarValue::String(s) => f.write_str(s),
        }
    }
}

impl From<bool> for CVarValue {
    fn from(v: bool) -> Self {
        CVarValue::Bool(v)
    }
}
impl From<i64> for CVarValue {
    fn from(v: i64) -> Self {
        CVarValue::Int(v)
    }
}
impl From<i32> for CVarValue {
    fn from(v: i32) -> Self {
        CVarValue::Int(v.into())
    }
}
impl From<f64> for CVarValue {
    fn from(v: f64) -> Self {
        CVarValue::Float(v)
    }
}
impl From<&str> for CVarValue {
    fn from(v: &str) -> Self {
        CVarValue::String(v.to_owned())
    }
}
impl From<String> for CVarValue {
    fn from(v: String) -> Self {
        CVarValue::String(v)
    }
}

bitflags::bitflags! {
    /// Behaviour flags of a cvar (Source's `FCVAR_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct CVarFlags: u32 {
        /// Saved to and loaded from the config file (`seta`).
        const ARCHIVE = 1;
        /// Cannot be set or reset after registration.
        const READ_ONLY = 1 << 1;
        /// Can only change while `sv_cheats` is `true`.
        const CHEAT = 1 << 2;
    }
}

impl CVarFlags {
    /// Flag names as shown by `cvarlist` (`archive`, `read_only`, `cheat`).
    pub fn names(self) -> Vec<&'static str> {
        self.iter_names()
            .map(|(name, _)| match name {
                "ARCHIVE" => "archive",
                "READ_ONLY" => "read_only",
                _ => "cheat",
            })
            .collect()
    }
}

/// How a cvar is registered: name, default value (which fixes its type), help
/// text, flags and optional numeric range.
///
/// ```
/// use zephyr_cvar::{CVarDef, CVarFlags};
/// let def = CVarDef::new("r_fov", 75.0)
///     .help("Field of view in degrees")
///     .flags(CVarFlags::ARCHIVE)
///     .range(30.0, 120.0);
/// assert_eq!(def.max, Some(120.0));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a CVarDef does nothing until it is registered"]
pub struct CVarDef {
    /// The cvar's name.
    pub name: String,
    /// Its default value; the value's type is the cvar's type.
    pub default: CVarValue,
    /// One line of help for `help` and `cvarlist`. Default: empty.
    pub help: String,
    /// Flags. Default: none.
    pub flags: CVarFlags,
    /// Lowest allowed value for int and float cvars. Default: unbounded.
    pub min: Option<f64>,
    /// Highest allowed value for int and float cvars. Default: unbounded.
    pub max: Option<f64>,
}

impl CVarDef {
    /// A definition with no help, no flags and no range.
    pub fn new(name: impl Into<String>, default: impl Into<CVarValue>) -> Self {
        CVarDef {
            name: name.into(),
            default: default.into(),
            help: String::new(),
            flags: CVarFlags::empty(),
            min: None,
            max: None,
        }
    }

    /// Sets the help text.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    /// Sets the flags.
    pub fn flags(mut self, flags: CVarFlags) -> Self {
        self.flags = flags;
        self
    }

    /// Sets the allowed numeric range (inclusive).
    pub fn range(mut self, min: f64, max: f64) -> Self {
        self.min = Some(min);
        self.max = Some(max);
        self
    }

    /// Checks the definition itself: a valid name, a finite default without
    /// NUL bytes, inside the range.
    pub fn check(&self) -> Result<()> {
        check_name(&self.name)?;
        match &self.default {
            CVarValue::Float(v) if !v.is_finite() => {
                return Err(Error::InvalidValue {
                    name: self.name.clone(),
                    kind: CVarKind::Float,
                    value: v.to_string(),
                });
            }
            CVarValue::String(s) if s.contains('\0') => {
                return Err(Error::NulByte {
                    name: self.name.clone(),
                });
            }
            _ => {}
        }
        self.check_range(&self.default)
    }

    /// Parses `text` as a value of this cvar: its type and its range.
    pub fn parse_value(&self, text: &str) -> Result<CVarValue> {
        let value = CVarValue::parse(&self.name, self.default.kind(), text)?;
        self.check_range(&value)?;
        Ok(value)
    }

    /// Checks `value` against the range; `Ok` for non-numeric values.
    pub(crate) fn check_range(&self, value: &CVarValue) -> Result<()> {
        let Some(v) = value.as_f64() else {
            return Ok(());
        };
        let (min, max) = (
            self.min.unwrap_or(f64::NEG_INFINITY),
            self.max.unwrap_or(f64::INFINITY),
        );
        if v < min || v > max {
            return Err(Error::OutOfRange {
                name: self.name.clone(),
                value: value.to_string(),
                min,
                max,
            });
        }
        Ok(())
    }
}

/// Whether `name` is a valid cvar or command name.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName {
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_string_form_keeps_the_decimal_point() {
        assert_eq!(CVarValue::Float(90.0).to_string(), "90.0");
        assert_eq!(CVarValue::Float(75.5).to_string(), "75.5");
        assert_eq!(CVarValue::Float(-0.25).to_string(), "-0.25");
        let parsed = CVarValue::parse("x", CVarKind::Float, "90").unwrap();
        assert_eq!(parsed.to_string(), "90.0");
    }

    #[test]
    fn parse_refuses_what_does_not_fit_the_type() {
        assert!(matches!(
            CVarValue::parse("x", CVarKind::Int, "1.5"),
            Err(Error::InvalidValue { .. })
        ));
        assert!(CVarValue::parse("x", CVarKind::Float, "nan").is_err());
        assert!(CVarValue::parse("x", CVarKind::Float, "inf").is_err());
        assert!(CVarValue::parse("x", CVarKind::Bool, "yes").is_err());
        assert!(matches!(
            CVarValue::parse("x", CVarKind::String, "a\0b"),
            Err(Error::NulByte { .. })
        ));
        assert_eq!(
            CVarValue::parse("x", CVarKind::Bool, "0").unwrap(),
            CVarValue::Bool(false)
        );
        assert_eq!(
            CVarValue::parse("x", CVarKind::String, "").unwrap(),
            CVarValue::String(String::new())
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("r_fov").is_ok());
        assert!(check_name("mod.speed-2").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("has space").is_err());
        assert!(check_name("semi;colon").is_err());
    }
}
