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
--
-- Two rules hold everywhere below, because scripts control the values the
-- sandbox handles:
-- * tables the sandbox owns are compared with `rawequal`, never `==` (an
--   object whose metatable chain defines `__eq` would answer `==` with its
--   own code, and could pass for an environment);
-- * errors the wrappers raise, or pass on from the C functions they wrap,
--   name the script's line (`raise` finds it on the stack past the
--   sandbox's own frames), never the sandbox's.
local rust, api = ...
local profile, halted, error_text = rust.profile, rust.halted, rust.error_text
local raise, with_caller_env, charge = rust.raise, rust.with_caller_env, rust.charge
local trusted = profile == "trusted"

local G = _G
local error, type, pairs, next, tostring, select = error, type, pairs, next, tostring, select
local rawget, rawset, rawequal, rawlen, setmetatable = rawget, rawset, rawequal, rawlen, setmetatable
local raw_getmetatable = getmetatable
local raw_load, raw_pcall, raw_xpcall = load, pcall, xpcall
local co_resume, co_close = coroutine.resume, coroutine.close
local str_find, str_sub = string.find, string.sub

-- Read-only proxies ---------------------------------------------------------
-- `frozen[proxy]` is the table a proxy shows (weak keys: one entry per
-- proxy; the package proxy, which shows no table, maps to `true`).
local frozen = setmetatable({}, { __mode = "k" })

local function refuse_write(_, key)
  raise("attempt to modify read-only field '" .. tostring(key) .. "'")
end

-- A proxy of `t`: reads go through, writes fail, `pairs` and `#` work. The
-- proxy's metatable is protected and its `__pairs` iterates with a closure,
-- so no script ever holds `t` itself (handing `t` out as the iteration
-- state would let `rawset` change it for every script on the state).
-- The functions every proxy's metatable shares (a pooled state holds ~27
-- frozen tables: three closures each would be ~6 KB of it); each proxy's
-- table is found through `frozen`.
local function iterate(proxy, key) return next(frozen[proxy], key) end
local function proxy_pairs(proxy)
  -- An engine module whose functions are made on first use (its metatable
  -- says how): made now, so that `pairs` lists them.
  local t = frozen[proxy]
  local mt = raw_getmetatable(t)
  if type(mt) == "table" and rawget(mt, "__zephyr_lazy") then mt.__zephyr_lazy(t) end
  return iterate, proxy, nil
end
local function proxy_len(proxy) return #frozen[proxy] end

local function freeze(t)
  local proxy = {}
  frozen[proxy] = t
  -- Four fields fill a hash part of four slots; a fifth would double it.
  -- So `__len` only where it answers differently from the empty proxy (a
  -- table with an array part: the libraries and engine modules have none).
  local mt = { __index = t, __newindex = refuse_write, __pairs = proxy_pairs, __metatable = "read-only table" }
  if rawlen(t) > 0 then mt.__len = proxy_len end
  return setmetatable(proxy, mt)
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

-- Errors of the C functions the wrappers call ---------------------------------
-- A C function's own errors name its caller's line, and the wrapper is its
-- caller; its argument errors name it by the wrapper's local name
-- (`s_rep`). So a wrapper whose C function may raise calls it through
-- `call_as`, which raises those errors again as stock Lua words them
-- (`bad argument #2 to 'string.rep' ...`), at the script's line. Errors
-- from the script's own code (a `table.sort` comparator) pass untouched.
local function is_own(message, own)
  if str_sub(message, 1, 14) == "bad argument #" then return true end
  for i = 1, #own do
    if str_find(message, own[i], 1, true) == 1 then return true end
  end
  return false
end

local function renamed(message, name)
  if str_sub(message, 1, 14) ~= "bad argument #" then return message end
  local open = str_find(message, " to '", 15, true)
  local close = open and str_find(message, "'", open + 5, true)
  if not close then return message end
  return str_sub(message, 1, open + 4) .. name .. str_sub(message, close)
end

