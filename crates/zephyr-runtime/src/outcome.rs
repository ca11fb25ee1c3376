//! [`Outcome`]: what a script job produced, and its text form in the
//! reference's `OK` / `ERROR: <message>` convention.

use std::fmt;

use zephyr_lua::{ScriptError, ScriptValue};

/// The result of one script job: exactly one per job, delivered to its
/// callback, its [`ScriptHandle`](crate::ScriptHandle) and, as a
/// `ScriptResult` action, to the main thread.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The script ran to the end and returned these values (empty when it
    /// returned nothing).
    Returned(Vec<ScriptValue>),
    /// The script failed.
    Failed(ScriptError),
    /// The script never ran: the runner shut down first.
    Cancelled,
}

impl Outcome {
    /// Whether the script ran to the end.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Returned(_))
    }

    /// The error, if the script failed.
    pub fn error(&self) -> Option<&ScriptError> {
        match self {
            Outcome::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// The returned values (empty unless [`Outcome::Returned`]).
    pub fn values(&self) -> &[ScriptValue] {
        match self {
            Outcome::Returned(v) => v,
            _ => &[],
        }
    }
}

impl fmt::Display for Outcome {
    /// The reference's `ScriptResult` text: `OK` when nothing was returned,
    /// the returned values separated by tabs (as `print` would show them),
    /// or `ERROR: <message>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Returned(values) if values.is_empty() => f.write_str("OK"),
            Outcome::Returned(values) => {
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\t")?;
                    }
                    write!(f, "{v}")?;
                }
                Ok(())
            }
            Outcome::Failed(e) => write!(f, "ERROR: {}", e.message),
            Outcome::Cancelled => f.write_str("ERROR: cancelled: the script runner shut down"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zephyr_lua::ScriptErrorKind;

    #[test]
    fn outcome_text_follows_the_reference() {
        assert_eq!(Outcome::Returned(vec![]).to_string(), "OK");
        assert_eq!(
            Outcome::Returned(vec![ScriptValue::Integer(4)]).to_string(),
            "4"
        );
        assert_eq!(
            Outcome::Returned(vec![
                ScriptValue::Integer(1),
                ScriptValue::String("a".into())
            ])
            .to_string(),
            "1\ta"
        );
        let e = ScriptError {
            kind: ScriptErrorKind::Runtime,
            message: "x:1: boom".into(),
            chunk: "x".into(),
            line: Some(1),
            traceback: None,
        };
        assert_eq!(Outcome::Failed(e).to_string(), "ERROR: x:1: boom");
    }
}
