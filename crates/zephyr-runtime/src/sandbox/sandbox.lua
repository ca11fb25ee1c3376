-- Builds the environments scripts run in. Runs once per Lua state, as trusted
-- code with the raw globals, and returns `new_env()`.
--
-- Safe profile: every script runs in its own environment table that falls
-- back to `base`, the allowed standard library plus the engine API, frozen
-- (read-only). Globals a script sets land in its own table and vanish with
-- it, and the shared tables cannot be changed, so a pooled state comes back
-- clean.
--
-- Trusted profile: stock Lua. Every execution gets its own full copy of the
-- global table (`_G` is that copy), over the real, unfrozen libraries.
local profile, api, halted, error_text, read_script, read_module, with_caller_env,
  safe_debug, roots_path, charge, note_error_table = ...
local trusted = profile == "trusted"

local G = _G
local error, type, pairs, next, tostring, select = error, type, pairs, next, tostring, select
local rawget, rawset, setmetatable = rawget, rawset, setmetatable
local raw_getmetatable = getmetatable
local raw_load, raw_pcall, raw_xpcall = load, pcall, xpcall
local co_resume, co_close = coroutine.resume, coroutine.close

-- Read-only proxies ---------------------------------------------------------
local frozen = setmetatable({}, { __mode = "k" })

local function refuse_write(_, key)
  error("attempt to modify read-only field '" .. tostring(key) .. "'", 2)
end

-- A proxy of `t`: reads go through, writes fail, `pairs` and `#` work. The
-- proxy's metatable is protected and its `__pairs` iterates with a closure,
-- so no script ever holds `t` itself (handing `t` out as the iteration
-- state would let `rawset` change it for every script on the state).
-- The functions every proxy's metatable shares (a pooled state holds ~25
-- frozen tables: three closures each would be ~6 KB of it); each proxy's
-- table is found through `target_of`.
local target_of = setmetatable({}, { __mode = "k" })
local function iterate(proxy, key) return next(target_of[proxy], key) end
local function proxy_pairs(proxy)
  -- An engine module whose functions are made on first use (its metatable
  -- says how): made now, so that `pairs` lists them.
  local t = target_of[proxy]
  local mt = raw_getmetatable(t)
  if type(mt) == "table" and rawget(mt, "__zephyr_lazy") then mt.__zephyr_lazy(t) end
  return iterate, proxy, nil
end
local function proxy_len(proxy) return #target_of[proxy] end

local function freeze(t)
  local proxy = {}
  frozen[proxy] = true
  target_of[proxy] = t
  return setmetatable(proxy, {
    __index = t,
    __newindex = refuse_write,
    __pairs = proxy_pairs,
    __len = proxy_len,
    __metatable = "read-only table",
  })
end

-- Freezes `t` and the tables inside it, in place: nested tables are
-- replaced by their proxies. Only for tables no script can reach otherwise
-- (the engine API, made for this state; the standard library, which
-- scripts see only through these proxies).
local function freeze_deep(t)
  for k, v in pairs(t) do
    if type(v) == "table" and not frozen[v] then rawset(t, k, freeze_deep(v)) end
  end
  return freeze(t)
end

-- Errors that must not be swallowed ------------------------------------------
-- Once an execution is halted (instruction budget exceeded, or a worker
-- script needs the main thread), pcall, xpcall and coroutine.resume re-raise
-- instead of returning false, so `while true do pcall(f) end` still stops.
-- A caught error reaches the script as a plain string (engine errors travel
-- as userdata inside Lua), so `"failed: " .. err` works as with Lua's own.
local function rethrow(ok, ...)
  if ok then return ok, ... end
  if halted() then error((...), 0) end
  return false, error_text((...))
end

-- Loaders ---------------------------------------------------------------------
-- `load`, `loadfile`, `dofile` (and in the safe profile `require`) are shared
-- by every environment and act in the calling script's own environment
-- (never the raw globals). `with_caller_env(f)` wraps `f` in a Rust function
-- that finds that environment on the call stack and calls `f(env, ...)`;
-- being a C function, it keeps its caller's frame even when called in a
-- tail call (`return require("x")`). As in Lua, an explicit `nil`
-- environment argument means no environment. The safe profile takes text
-- chunks only and reads files only inside the configured script roots.
local function load_in(env, chunk, chunkname, mode, ...)
  local chunk_env = env
  if select("#", ...) > 0 then chunk_env = ... end
  if not trusted then mode = "t" end
  return raw_load(chunk, chunkname, mode, chunk_env)
end

local function loadfile_in(env, path, mode, ...)
  local ok, source, chunkname = raw_pcall(read_script, path)
  if not ok then return nil, tostring(source) end
  return load_in(env, source, "@" .. chunkname, mode, ...)
end