local function finish_as(name, own, ok, ...)
  if ok then return ... end
  local e = ...
  if type(e) == "string" and not halted() and is_own(e, own) then
    raise(renamed(e, name))
  end
  error(e, 0)
end

local no_own = {}
-- Call it as `return (call_as(...))`, not in a tail call: `raise` reads the
-- wrapper's frame to word an argument error for the call the script wrote
-- (its name for the function, `s:rep(x)` a method call).
local function call_as(name, own, f, ...)
  return finish_as(name, own, raw_pcall(f, ...))
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
  package.path = rust.trusted_package_path .. ";" .. package.path
  -- An error an engine function raises is userdata; `tostring` of it is
  -- its message, as a string error's would be (mlua's says
  -- "runtime error: ..." and appends a traceback).
  local _, engine_error = raw_pcall(rust.raise, "")
  local error_mt = debug.getmetatable(engine_error)
  if type(error_mt) == "table" then
    rawset(error_mt, "__tostring", function(e) return error_text(e) end)
  end
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
  "assert", "ipairs", "pairs", "rawequal", "rawlen", "select", "tonumber",
  "tostring", "type", "_VERSION",
}) do
  base[name] = G[name]
end
local raw_rawget, raw_next = rawget, next

base.pcall = function(...)
  local f = ...
  if f == nil and select("#", ...) == 0 then
    raise("bad argument #1 to 'pcall' (value expected)")
  end
  return rethrow(raw_pcall(...))
end
base.xpcall = function(f, ...)
  local handler = ...
  if type(handler) ~= "function" then
    local got = select("#", ...) == 0 and "no value" or type(handler)
    raise("bad argument #2 to 'xpcall' (function expected, got " .. got .. ")")
  end
  -- A budget error is raised from the instruction hook, and Lua runs the
  -- message handler before it re-enables hooks: a looping handler would never
  -- be stopped. So a halted execution skips the script's handler.
  return rethrow(raw_xpcall(f, function(e)
    if halted() then return e end
    return handler(error_text(e))
  end, select(2, ...)))
end

-- `error({code = 42})` would reach the host as "table: 0x55...": the
-- table is described (its fields, shortly) for the host as it is raised.
-- Being a Lua function, this `error` counts one level more than Lua's.
local raw_error = error
local note_error_table = rust.note_error_table
local math_type, tointeger = math.type, math.tointeger
base.error = function(v, level)
  if type(v) == "table" then note_error_table(v) end
  if level == nil then level = 1 end
  local n = tointeger(level)
  if n == nil then return (call_as("error", no_own, raw_error, v, level)) end
  if n > 0 then n = n + 1 end
  return raw_error(v, n)
end

base.rawset = function(t, ...)
  if type(t) ~= "table" or select("#", ...) < 2 then
    return (call_as("rawset", no_own, rawset, t, ...))
  end
  if frozen[t] then raise("rawset: table is read-only") end
  return rawset(t, ...)
end

local coroutine_lib = {}
for k, v in pairs(coroutine) do coroutine_lib[k] = v end
coroutine_lib.resume = function(co, ...)
  if type(co) ~= "thread" then return (call_as("coroutine.resume", no_own, co_resume, co, ...)) end
  return rethrow(co_resume(co, ...))
end
local close_own = { "cannot close a " }
coroutine_lib.close = function(co)
  return rethrow(call_as("coroutine.close", close_own, co_close, co))
end
base.coroutine = coroutine_lib

