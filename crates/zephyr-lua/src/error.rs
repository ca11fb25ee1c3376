//! The crate's error type.

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What building or using a Lua state can fail with (a script's own failure
/// is a [`ScriptError`](crate::ScriptError)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A Lua state could not allocate (it hit its memory limit or the
    /// allocator failed) outside of a script, for example while being built.
    #[error("out of memory: {0}")]
    OutOfMemory(String),
    /// An error from mlua while building a state or its API.
    #[error("lua: {0}")]
    Lua(#[from] mlua::Error),
}
