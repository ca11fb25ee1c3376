//! The one place in the workspace that uses `unsafe`: opening Lua with its
//! whole standard library, `debug` included, for [`Profile::Trusted`];
//! opening the `debug` library for the runtime's own use in any state (hot
//! reload's upvalue joins, in `reload.rs`, and the debugger's inspection,
//! in `debugger/`), never for a script's; and Zephyr's bits of a state's
//! hook mask for the profiler and the debugger (`hook.rs`).
//!
//! mlua opens the `debug` library (and lets `package` load native C modules)
//! only through its `unsafe` constructor, because `debug.setlocal`,
//! `debug.setupvalue`, `debug.setmetatable` and native modules can break the
//! invariants mlua's safe API relies on. The trusted profile exists to run
//! stock Lua 5.4 code unchanged, and is documented as giving scripts the
//! whole process: a host opts in knowing that. Every other state is built
//! with mlua's safe constructor.
//!
//! The workspace denies `unsafe_code`; this module alone allows it, for the
//! three blocks below. A reviewer checks this file, and where the table
//! [`debug_library`] returns goes (`reload.rs`: into the upvalues of one
//! function the state's Rust side holds, which no script can reach).
//!
//! [`Profile::Trusted`]: crate::Profile::Trusted
#![allow(unsafe_code)]

use mlua::{Lua, LuaOptions, StdLib, Table};

/// A Lua state with every standard library, as the `lua` interpreter opens
/// it (`debug`, `io`, `os`, `package` with its C searchers).
pub(crate) fn full_lua() -> Lua {
    // SAFETY: the state is sound to create; what `unsafe` marks is what its
    // scripts may do later (the `debug` library and native modules can
    // corrupt memory that mlua's safe API assumes intact). Only
    // `Profile::Trusted` states and the conformance reference are built
    // here, and both are documented as giving scripts the whole process.
    unsafe { Lua::unsafe_new_with(StdLib::ALL, LuaOptions::default()) }
}

/// Lua's `debug` library as a table, in any state (a safe one too), for
/// the runtime's own use: hot reload keeps a chunk's top-level locals by
/// joining the upvalues of its new closures to the old ones
/// (`debug.upvaluejoin`). The table is not put in any environment, global
/// table or registry field a script can reach: `reload.rs` passes the few
/// functions it uses to one function whose only reference is held in Rust.
pub(crate) fn debug_library(lua: &Lua) -> mlua::Result<Table> {
    // SAFETY: `luaopen_debug` is Lua's own opener of its `debug` library: it
    // builds the library's table and returns it, touching nothing else of
    // the state. What `unsafe` marks is what the library's functions can do
    // when called (`setupvalue`, `upvaluejoin` and `setmetatable` can break
    // invariants mlua's safe API relies on); only the runtime's reload code
    // calls them, on closures the script's chunk made, to share upvalue
    // cells between two versions of one chunk, which Lua itself does for
    // closures of one activation.
    let open = unsafe { lua.create_c_function(mlua::ffi::luaopen_debug) }?;
    open.call(())
}

/// Lua's `LUA_MASKLUAONLY` (`vendor/lua-src`'s `lua.h`): call and return
/// hooks for Lua functions only.
const LUA_MASKLUAONLY: std::ffi::c_int = 1 << 4;

/// Lua's `LUA_MASKERROR` (`vendor/lua-src`'s `lua.h`): the hook is called
/// (event `LUA_HOOKERROR`) where an error is raised.
const LUA_MASKERROR: std::ffi::c_int = 1 << 5;

/// `LUA_HOOKERROR`: the error hook's event.
pub(crate) const LUA_HOOKERROR: std::ffi::c_int = 5;

/// Adds Zephyr's bits to the hook set on `lua`'s running thread (and every
/// thread created from it in Lua from then on: `coroutine.create` copies
/// the mask): call and return events of Lua functions only (the profiler
/// and the debugger time and follow Lua functions, and most calls a game
/// script makes are to C functions), and, with `errors`, the error hook
/// (the debugger stops where an error is raised). `vendor/lua-src`'s
/// ZEPHYR.md has the patches and why. Threads mlua creates set their hook
/// again without the bits: C functions' events are then told apart in Rust,
/// only slower, and errors raised there do not stop.
pub(crate) fn set_hook_bits(lua: &Lua, errors: bool) -> mlua::Result<()> {
    let bits = LUA_MASKLUAONLY | if errors { LUA_MASKERROR } else { 0 };
    // SAFETY: `exec_raw` hands the closure the state it runs on (the
    // running thread's: the main thread outside any callback, the hooked
    // thread inside a hook), with a checked stack. The closure reads the
    // hook Lua has (set through mlua's safe API just before) and sets it
    // again, the same function and count, with more mask bits:
    // `lua_sethook` only stores the three values, and the patched VM reads
    // the bits to skip hooks or to call this same hook function, with an
    // event mlua passes through (`DebugEvent::Unknown`). mlua keeps no copy
    // of the mask that could disagree (it reads `lua_gethook` only).
    unsafe {
        lua.exec_raw::<()>((), |state| {
            let hook = mlua::ffi::lua_gethook(state);
            let mask = mlua::ffi::lua_gethookmask(state);
            let count = mlua::ffi::lua_gethookcount(state);
            if hook.is_some() && mask != 0 {
                mlua::ffi::lua_sethook(state, hook, mask | bits, count);
            }
        })
    }
}
