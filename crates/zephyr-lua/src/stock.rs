//! Stock Lua, as the `lua` interpreter runs a file: the reference the
//! conformance runner compares the trusted profile against.

use mlua::chunk::ChunkMode;

/// Runs `source` on a fresh Lua 5.4 state with the whole standard library
/// (no sandbox, no budget, no memory limit, no engine API), as
/// `lua FILE` does; `chunk_name` as Lua takes it (`@file.lua` for a file).
/// Returns the error message if the chunk raises.
///
/// Like [`Profile::Trusted`](crate::Profile::Trusted), this gives the code
/// the whole process: run only code you trust.
///
/// ```
/// assert!(zephyr_lua::run_stock_lua(b"assert(debug.getinfo(1).what == 'main')", "=ok").is_ok());
/// let error = zephyr_lua::run_stock_lua(b"\nerror('boom')", "@t.lua").unwrap_err();
/// assert!(error.starts_with("t.lua:2: boom"), "{error}");
/// ```
pub fn run_stock_lua(source: &[u8], chunk_name: &str) -> Result<(), String> {
    let lua = crate::trusted::full_lua();
    lua.load(source)
        .set_name(crate::chunk::chunk_name(chunk_name))
        .set_mode(ChunkMode::Text)
        .exec()
        .map_err(|error| crate::script_error::root_message(&lua, &error))
}
