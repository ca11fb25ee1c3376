//! The crate's error type.

use std::path::PathBuf;

use crate::value::CVarKind;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong with cvars, console commands and config files.
///
/// Every message names the cvar or command it is about, so it can be shown to a
/// player or modder as it is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No cvar of that name is registered (cvars are never created by `set`).
    #[error("unknown cvar '{name}'{}", did_you_mean(suggestions))]
    UnknownCVar {
        /// The name that was asked for.
        name: String,
        /// Registered names close to it.
        suggestions: Vec<String>,
    },
    /// A cvar of that name already exists with another type.
    #[error("cvar '{name}' is already registered as {kind}")]
    AlreadyRegistered {
        /// The cvar's name.
        name: String,
        /// The type it was registered with.
        kind: CVarKind,
    },
    /// A cvar or command name that is empty or has characters other than
    /// ASCII letters, digits, `_`, `.` and `-`.
    #[error("invalid name '{name}': use letters, digits, '_', '.' or '-'")]
    InvalidName {
        /// The refused name.
        name: String,
    },
    /// A value that does not parse as the cvar's type.
    #[error("cvar '{name}' expects {}, got '{value}'", kind.article())]
    InvalidValue {
        /// The cvar's name.
        name: String,
        /// The cvar's type.
        kind: CVarKind,
        /// The refused text.
        value: String,
    },
    /// A numeric value outside the cvar's `min..=max`.
    #[error("cvar '{name}' must be between {min} and {max}, got {value}")]
    OutOfRange {
        /// The cvar's name.
        name: String,
        /// The refused value as text.
        value: String,
        /// Lowest allowed value (`-inf` when unbounded).
        min: f64,
        /// Highest allowed value (`inf` when unbounded).
        max: f64,
    },
    /// The cvar has the `READ_ONLY` flag.
    #[error("cvar '{name}' is read-only")]
    ReadOnly {
        /// The cvar's name.
        name: String,
    },
    /// The cvar has the `CHEAT` flag and `sv_cheats` is off.
    #[error("cvar '{name}' is cheat-protected: set sv_cheats true first")]
    CheatProtected {
        /// The cvar's name.
        name: String,
    },
    /// A value with a NUL byte: it could not travel in the reference's
    /// NUL-separated messages, so it is refused where it enters.
    #[error("value for '{name}' contains a NUL byte")]
    NulByte {
        /// The cvar (or field) the value was meant for.
        name: String,
    },
    /// No console command (or cvar) of that name.
    #[error("unknown command '{name}'{}", did_you_mean(suggestions))]
    UnknownCommand {
        /// The name that was typed.
        name: String,
        /// Known names close to it.
        suggestions: Vec<String>,
    },
    /// A command was called with the wrong arguments.
    #[error("{command}: usage: {usage}")]
    Usage {
        /// The command.
        command: String,
        /// Its usage line.
        usage: String,
    },
    /// A command line that cannot be parsed (for example an unterminated quote).
    #[error("parse error: {message}")]
    Parse {
        /// What is wrong.
        message: String,
    },
    /// A command's own handler failed.
    #[error("{command}: {message}")]
    Command {
        /// The command.
        command: String,
        /// What went wrong, as the handler said it.
        message: String,
    },
    /// A built-in command cannot be replaced.
    #[error("command '{name}' is built in and cannot be replaced")]
    BuiltinCommand {
        /// The command.
        name: String,
    },
    /// A file could not be read or written.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, err: &std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            message: err.to_string(),
        }
    }
}

fn did_you_mean(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(" (did you mean: {}?)", suggestions.join(", "))
    }
}

/// Names among `candidates` close to `name`, best first, at most three.
pub(crate) fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut scored: Vec<(f64, &str)> = candidates
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, c)| *score >= 0.8 || strsim::levenshtein(name, c) <= 2)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(3)
        .map(|(_, c)| c.to_owned())
        .collect()
}
