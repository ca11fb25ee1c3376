//! [`ScriptSource`]: a script's text and the chunk name its errors show,
//! what behaviours and prefabs are made from.

use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use zephyr_lua::chunk::file_source;

/// A script's text and the chunk name its errors show.
///
/// ```
/// use zephyr_runtime::ScriptSource;
/// let script = ScriptSource::new("spin.lua", "function on_update(self, dt) end");
/// assert_eq!(script.name(), "spin.lua");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptSource {
    name: Arc<str>,
    text: Arc<[u8]>,
    /// Read from a file: Lua names the chunk `@name`, as `lua` does (what
    /// `debug.getinfo(f).source` shows).
    file: bool,
    /// The file it was read from, for [`Behaviours::reload`](crate::Behaviours::reload).
    path: Option<Arc<Path>>,
    /// The code [`with_prelude`](Self::with_prelude) wrote before it (kept
    /// across a reload).
    prelude: Option<Arc<str>>,
}

impl ScriptSource {
    /// A script from text, taken as it is.
    pub fn new(name: impl Into<Arc<str>>, text: impl AsRef<[u8]>) -> Self {
        ScriptSource {
            name: name.into(),
            text: Arc::from(text.as_ref()),
            file: false,
            path: None,
            prelude: None,
        }
    }

    /// Reads a script file as bytes, as `lua` does (see
    /// [`file_source`](crate::file_source): a UTF-8 BOM and a `#!` first line
    /// are skipped); `name` is the chunk name errors show.
    pub fn from_file(path: &Path, name: impl Into<Arc<str>>) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(ScriptSource {
            file: true,
            path: Some(Arc::from(path)),
            ..ScriptSource::new(name, file_source(&bytes))
        })
    }

    /// The same script with `code` written before its first line, on that
    /// line (so line numbers stay): how `zephyr run --prelude` sets globals
    /// before a script runs.
    pub fn with_prelude(&self, code: &str) -> Self {
        let mut text = Vec::with_capacity(code.len() + 1 + self.text.len());
        text.extend_from_slice(code.as_bytes());
        text.push(b' ');
        text.extend_from_slice(&self.text);
        ScriptSource {
            text: Arc::from(text),
            prelude: Some(Arc::from(code)),
            ..self.clone()
        }
    }

    /// The file the script was read from ([`from_file`](Self::from_file)).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The script as its file reads now (with the same name and prelude).
    pub fn reread(&self) -> Result<Self> {
        let path = self.path.as_deref().ok_or_else(|| Error::Io {
            path: self.name.to_string(),
            message: "the script was not read from a file".into(),
        })?;
        let fresh = ScriptSource::from_file(path, self.name.clone())?;
        Ok(match &self.prelude {
            Some(code) => fresh.with_prelude(code),
            None => fresh,
        })
    }

    /// The chunk name as Lua takes it (`@file.lua` for a file).
    pub(crate) fn lua_chunk_name(&self) -> std::borrow::Cow<'_, str> {
        if self.file {
            format!("@{}", self.name).into()
        } else {
            std::borrow::Cow::Borrowed(&self.name)
        }
    }

    /// The chunk name, shared.
    pub(crate) fn shared_name(&self) -> Arc<str> {
        self.name.clone()
    }

    /// The chunk name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The source text.
    pub fn text(&self) -> &[u8] {
        &self.text
    }
}
