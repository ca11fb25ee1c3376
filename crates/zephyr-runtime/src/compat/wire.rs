//! The reference design's string wire formats: `CVarLua` as
//! `handler\0name\0old\0new`, and `ScriptResult` as `OK`, the returned
//! values, or `ERROR: <message>`. The runtime itself passes typed
//! [`Action`](crate::Action)s; these are for hosts that speak the
//! reference's text.

use crate::error::{Error, Result};
use crate::outcome::Outcome;

/// The reference's `CVarLua` message, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CVarLuaMessage {
    /// The handler's name.
    pub handler: String,
    /// The cvar.
    pub name: String,
    /// The old value.
    pub old: String,
    /// The new value.
    pub new: String,
}

/// Encodes a `CVarLua` message as `handler\0name\0old\0new`.
///
/// A field holding a NUL byte cannot be encoded and is refused (cvar values
/// never hold one: `cvar.set` refuses them where they enter).
///
/// ```
/// use zephyr_runtime::compat::{decode_cvar_lua, encode_cvar_lua};
/// let msg = encode_cvar_lua("OnFOVChanged", "r_fov", "75.0", "90.0")?;
/// assert_eq!(msg, "OnFOVChanged\0r_fov\x0075.0\x0090.0");
/// assert_eq!(decode_cvar_lua(&msg)?.new, "90.0");
/// # Ok::<(), zephyr_runtime::Error>(())
/// ```
pub fn encode_cvar_lua(handler: &str, name: &str, old: &str, new: &str) -> Result<String> {
    for (field, value) in [
        ("handler", handler),
        ("name", name),
        ("old", old),
        ("new", new),
    ] {
        if value.contains('\0') {
            return Err(Error::InvalidMessage {
                kind: "CVarLua",
                reason: format!("field '{field}' contains a NUL byte"),
            });
        }
    }
    Ok([handler, name, old, new].join("\0"))
}

/// Decodes a `CVarLua` message: exactly four NUL-separated fields, any of
/// which may be empty. (The reference's parser drops the last field, since it
/// only cuts at NULs; this one does not.)
pub fn decode_cvar_lua(message: &str) -> Result<CVarLuaMessage> {
    let fields: Vec<&str> = message.split('\0').collect();
    match fields.as_slice() {
        [handler, name, old, new] => Ok(CVarLuaMessage {
            handler: (*handler).to_owned(),
            name: (*name).to_owned(),
            old: (*old).to_owned(),
            new: (*new).to_owned(),
        }),
        _ => Err(Error::InvalidMessage {
            kind: "CVarLua",
            reason: format!("expected 4 NUL-separated fields, found {}", fields.len()),
        }),
    }
}

/// The reference's `ScriptResult` message, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptResultMessage {
    /// `OK`: the script returned nothing.
    Ok,
    /// The script returned values, shown as text.
    Values(String),
    /// `ERROR: <message>`.
    Error(String),
}

/// Encodes an outcome as `OK`, the returned values as text, or
/// `ERROR: <message>` (this is the outcome's `Display`).
pub fn encode_script_result(outcome: &Outcome) -> String {
    outcome.to_string()
}

/// Decodes a `ScriptResult` message. The text format cannot tell a script
/// that returned the string `"OK"` from one that returned nothing; the typed
/// [`Action::ScriptResult`](crate::Action::ScriptResult) carries the difference.
pub fn decode_script_result(message: &str) -> ScriptResultMessage {
    if message == "OK" {
        ScriptResultMessage::Ok
    } else if let Some(error) = message.strip_prefix("ERROR: ") {
        ScriptResultMessage::Error(error.to_owned())
    } else {
        ScriptResultMessage::Values(message.to_owned())
    }
}

/// Encodes a decoded `ScriptResult` message again.
pub fn encode_script_result_message(message: &ScriptResultMessage) -> String {
    match message {
        ScriptResultMessage::Ok => "OK".to_owned(),
        ScriptResultMessage::Values(v) => v.clone(),
        ScriptResultMessage::Error(e) => format!("ERROR: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zephyr_lua::{ScriptError, ScriptErrorKind, ScriptValue};

    #[test]
    fn cvar_lua_round_trips_including_empty_fields() {
        let cases = [
            ["OnFOVChanged", "r_fov", "75.0", "90.0"],
            ["", "", "", ""],
            ["h", "name", "", "new value with spaces"],
            ["h", "n", "old", ""],
        ];
        for [h, n, o, v] in cases {
            let msg = encode_cvar_lua(h, n, o, v).unwrap();
            let back = decode_cvar_lua(&msg).unwrap();
            assert_eq!((back.handler.as_str(), back.name.as_str()), (h, n));
            assert_eq!((back.old.as_str(), back.new.as_str()), (o, v));
        }
        assert_eq!(
            encode_cvar_lua("OnFOVChanged", "r_fov", "75.0", "90.0").unwrap(),
            "OnFOVChanged\0r_fov\u{0}75.0\u{0}90.0"
        );
    }

    #[test]
    fn cvar_lua_refuses_nul_fields_and_wrong_field_counts() {
        assert!(encode_cvar_lua("h", "n", "a\0b", "c").is_err());
        assert!(decode_cvar_lua("a\0b\0c").is_err());
        assert!(decode_cvar_lua("a\0b\0c\0d\0e").is_err());
    }

    #[test]
    fn script_result_round_trips() {
        let failed = Outcome::Failed(ScriptError {
            kind: ScriptErrorKind::Runtime,
            message: "s:1: attempt to call a nil value".into(),
            chunk: "s".into(),
            line: Some(1),
            traceback: None,
        });
        let outcomes = [
            Outcome::Returned(vec![]),
            Outcome::Returned(vec![ScriptValue::Integer(4)]),
            Outcome::Returned(vec![ScriptValue::String(String::new())]),
            failed,
        ];
        let expected = [
            ScriptResultMessage::Ok,
            ScriptResultMessage::Values("4".into()),
            ScriptResultMessage::Values(String::new()),
            ScriptResultMessage::Error("s:1: attempt to call a nil value".into()),
        ];
        for (outcome, expected) in outcomes.iter().zip(expected) {
            let text = encode_script_result(outcome);
            let decoded = decode_script_result(&text);
            assert_eq!(decoded, expected);
            assert_eq!(encode_script_result_message(&decoded), text);
        }
        assert_eq!(
            decode_script_result("ERROR: "),
            ScriptResultMessage::Error(String::new())
        );
    }
}
