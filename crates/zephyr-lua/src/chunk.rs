//! Compile once, run in many environments: a source is compiled once per
//! Lua state (cached by chunk name and text) into a *factory* that runs the
//! chunk in whatever environment it is given.
//!
//! Lua binds a chunk's globals to its `_ENV` upvalue when the chunk is
//! loaded, so one loaded chunk cannot serve two environments (changing the
//! upvalue would change it for every closure the chunk has made). The
//! factory instead compiles `local _ENV = ...; return function(...) <source>
//! end`: called with an environment, it returns the chunk's body as a
//! closure over that `_ENV`, and every function the chunk defines captures
//! the same `_ENV` (an upvalue, as in a normally loaded chunk, which is how
//! the shared `load` and `require` find their caller's environment). The wrapper is written on the source's first line, so line
//! numbers do not move. One compile: a source that only compiles inside the
//! wrapper (a stray top-level `end`) is told apart by where the wrapper's
//! function ends, and a source that does not compile is compiled again
//! alone, so its syntax error reads exactly as Lua's own.
//!
//! In the trusted profile a chunk must be exactly what `lua` makes of a file
//! (a `main` function whose first upvalue is `_ENV`, as `debug.getinfo`
//! shows, and whose equal long strings are one object, which loading
//! bytecode would split), so there the cache keeps the checked source and
//! each environment compiles it: trusted scripts pay a compile per instance.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use mlua::chunk::ChunkMode;
use mlua::{Function, Lua};

/// How many compiled chunks one state keeps; the cache is emptied when it
/// is full (a host that runs more distinct sources than this pays a compile
/// for each, as without the cache).
pub const CHUNK_CACHE_CAPACITY: usize = 512;

/// A chunk compiled for one Lua state, ready to run in any environment of
/// that state (see [`ScriptState::compile`](crate::ScriptState::compile)).
#[derive(Clone)]
pub struct CompiledChunk {
    pub(crate) name: Arc<str>,
    body: Body,
}

/// How a compiled chunk meets its environment.
#[derive(Clone)]
enum Body {
    /// The factory: called with an environment, returns the chunk's body.
    Factory(Function),
    /// The checked source (trusted profile): compiled per environment.
    Source(Arc<[u8]>),
}

impl fmt::Debug for CompiledChunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledChunk")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl CompiledChunk {
    /// The chunk name errors show (`file.lua:3: ...`).
    pub fn name(&self) -> &str {
        display_name(&self.name)
    }

    /// The factory, for a chunk that has one (not the trusted profile's).
    pub(crate) fn factory(&self) -> Option<&Function> {
        match &self.body {
            Body::Factory(factory) => Some(factory),
            Body::Source(_) => None,
        }
    }

    /// The chunk's body as a function over `env`: call it to run the chunk.
    pub(crate) fn bind(&self, lua: &Lua, env: &mlua::Table) -> mlua::Result<Function> {
        match &self.body {
            Body::Factory(factory) => crate::profile::binding(|| factory.call(env)),
            Body::Source(source) => lua
                .load(&source[..])
                .set_name(chunk_name(&self.name))
                .set_mode(ChunkMode::Text)
                .set_environment(env.clone())
                .into_function(),
        }
    }
}

/// Counters of a state's compile cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkCacheStats {
    /// Compiles avoided: the same name and text were compiled before.
    pub hits: u64,
    /// Sources compiled.
    pub misses: u64,
}

impl std::ops::AddAssign for ChunkCacheStats {
    fn add_assign(&mut self, other: Self) {
        self.hits += other.hits;
        self.misses += other.misses;
    }
}

type NamedBody = (Arc<str>, Body);

/// One state's compiled chunks, by chunk name and source text.
#[derive(Default)]
pub(crate) struct ChunkCache {
    /// By source text, then chunk name (the same text under two names is
    /// two chunks: errors name the chunk).
    chunks: HashMap<Box<[u8]>, Vec<NamedBody>>,
    len: usize,
    pub(crate) stats: ChunkCacheStats,
}

impl fmt::Debug for ChunkCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkCache")
            .field("chunks", &self.len)
            .field("stats", &self.stats)
            .finish()
    }
}

