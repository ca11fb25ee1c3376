//! What the reference design (a scripting quick reference written for a
//! Zig engine) names that Zephyr does otherwise, kept for hosts ported from
//! it: its string wire formats and its two Lua helpers. Zephyr's own API
//! passes typed [`Action`](crate::Action)s and runs scripts through
//! [`ScriptingSystem`](crate::ScriptingSystem).
//!
//! | module    | its one job                                                  |
//! |-----------|--------------------------------------------------------------|
//! | `wire`    | the `CVarLua` and `ScriptResult` text formats                 |
//! | `helpers` | `execute_lua_buffer` and `call_named_handler`                 |

mod helpers;
mod wire;

pub use helpers::{ExecuteResult, call_named_handler, execute_lua_buffer, try_call_named_handler};
pub use wire::{
    CVarLuaMessage, ScriptResultMessage, decode_cvar_lua, decode_script_result, encode_cvar_lua,
    encode_script_result, encode_script_result_message,
};
