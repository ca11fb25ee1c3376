//! The one place in the workspace that uses `unsafe`: opening Lua with its
//! whole standard library, `debug` included, for [`Profile::Trusted`].
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
//! one call below. A reviewer checks this file, not the workspace.
//!
//! [`Profile::Trusted`]: crate::Profile::Trusted
#![allow(unsafe_code)]

use mlua::{Lua, LuaOptions, StdLib};

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