base.string, base.math, base.utf8 = string, math, utf8
base.debug = rust.safe_debug
-- A table filled on first use by `fill(t)`: the first read of a missing
-- name (or `pairs`, through the proxy's `__zephyr_lazy`) fills it, then
-- the table is plain.
local function lazy(t, fill)
  local mt = {}
  local function make()
    setmetatable(t, nil)
    fill(t)
  end
  mt.__index = function(_, key) make() return rawget(t, key) end
  mt.__zephyr_lazy = make
  return setmetatable(t, mt)
end
local make_io = rust.make_io
base.io = lazy({}, function(t)
  for k, v in pairs(make_io()) do t[k] = v end
end)

-- C functions whose time their input does not bound -------------------------
-- The budget counts VM instructions, and a C function runs as one. Most of
-- the standard library takes time in proportion to its input, which the
-- memory limit bounds; these do not, so they charge their work to the
-- budget first (the pattern functions count their own steps, in Rust).
local s_rep, t_move, t_unpack, t_sort = string.rep, table.move, table.unpack, table.sort

-- `string.rep("", math.maxinteger)` copies nothing a quintillion times
-- (a non-empty result is bounded by the memory limit).
local rep_own = { "resulting string too large" }
string.rep = function(...)
  local s, n, sep = ...
  if math_type(n) and n > 4096 and s == "" and (sep == nil or sep == "") then
    charge(n, "string.rep")
  end
  return (call_as("string.rep", rep_own, s_rep, ...))
end

local function span(i, j)
  i, j = tointeger(i), tointeger(j)
  if i and j and j - i > 4096 then return j - i end
  return 0
end

local table_lib = {}
for k, v in pairs(table) do table_lib[k] = v end
-- `table.move({}, 1, math.maxinteger - 1, 2)` moves nils for ever.
local move_own = { "too many elements to move", "destination wrap around" }
local maxinteger = math.maxinteger
table_lib.move = function(...)
  local _, f, e, t = ...
  local steps = span(f, e)
  -- Charged only for a move that Lua's own checks let through.
  local first, to = tointeger(f), tointeger(t)
  if steps > 0 and first and to and (first > 0 or steps < maxinteger + first)
      and to <= maxinteger - steps then
    charge(steps, "table.move")
  end
  return (call_as("table.move", move_own, t_move, ...))
end
-- `table.unpack({}, 1, 999999)` pushes a million nils per call. Its
-- results are not passed through `call_as` (whose varargs would hold them
-- twice on the stack): arguments that cannot fail go straight to Lua's.
local unpack_own = { "too many results to unpack" }
local max_results = 1000000 -- LUAI_MAXSTACK
table_lib.unpack = function(...)
  local list, i, j = ...
  local first, last = tointeger(i or 1), j
  if j ~= nil then last = tointeger(j) end
  if first == nil or (j ~= nil and last == nil) then
    return (call_as("table.unpack", unpack_own, t_unpack, ...))
  end
  if last ~= nil and last >= first then
    if last - first >= max_results - 1 or last - first < 0 then
      raise("too many results to unpack")
    end
    if last - first > 4096 then charge(last - first, "table.unpack") end
  end
  return t_unpack(...)
end
-- n log n comparisons.
local sort_own = { "array too big", "invalid order function for sorting" }
table_lib.sort = function(...)
  local list = ...
  local n = type(list) == "table" and #list or 0
  if n > 256 then charge(n * math.log(n, 2), "table.sort") end
  call_as("table.sort", sort_own, t_sort, ...)
end
base.table = table_lib

-- string.dump produces bytecode, and bytecode is a known sandbox escape.
-- Remove it from the real table, which strings reach through their metatable.
string.dump = nil
getmetatable("").__metatable = "read-only table"

local gc_options = { count = true, collect = true, step = true, isrunning = true }
local raw_collectgarbage = collectgarbage
base.collectgarbage = function(option, ...)
  option = option or "collect"
  if type(option) ~= "string" then
    return (call_as("collectgarbage", no_own, raw_collectgarbage, option, ...))
  end
  if not gc_options[option] then
    raise("collectgarbage: option '" .. option ..
      "' is not allowed in sandboxed scripts (allowed: collect, count, step, isrunning)")
  end
  -- A full collection walks the whole heap, whatever the call's input.
  if option == "collect" or option == "step" then
    charge(raw_collectgarbage("count") * 64, "collectgarbage")
  end
  return (call_as("collectgarbage", no_own, raw_collectgarbage, option, ...))
end

local safe_os = lazy({}, rust.make_os_left_out)
rawset(safe_os, "clock", os.clock)
rawset(safe_os, "time", os.time)
rawset(safe_os, "date", os.date)
rawset(safe_os, "difftime", os.difftime)
base.os = safe_os

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
local make_loaders = rust.make_loaders

local function materialize(env)
  make_loaders(base)
  setmetatable(env, nil)
  for k, v in raw_next, base do
    if raw_rawget(env, k) == nil then rawset(env, k, v) end
  end
end

env_mt.__pairs = function(env)
  materialize(env)
  return raw_next, env, nil
end

-- The hot wrappers take fixed parameters (a vararg function costs more per
-- call in Lua 5.4) and check only what their fast path needs; anything
-- else goes through `call_as`, which gives stock Lua's errors.
base.next = function(t, k)
  if type(t) ~= "table" then return (call_as("next", no_own, raw_next, t, k)) end
  if rawequal(raw_getmetatable(t), env_mt) then materialize(t) end
  return raw_next(t, k)
end

base.rawget = function(...)
  local t, k = ...
  if type(t) ~= "table" or (k == nil and select("#", ...) < 2) then
    return (call_as("rawget", no_own, raw_rawget, ...))
  end
  if rawequal(raw_getmetatable(t), env_mt) then materialize(t) end
  return raw_rawget(t, k)
end

base.getmetatable = function(...)
  local t = ...
  local mt = raw_getmetatable(t)
  if mt == nil then
    if t == nil and select("#", ...) == 0 then
      raise("bad argument #1 to 'getmetatable' (value expected)")
    end
    return nil
  end
  if rawequal(mt, env_mt) then
    materialize(t)
    return nil
  end
  return mt
end

local protected_own = { "cannot change a protected metatable" }
-- (With fixed parameters `setmetatable(t)` reads as `setmetatable(t, nil)`,
-- where stock Lua asks for the second argument.)
base.setmetatable = function(t, mt)
  if type(mt) == "table" and type(t) == "table" and raw_getmetatable(t) == nil then
    if raw_rawget(mt, "__gc") ~= nil then
      -- A finalizer would run later, inside whatever script happens to be
      -- running on this state then.
      raise("setmetatable: __gc metamethods are not allowed in sandboxed scripts")
    end
    return setmetatable(t, mt)
  end
  if type(mt) == "table" and raw_rawget(mt, "__gc") ~= nil then
    raise("setmetatable: __gc metamethods are not allowed in sandboxed scripts")
  end
  if type(t) == "table" and rawequal(raw_getmetatable(t), env_mt) then materialize(t) end
  return (call_as("setmetatable", protected_own, setmetatable, t, mt))
end

-- `debug.getmetatable` as `getmetatable` answers (it does not see past a
-- `__metatable` field: the protected metatables are the ones scripts
-- share), for libraries that call it instead.
rust.safe_debug.getmetatable = base.getmetatable

-- Loaders (made on first use) ----------------------------------------------
-- `load`, `loadfile`, `dofile`, `require` and `package` (`loaders.lua`)
-- are compiled the first time a script reads one of them or lists its
-- `_G` (`materialize`): a pooled state whose scripts load no code does not
-- hold them (about 9 KB). Until then a name the base lacks is looked up
-- through this metatable, whose `__index` is `rust.make_loaders`, a Rust
-- function: it costs no VM instructions and runs the chunk outside the
-- budget, so an execution's instruction count never depends on what
-- earlier executions on the state touched. The chunk takes what it needs
-- of the sandbox from the metatable, and takes the metatable off. (Once
-- built, the sandbox holds no reference to the `rust` table: what it
-- keeps using, it keeps as upvalues.)
setmetatable(base, {
  __index = make_loaders,
  raise = raise, with_caller_env = with_caller_env, error_text = error_text, frozen = frozen,
})

return function()
  -- Made with its one field's slot, so setting `_G` does not resize it.
  local env = { _G = false }
  env._G = env
  return setmetatable(env, env_mt)
end
