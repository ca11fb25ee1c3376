//! The reference design's Lua helpers: `execute_lua_buffer` and
//! `call_named_handler`.

use crate::error::Result;
use crate::outcome::Outcome;
use zephyr_lua::ScriptState;
use zephyr_lua::ScriptValue;

/// The result of [`execute_lua_buffer`]: success, and the outcome's text
/// (`OK`, the returned values) or the error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecuteResult {
    /// Whether the script ran to the end.
    pub success: bool,
    /// `OK` or the returned values on success; the error message otherwise.
    pub message: String,
}

/// Runs `script` on `state` now, on the calling thread (the reference's
/// `executeLuaBuffer`). Errors are returned in the result, never raised.
///
/// ```
/// use zephyr_runtime::compat::execute_lua_buffer;
/// use zephyr_runtime::{ScriptState, StateConfig};
/// let state = ScriptState::new(&StateConfig::default(), |_, _| Ok(()))?;
/// let ok = execute_lua_buffer(&state, "return 2 + 2", "sum");
/// assert!(ok.success);
/// assert_eq!(ok.message, "4");
/// let bad = execute_lua_buffer(&state, "error('boom')", "bad");
/// assert_eq!((bad.success, bad.message.as_str()), (false, "bad:1: boom"));
/// # Ok::<(), zephyr_runtime::Error>(())
/// ```
pub fn execute_lua_buffer(state: &ScriptState, script: &str, chunk_name: &str) -> ExecuteResult {
    match state.execute(script, chunk_name) {
        Ok(values) => ExecuteResult {
            success: true,
            message: Outcome::Returned(values).to_string(),
        },
        Err(error) => ExecuteResult {
            success: false,
            message: error.message,
        },
    }
}

/// Calls the global function `handler_name` of `state` with string
/// arguments (the reference's `callNamedHandler`): errors, including a missing
/// handler, are logged and the call returns normally. Use
/// [`try_call_named_handler`] to get them.
pub fn call_named_handler(state: &ScriptState, handler_name: &str, args: &[&str]) {
    if let Err(error) = try_call_named_handler(state, handler_name, args) {
        tracing::error!(target: "zephyr::runtime", handler = handler_name, "{error}");
    }
}

/// Like [`call_named_handler`], returning the handler's values or the error.
///
/// The handler is looked up among the handlers registered in the main state,
/// then in the state's persistent globals. An isolated (pooled) state keeps
/// no globals between executions, so it has no named handlers: asking for one
/// is [`Error::HandlerNotFound`](crate::Error::HandlerNotFound), never a silent no-op.
pub fn try_call_named_handler(
    state: &ScriptState,
    handler_name: &str,
    args: &[&str],
) -> Result<Vec<ScriptValue>> {
    crate::api::call_named(state, handler_name, args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use zephyr_lua::StateConfig;

    #[test]
    fn named_handlers_resolve_in_persistent_states_only() {
        let persistent =
            ScriptState::new_persistent(&StateConfig::default(), |_, _| Ok(())).unwrap();
        persistent
            .execute("function Join(a, b) return a .. '+' .. b end", "defs")
            .unwrap();
        let values = try_call_named_handler(&persistent, "Join", &["x", ""]).unwrap();
        assert_eq!(values[0].to_string(), "x+");
        // The logging variant returns normally on a missing handler.
        call_named_handler(&persistent, "Missing", &[]);
        assert!(matches!(
            try_call_named_handler(&persistent, "Missing", &[]),
            Err(Error::HandlerNotFound { .. })
        ));

        let isolated = ScriptState::new(&StateConfig::default(), |_, _| Ok(())).unwrap();
        isolated.execute("function Join() end", "defs").unwrap();
        let err = try_call_named_handler(&isolated, "Join", &[]).unwrap_err();
        assert!(err.to_string().contains("isolated"), "{err}");
    }

    #[test]
    fn handler_errors_come_back_typed() {
        let state = ScriptState::new_persistent(&StateConfig::default(), |_, _| Ok(())).unwrap();
        state
            .execute("function Fail() error('nope') end", "defs")
            .unwrap();
        match try_call_named_handler(&state, "Fail", &[]) {
            Err(Error::LuaRuntimeError(e)) => assert!(e.message.contains("nope"), "{e}"),
            other => panic!("expected a runtime error, got {other:?}"),
        }
    }
}