local function dofile_in(env, path)
  local f, err = loadfile_in(env, path)
  if not f then error(err, 0) end
  return f()
end

-- Tables a script sees read-only: the engine API always; in the safe
-- profile the standard library too.
for k, v in pairs(api) do
  if type(v) == "table" then api[k] = freeze_deep(v) end
end

if trusted then
  -- Stock `load`, `loadfile`, `dofile` and `require`: the state makes each
  -- execution's environment its global table while it runs (see
  -- `ScriptState::enter`), so what they load sees that `_G`.
  -- `print` stays Lua's own, writing to the process's standard output
  -- (line-buffered, so its lines interleave with the host's in order); the
  -- engine's print sink serves the safe profile.
  for k, v in pairs(api) do
    if k ~= "print" then G[k] = v end
  end
  io.stdout:setvbuf("line")
  -- `require` finds modules in the script roots first.
  package.path = roots_path .. ";" .. package.path
  local names, values = {}, {}
  for k, v in next, G do
    names[#names + 1], values[#values + 1] = k, v
  end
  local count = #names
  return function()
    local env = {}
    for i = 1, count do env[names[i]] = values[i] end
    env._G = env
    return env
  end
end

-- The base environment (safe profile) ------------------------------------------
local base = {}
for _, name in ipairs({
  "assert", "error", "getmetatable", "ipairs", "next", "pairs", "rawequal",
  "rawget", "rawlen", "select", "tonumber", "tostring", "type", "_VERSION",
}) do
  base[name] = G[name]
end

base.pcall = function(f, ...) return rethrow(raw_pcall(f, ...)) end
base.xpcall = function(f, handler, ...)
  if type(handler) ~= "function" then
    error("bad argument #2 to 'xpcall' (function expected, got " .. type(handler) .. ")", 2)
  end
  -- A budget error is raised from the instruction hook, and Lua runs the
  -- message handler before it re-enables hooks: a looping handler would never
  -- be stopped. So a halted execution skips the script's handler.
  return rethrow(raw_xpcall(f, function(e)
    if halted() then return e end
    return handler(error_text(e))
  end, ...))
end

-- `error({code = 42})` would reach the host as "table: 0x55...": the
-- table is described (its fields, shortly) for the host as it is raised.
-- Being a Lua function, this `error` counts one level more than Lua's.
local raw_error = error
base.error = function(v, level)
  if type(v) == "table" then note_error_table(v) end
  if level == nil then level = 1 end
  if math.type(level) and level > 0 then level = level + 1 end
  return raw_error(v, level)
end

base.rawset = function(t, k, v)
  if frozen[t] then error("rawset: table is read-only", 2) end
  return rawset(t, k, v)
end

local coroutine_lib = {}
for k, v in pairs(coroutine) do coroutine_lib[k] = v end
coroutine_lib.resume = function(co, ...) return rethrow(co_resume(co, ...)) end
coroutine_lib.close = function(co) return rethrow(co_close(co)) end
base.coroutine = coroutine_lib

base.string, base.math, base.utf8 = string, math, utf8
base.debug = safe_debug

-- C functions whose time their input does not bound -------------------------
-- The budget counts VM instructions, and a C function runs as one. Most of
-- the standard library takes time in proportion to its input, which the
-- memory limit bounds; these do not, so they charge their work to the
-- budget first (the pattern functions count their own steps, in Rust).
local s_rep, t_move, t_unpack, t_sort = string.rep, table.move, table.unpack, table.sort
local math_type, tointeger = math.type, math.tointeger

-- `string.rep("", math.maxinteger)` copies nothing a quintillion times
-- (a non-empty result is bounded by the memory limit).
string.rep = function(s, n, sep)
  if math_type(n) and n > 4096 and s == "" and (sep == nil or sep == "") then
    charge(n, "string.rep")
  end
  return s_rep(s, n, sep)
end

local function span(i, j)
  i, j = tointeger(i), tointeger(j)
  if i and j and j - i > 4096 then return j - i end
  return 0
end

local table_lib = {}
for k, v in pairs(table) do table_lib[k] = v end
-- `table.move({}, 1, math.maxinteger - 1, 2)` moves nils for ever.
table_lib.move = function(a1, f, e, ...)
  local steps = span(f, e)
  if steps > 0 then charge(steps, "table.move") end
  return t_move(a1, f, e, ...)
end
-- `table.unpack({}, 1, 999999)` pushes a million nils per call.
table_lib.unpack = function(list, i, j)
  local steps = span(i or 1, j)
  if steps > 0 then charge(steps, "table.unpack") end
  return t_unpack(list, i, j)
end
-- n log n comparisons.
table_lib.sort = function(list, comp)
  local n = type(list) == "table" and #list or 0
  if n > 256 then charge(n * math.log(n, 2), "table.sort") end
  return t_sort(list, comp)
end
base.table = table_lib

-- string.dump produces bytecode, and bytecode is a known sandbox escape.
-- Remove it from the real table, which strings reach through their metatable.
string.dump = nil
getmetatable("").__metatable = "read-only table"

local gc_options = { count = true, collect = true, step = true, isrunning = true }
base.collectgarbage = function(option, ...)
  option = option or "collect"
  if not gc_options[option] then
    error("collectgarbage: option '" .. tostring(option) ..
      "' is not allowed in sandboxed scripts (allowed: collect, count, step, isrunning)", 2)
  end
  -- A full collection walks the whole heap, whatever the call's input.
  if option == "collect" or option == "step" then
    charge(collectgarbage("count") * 64, "collectgarbage")
  end
  return collectgarbage(option, ...)
end

base.os = {
  clock = os.clock, time = os.time, date = os.date, difftime = os.difftime,
}

-- The engine API (console, cvar, ... and `print`) overrides the defaults.
for k, v in pairs(api) do base[k] = v end

for k, v in pairs(base) do
  if type(v) == "table" and not frozen[v] then base[k] = freeze_deep(v) end
end

-- Environments ----------------------------------------------------------------
-- An environment is a table holding `_G` and the script's own globals, with
-- one metatable shared by every environment of the state (its __index is the
-- base table itself, one hop), so an environment costs one small table: a
-- scene of 10,000 behaviours has 10,000 of them.
--
-- A script that looks at `_G` itself (`pairs`, `next`, `rawget`,
-- `getmetatable`, `setmetatable`) first gets the built-ins copied into its
-- own table, and the shared metatable taken off: from then on `_G` is a
-- plain table holding everything, as in stock Lua (so the strict-globals
-- idiom `setmetatable(_G, {__index = function(_, k) error(...) end})`
-- works), and the base stays unreachable.
local env_mt = { __index = base }

local function materialize(env)
  setmetatable(env, nil)
  for k, v in next, base do
    if rawget(env, k) == nil then rawset(env, k, v) end
  end
end

env_mt.__pairs = function(env)
  materialize(env)
  return next, env, nil
end

base.next = function(t, k)
  if raw_getmetatable(t) == env_mt then materialize(t) end
  return next(t, k)
end

base.rawget = function(t, k)
  if raw_getmetatable(t) == env_mt then materialize(t) end
  return rawget(t, k)
end

base.getmetatable = function(t)
  if raw_getmetatable(t) == env_mt then materialize(t) end
  return raw_getmetatable(t)
end

base.setmetatable = function(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    -- A finalizer would run later, inside whatever script happens to be
    -- running on this state then.
    error("setmetatable: __gc metamethods are not allowed in sandboxed scripts", 2)
  end
  if raw_getmetatable(t) == env_mt then materialize(t) end
  return setmetatable(t, mt)
end

base.load = with_caller_env(load_in)
base.loadfile = with_caller_env(loadfile_in)
base.dofile = with_caller_env(dofile_in)

-- Modules ---------------------------------------------------------------------
-- Modules run in the requiring script's environment and are cached per
-- environment (its `package.loaded`, which starts with the libraries), so
-- instances and jobs never share module state.
local libraries = { "coroutine", "debug", "math", "os", "string", "table", "utf8" }
local loaded_by_env = setmetatable({}, { __mode = "k" })

local package_proxy = {}
frozen[package_proxy] = true

local function loaded_of(env)
  local loaded = loaded_by_env[env]
  if loaded == nil then
    loaded = { _G = env, package = package_proxy }
    for _, name in ipairs(libraries) do loaded[name] = base[name] end
    loaded_by_env[env] = loaded
  end
  return loaded
end

local package_fields = { path = roots_path, config = package.config }
setmetatable(package_proxy, {
  __index = with_caller_env(function(env, _, key)
    if key == "loaded" then return loaded_of(env) end
    return package_fields[key]
  end),
  __newindex = refuse_write,
  __metatable = "read-only table",
})
base.package = package_proxy

base.require = with_caller_env(function(env, name)
  if type(name) ~= "string" then
    error("bad argument #1 to 'require' (string expected, got " .. type(name) .. ")", 0)
  end
  local loaded = loaded_of(env)
  local value = loaded[name]
  if value ~= nil then return value end
  local source, chunkname = read_module(name)
  local f, err = raw_load(source, "@" .. chunkname, "t", env)
  if not f then error(err, 0) end
  value = f(name, chunkname)
  if value == nil then value = loaded[name] end
  if value == nil then value = true end
  loaded[name] = value
  return value, chunkname
end)

return function()
  local env = setmetatable({}, env_mt)
  env._G = env
  return env
end
