//! Hot reload's memory: the top-level locals of a chunk kept across
//! versions of its file, as one state shared by the old and the new code.
//!
//! A chunk compiled *capturing* returns one more value than it would: a
//! function that reads every top-level local in scope at the chunk's end
//! (`return ..., function() return a, b end`, added on the line of the
//! chunk's last statement, so line numbers stay). That function, a
//! [`Capture`], holds the locals as its upvalues. When a new version of the
//! chunk has run,
//! [`ScriptState::keep_locals`](crate::ScriptState::keep_locals) finds
//! every closure the new version made (reachable from the environment it
//! ran in) and joins its
//! upvalue for each local both versions declare to the old version's cell
//! (`debug.upvaluejoin`): the new functions then read and write the very
//! variables the old ones do (an old task still running counts into the
//! same `shots` the new `on_destroy` prints). A local keeps its value
//! unless its initial value changed in the file (`local speed = 2` edited
//! to `4` takes 4; `local count = 0` left alone keeps its count) or it
//! holds a function (code: `local base_update = on_update` takes the new
//! function); a local holding a table keeps the old table (state). Locals
//! only the new version declares start as the new code sets them; locals
//! it no longer declares are dropped (and named).
//!
//! The joins need Lua's `debug` library, which no script of the safe
//! profile has: it is opened for the runtime alone (`trusted.rs`) and
//! handed to one function, `JOIN`, whose only reference the state's Rust
//! side holds. It walks tables with raw `next` (no `__pairs`, no
//! `__index`), so no script code runs during a walk except a collector's
//! `__gc`, which can reach nothing of the walk's.

use std::collections::HashMap;
use std::sync::Arc;

use full_moon::ast::{LastStmt, Stmt};
use full_moon::node::Node;
use mlua::{Function, Lua, MultiValue, Table, Value};

/// More locals than this and the chunk is not captured (a Lua function has
/// at most 255 upvalues; a chunk at most 200 locals).
const MAX_CAPTURED: usize = 200;

/// A chunk's source with its capture added, and the locals it captures.
#[derive(Debug, Clone)]
pub(crate) struct Instrumented {
    pub(crate) text: Arc<[u8]>,
    /// The captured locals, in the order the capture returns them.
    pub(crate) names: Arc<[String]>,
}

/// The capture of `source`: `None` when there is nothing to capture (no
/// top-level local), or the source is not UTF-8 or does not parse (then
/// it compiles, or fails, as written).
pub(crate) fn instrument(source: &[u8]) -> Option<Instrumented> {
    let text = std::str::from_utf8(source).ok()?;
    let ast = full_moon::parse_fallible(text, full_moon::LuaVersion::lua54())
        .into_result()
        .ok()?;
    let block = ast.nodes();
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: String| {
        if name != "_ENV" && !names.contains(&name) {
            names.push(name);
        }
    };
    for stmt in block.stmts() {
        match stmt {
            Stmt::LocalAssignment(local) => {
                let attributes: Vec<_> = local.attributes().collect();
                for (index, name) in local.names().iter().enumerate() {
                    // `<const>` locals may be compile-time constants (no
                    // cell to share), `<close>` ones are closed at the end.
                    if attributes.get(index).is_none_or(Option::is_none) {
                        add(name.token().to_string());
                    }
                }
            }
            Stmt::LocalFunction(function) => add(function.name().token().to_string()),
            _ => {}
        }
    }
    if names.is_empty() || names.len() > MAX_CAPTURED {
        return None;
    }
    let capture = format!("function() return {} end", names.join(", "));
    let mut out = String::with_capacity(text.len() + capture.len() + 16);
    // The chunk's own values come first (a module's table, `nil` when it
    // returns nothing), the capture last.
    match block.last_stmt() {
        Some(LastStmt::Return(ret)) => {
            let (at, joint) = match ret.returns().last() {
                Some(last) => (last.value().end_position()?.bytes(), ", "),
                None => (ret.token().end_position()?.bytes(), " nil, "),
            };
            out.push_str(&text[..at]);
            out.push_str(joint);
            out.push_str(&capture);
            out.push_str(&text[at..]);
        }
        Some(_) => return None,
        None => {
            out.push_str(text);
            // After a last line that may be a comment.
            out.push_str("\nreturn nil, ");
            out.push_str(&capture);
        }
    }
    Some(Instrumented {
        text: Arc::from(out.into_bytes()),
        names: names.into(),
    })
}

/// Instrumented sources, by original source: a chunk is parsed once per
/// state however many instances load it.
#[derive(Debug, Default)]
pub(crate) struct Instrumentations {
    by_source: HashMap<Vec<u8>, Option<Instrumented>>,
}

impl Instrumentations {
    /// At most this many sources are remembered (then forgotten at once).
    const CAPACITY: usize = 256;