impl ChunkCache {
    /// The compiled `source`, compiled on a miss: a factory, or with
    /// `main_chunk` the checked source, compiled as a main chunk per bind.
    pub(crate) fn get_or_compile(
        &mut self,
        lua: &Lua,
        source: &[u8],
        name: &str,
        main_chunk: bool,
    ) -> mlua::Result<CompiledChunk> {
        if let Some((name, body)) = self
            .chunks
            .get(source)
            .and_then(|named| named.iter().find(|(n, _)| &**n == name))
        {
            self.stats.hits += 1;
            return Ok(CompiledChunk {
                name: name.clone(),
                body: body.clone(),
            });
        }
        let body = if main_chunk {
            lua.load(source)
                .set_name(chunk_name(name))
                .set_mode(ChunkMode::Text)
                .into_function()?;
            Body::Source(Arc::from(source))
        } else {
            Body::Factory(compile_factory(lua, source, name)?)
        };
        self.stats.misses += 1;
        if self.len >= CHUNK_CACHE_CAPACITY {
            self.chunks.clear();
            self.len = 0;
        }
        self.len += 1;
        let name: Arc<str> = Arc::from(name);
        self.chunks
            .entry(Box::from(source))
            .or_default()
            .push((name.clone(), body.clone()));
        Ok(CompiledChunk { name, body })
    }
}

/// The Lua chunk name for a script name: a name that already says how Lua
/// should show it (`@file.lua`: a file, `=name`: as it is) is kept, any other
/// is shown as it is.
pub fn chunk_name(name: &str) -> Cow<'_, str> {
    if name.starts_with('@') || name.starts_with('=') {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(format!("={name}"))
    }
}

/// Whether `source` (a chunk's name as Lua keeps it) is the runtime's own
/// Lua: `=zephyr.sandbox`, `=zephyr.task`, `=zephyr.debugger`. Errors,
/// stacks, profiles and stops look past these to the script's code.
pub(crate) fn is_runtime_chunk(source: Option<&str>) -> bool {
    source.is_some_and(|s| s.starts_with("=zephyr."))
}

/// A key for a chunk, for a hook's per-event lookups: the address where Lua
/// keeps the chunk's name (one per name while the chunk lives, no string
/// made). A name that is not UTF-8 arrives as a copy, a new address each
/// time: a hash of its text stands in.
pub(crate) fn chunk_key(source: Option<&Cow<'_, str>>) -> usize {
    use std::hash::BuildHasher as _;
    match source {
        Some(Cow::Borrowed(name)) => name.as_ptr() as usize,
        Some(Cow::Owned(name)) => rustc_hash::FxBuildHasher.hash_one(name) as usize,
        None => 0,
    }
}

/// A chunk name as errors show it: without Lua's `@` (file) or `=` mark.
pub fn display_name(name: &str) -> &str {
    name.strip_prefix('@')
        .or_else(|| name.strip_prefix('='))
        .unwrap_or(name)
}

fn compile_factory(lua: &Lua, source: &[u8], name: &str) -> mlua::Result<Function> {
    let chunk_name = chunk_name(name);
    let mut wrapped = Vec::with_capacity(source.len() + 40);
    wrapped.extend_from_slice(b"local _ENV = ...; return function(...) ");
    wrapped.extend_from_slice(source);
    wrapped.extend_from_slice(b"\nend");
    let last_line = wrapped.iter().filter(|&&b| b == b'\n').count() + 1;
    let factory = lua
        .load(wrapped)
        .set_name(&*chunk_name)
        .set_mode(ChunkMode::Text)
        .into_function()
        .ok()
        .filter(|factory| {
            // Our `end`, alone on the last line, must close our function:
            // then the source between is exactly one block, a valid chunk.
            let probe = lua
                .create_table()
                .and_then(|t| factory.call::<mlua::MultiValue>(t));
            match probe.map(|v| v.into_iter().collect::<Vec<_>>()).as_deref() {
                Ok([mlua::Value::Function(body)]) => {
                    body.info().last_line_defined == Some(last_line)
                }
                _ => false,
            }
        });
    match factory {
        Some(factory) => Ok(factory),
        // Not a valid chunk: compile it alone for Lua's own words.
        None => match lua
            .load(source)
            .set_name(chunk_name)
            .set_mode(ChunkMode::Text)
            .into_function()
        {
            Err(error) => Err(error),
            Ok(_) => Err(mlua::Error::runtime(format!(
                "{name}: the chunk compiles alone but not as a reusable chunk"
            ))),
        },
    }
}

