//! The crate's error type and how each error ends the process.

use std::path::PathBuf;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a `zephyr` command stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad command-line usage (exit status 2).
    #[error("{0}")]
    Usage(String),
    /// A scene, input or script file that cannot be used, found before
    /// anything ran (exit status 2).
    #[error("{file}: {message}")]
    BadFile {
        /// The file.
        file: PathBuf,
        /// What is wrong, with the line or entity and key when known.
        message: String,
    },
    /// A script that fails to load (a syntax error, or its main chunk
    /// raises), found before any frame ran (exit status 2). The message
    /// names the file and line, and the entity when there is one.
    #[error("{0}")]
    ScriptLoad(String),
    /// A script error with `--strict` (exit status 1).
    #[error("stopped at the first script error (--strict)")]
    Strict,
    /// `zephyr check` found problems (exit status 1).
    #[error("{0} problem(s) found")]
    CheckFailed(usize),
    /// The scripting runtime failed to start.
    #[error(transparent)]
    Runtime(#[from] zephyr_runtime::Error),
}

impl Error {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::BadFile { .. } | Error::ScriptLoad(_) => 2,
            Error::Strict | Error::CheckFailed(_) | Error::Runtime(_) => 1,
        }
    }

    pub(crate) fn bad_file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::BadFile {
            file: file.into(),
            message: message.into(),
        }
    }
}