    pub(crate) fn get(&mut self, source: &[u8]) -> Option<Instrumented> {
        if let Some(known) = self.by_source.get(source) {
            return known.clone();
        }
        if self.by_source.len() >= Self::CAPACITY {
            self.by_source.clear();
        }
        let made = instrument(source);
        self.by_source.insert(source.to_vec(), made.clone());
        made
    }
}

/// A captured local's value right after its chunk ran.
#[derive(Debug, Clone)]
enum Initial {
    /// A nil, boolean, number or string: compared with the next version's.
    Scalar(Value),
    /// A function: code, which the next version's replaces.
    Function,
    /// A table, coroutine or userdata: state, kept.
    State,
}

/// The top-level locals of one run of a capturing chunk: the function
/// whose upvalues they are, and the value each had when the chunk's code
/// had run (to tell, at the next reload, whose initial value changed).
#[derive(Debug, Clone)]
pub struct Capture {
    function: Function,
    /// The locals' names, shared by every instance of the chunk.
    names: Arc<[String]>,
    /// Each local's initial value, in `names`' order.
    initial: Vec<Initial>,
}

impl Capture {
    /// Reads the capture `function` a capturing chunk returned: the
    /// locals `names`, in order.
    pub(crate) fn of(function: Function, names: &Arc<[String]>) -> mlua::Result<Capture> {
        let values = function.call::<MultiValue>(())?;
        Ok(Capture::from_parts(function, names.clone(), values))
    }

    /// A capture `require` recorded: the function, the names, and the
    /// values the capture returned right after the module ran.
    pub(crate) fn from_parts(
        function: Function,
        names: Arc<[String]>,
        values: impl IntoIterator<Item = Value>,
    ) -> Capture {
        let initial = values
            .into_iter()
            .chain(std::iter::repeat(Value::Nil))
            .take(names.len())
            .map(|value| match value {
                Value::Function(_) => Initial::Function,
                Value::Nil
                | Value::Boolean(_)
                | Value::Integer(_)
                | Value::Number(_)
                | Value::String(_) => Initial::Scalar(value),
                _ => Initial::State,
            })
            .collect();
        Capture {
            function,
            names,
            initial,
        }
    }