/// A script file's text as `lua` reads it: a leading UTF-8 byte-order mark
/// is skipped, and a first line starting with `#` (such as `#!/usr/bin/lua`)
/// is blanked, keeping its newline so line numbers stay right.
pub fn file_source(bytes: &[u8]) -> Cow<'_, [u8]> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.first() == Some(&b'#') {
        let rest = bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(&[][..], |i| &bytes[i..]);
        Cow::Owned(rest.to_vec())
    } else {
        Cow::Borrowed(bytes)
    }
}

/// Compiles `source` without running it, on a bare Lua state: `Ok` or the
/// syntax error as Lua words it (`name:line: message`).
///
/// ```
/// assert!(zephyr_lua::check_syntax(b"local x = 1", "ok.lua").is_ok());
/// let error = zephyr_lua::check_syntax(b"local x = = 1", "bad.lua").unwrap_err();
/// assert!(error.starts_with("bad.lua:1:"), "{error}");
/// ```
pub fn check_syntax(source: &[u8], name: &str) -> Result<(), String> {
    let lua = Lua::new();
    match lua
        .load(source)
        .set_name(chunk_name(name))
        .set_mode(ChunkMode::Text)
        .into_function()
    {
        Ok(_) => Ok(()),
        Err(mlua::Error::SyntaxError { message, .. }) => Err(message),
        Err(other) => Err(format!("{name}: {other}")),
    }
}

/// Whether `source` is an unfinished chunk (a syntax error at its end, as
/// Lua's REPL tells when to read another line): `for i = 1, 3 do`.
pub fn is_incomplete(source: &[u8]) -> bool {
    matches!(
        Lua::new()
            .load(source)
            .set_mode(ChunkMode::Text)
            .into_function(),
        Err(mlua::Error::SyntaxError {
            incomplete_input: true,
            ..
        })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_sources_skip_a_bom_and_a_hash_line_keeping_lines() {
        assert_eq!(&*file_source(b"\xEF\xBB\xBFx = 1"), b"x = 1");
        assert_eq!(&*file_source(b"#!/usr/bin/lua\nx = 1"), b"\nx = 1");
        assert_eq!(&*file_source(b"\xEF\xBB\xBF# comment\nx"), b"\nx");
        assert_eq!(&*file_source(b"#"), b"");
        assert_eq!(&*file_source(b"x = '#'"), b"x = '#'");
    }

    #[test]
    fn one_factory_serves_many_environments() -> mlua::Result<()> {
        let lua = Lua::new();
        let mut cache = ChunkCache::default();
        let source = b"local n = ... or 0\nfunction get() return n + bonus end\nreturn bonus";
        let chunk = cache.get_or_compile(&lua, source, "s.lua", false)?;
        let again = cache.get_or_compile(&lua, source, "s.lua", false)?;
        assert_eq!(cache.stats, ChunkCacheStats { hits: 1, misses: 1 });
        let (a, b) = (lua.create_table()?, lua.create_table()?);
        a.set("bonus", 1)?;
        b.set("bonus", 100)?;
        let ra: i64 = chunk.bind(&lua, &a)?.call(10)?;
        let rb: i64 = again.bind(&lua, &b)?.call(20)?;
        assert_eq!((ra, rb), (1, 100));
        let get_a: Function = a.get("get")?;
        let get_b: Function = b.get("get")?;
        assert_eq!(get_a.call::<i64>(())?, 11);
        assert_eq!(get_b.call::<i64>(())?, 120);
        Ok(())
    }

    #[test]
    fn errors_keep_the_source_line_and_refuse_wrapper_only_sources() {
        let lua = Lua::new();
        let mut cache = ChunkCache::default();
        let chunk = cache
            .get_or_compile(&lua, b"\n\nerror('boom')", "e.lua", false)
            .unwrap();
        let env = lua.create_table().unwrap();
        env.set("error", lua.globals().get::<Function>("error").unwrap())
            .unwrap();
        let err = chunk
            .bind(&lua, &env)
            .unwrap()
            .call::<()>(())
            .unwrap_err()
            .to_string();
        assert!(err.contains("e.lua:3: boom"), "{err}");
        let syntax = cache
            .get_or_compile(&lua, b"x = 1 end, function() y = 2", "w.lua", false)
            .unwrap_err()
            .to_string();
        assert!(syntax.contains("w.lua:1:"), "{syntax}");
        assert_eq!(cache.stats.misses, 1);
    }
}