    /// The captured locals' names, in declaration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// The locals both versions declare that take the new version's value:
    /// a function (code is what a reload replaces), or a scalar whose
    /// initial value changed in the file.
    pub(crate) fn renewed_in(&self, newer: &Capture) -> Vec<String> {
        newer
            .names
            .iter()
            .zip(&newer.initial)
            .filter(|(name, new)| {
                let Some(old) = self.names.iter().position(|old| old == *name) else {
                    return false;
                };
                let old = &self.initial[old];
                match (old, new) {
                    (_, Initial::Function) => true,
                    (Initial::Scalar(old), Initial::Scalar(new)) => !same_scalar(old, new),
                    (Initial::Scalar(_), _) | (_, Initial::Scalar(_)) => true,
                    (Initial::Function | Initial::State, Initial::State) => false,
                }
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    pub(crate) fn function(&self) -> &Function {
        &self.function
    }
}

/// What a reload did to a chunk's top-level locals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeptLocals {
    /// Locals both versions declare, sharing one variable now.
    pub kept: Vec<String>,
    /// Kept locals that took the new version's value: their initial value
    /// changed in the file, or they hold a function.
    pub renewed: Vec<String>,
    /// Locals only the new version declares.
    pub added: Vec<String>,
    /// Locals only the old version declared: gone with it.
    pub dropped: Vec<String>,
}

/// The joins, in Lua (the only code that touches the `debug` library):
/// called with the old capture, the new one, an array of the tables the
/// new version's closures are reachable from (its environment, a module's
/// table), and the set of names to renew.
const JOIN: &str = r#"
local getupvalue, setupvalue, upvalueid, upvaluejoin, getmetatable, next, type, sort = ...
return function(old, new, roots, renew)
  local old_at = {}
  local i = 1
  while true do
    local name = getupvalue(old, i)
    if name == nil then break end
    old_at[name] = i
    i = i + 1
  end
  local targets, kept, renewed, added, fresh = {}, {}, {}, {}, {}
  i = 1
  while true do
    local name, value = getupvalue(new, i)
    if name == nil then break end
    local j = old_at[name]
    if j then
      targets[upvalueid(new, i)] = j
      kept[#kept + 1] = name
      if renew[name] then
        renewed[#renewed + 1] = name
        fresh[j] = value
      end
      old_at[name] = false
    else
      added[#added + 1] = name
    end
    i = i + 1
  end
  local dropped = {}
  for name, j in next, old_at do
    if j then dropped[#dropped + 1] = name end
  end
  sort(dropped)
  -- Every closure the new version made, reachable from its environment:
  -- its upvalues that are the new version's locals become the old ones.
  -- The roots' own metatables are the sandbox's (the shared globals):
  -- no closure of the chunk's is there.
  local seen, stack, top = {}, {new}, 1
  for _, root in next, roots do
    top = top + 1
    stack[top] = root
    local meta = getmetatable(root)
    if meta ~= nil then seen[meta] = true end
  end
  while top > 0 do
    local v = stack[top]
    stack[top] = nil
    top = top - 1
    if not seen[v] then
      seen[v] = true
      if type(v) == "table" then
        for k, x in next, v do
          local tk, tx = type(k), type(x)
          if tk == "table" or tk == "function" then top = top + 1; stack[top] = k end
          if tx == "table" or tx == "function" then top = top + 1; stack[top] = x end
        end
        local mt = getmetatable(v)
        if mt ~= nil then top = top + 1; stack[top] = mt end
      else
        local k = 1
        while true do
          local name, x = getupvalue(v, k)
          if name == nil then break end
          local j = targets[upvalueid(v, k)]
          if j then upvaluejoin(v, k, old, j) end
          -- The new value too (a function the new version made, which
          -- shares its locals), even where the old one is kept.
          if type(x) == "table" or type(x) == "function" then
            top = top + 1; stack[top] = x
          end
          k = k + 1
        end
      end
    end
  end
  for j, value in next, fresh do setupvalue(old, j, value) end
  return kept, renewed, added, dropped
end
"#;

/// The base functions the join uses, taken when the state is built (before
/// any script could replace a global).
#[derive(Debug, Clone)]
pub(crate) struct Base {
    next: Function,
    kind: Function,
    sort: Function,
}

impl Base {
    pub(crate) fn of(lua: &Lua) -> mlua::Result<Base> {
        let globals = lua.globals();
        Ok(Base {
            next: globals.raw_get("next")?,
            kind: globals.raw_get("type")?,
            sort: globals.raw_get::<Table>("table")?.raw_get("sort")?,
        })
    }

    /// The state's join function (see `JOIN`).
    pub(crate) fn joiner(&self, lua: &Lua) -> mlua::Result<Function> {
        let debug = crate::trusted::debug_library(lua)?;
        let make = lua
            .load(JOIN)
            .set_name("=zephyr.reload")
            .set_environment(lua.create_table()?)
            .into_function()?;
        make.call((
            debug.raw_get::<Function>("getupvalue")?,
            debug.raw_get::<Function>("setupvalue")?,
            debug.raw_get::<Function>("upvalueid")?,
            debug.raw_get::<Function>("upvaluejoin")?,
            debug.raw_get::<Function>("getmetatable")?,
            self.next.clone(),
            self.kind.clone(),
            self.sort.clone(),
        ))
    }
}

/// A Lua array of strings as a `Vec`.
pub(crate) fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Table(t) => t
            .sequence_values::<String>()
            .filter_map(Result::ok)
            .collect(),
        _ => Vec::new(),
    }
}

/// Re-runs module `...` in the calling environment if it has required it:
/// the new fields go into the old table, so references to it see them.
/// Returns whether it had, and the module's value.
pub(crate) const RELOAD_MODULE: &str = "local name = ...
local loaded = package.loaded
local old = loaded[name]
if old == nil then return false end
loaded[name] = nil
local ok, new = pcall(require, name)
if not ok then loaded[name] = old error(new, 0) end
if type(old) == 'table' and type(new) == 'table' then
  for k, v in pairs(new) do old[k] = v end
  loaded[name] = old
end
return true, loaded[name]";

/// The capture `require` recorded for module `name` in `env`, if any.
pub(crate) fn module_capture(
    captures: &Table,
    env: &Table,
    name: &str,
) -> mlua::Result<Option<Capture>> {
    let Value::Table(of_env) = captures.raw_get::<Value>(env.clone())? else {
        return Ok(None);
    };
    let Value::Table(entry) = of_env.raw_get::<Value>(name)? else {
        return Ok(None);
    };
    let function: Function = entry.raw_get(1)?;
    let names: Arc<[String]> = entry
        .raw_get::<Table>(2)?
        .sequence_values()
        .collect::<mlua::Result<_>>()?;
    let packed: Table = entry.raw_get(3)?;
    let count: usize = packed.raw_get("n")?;
    let values = (1..=count)
        .map(|i| packed.raw_get::<Value>(i))
        .collect::<mlua::Result<Vec<_>>>()?;
    Ok(Some(Capture::from_parts(function, names, values)))
}

/// Whether two scalars are the same (Lua's `==`).
fn same_scalar(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Boolean(x), Value::Boolean(y)) => x == y,
        (Value::String(x), Value::String(y)) => x.as_bytes() == y.as_bytes(),
        (Value::Integer(x), Value::Integer(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::Integer(x), Value::Number(y)) | (Value::Number(y), Value::Integer(x)) => {
            *x as f64 == *y
        }
        _ => false,
    }
}
