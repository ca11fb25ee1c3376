-- =zephyr.debugger: what the debugger reads of a stopped thread.
--
-- Its arguments are functions of Lua's debug library (and two of the
-- runtime's): this chunk runs once, in an environment of its own, and the
-- table it returns is held by the runtime alone. No script can reach these
-- functions. Every helper is called from Rust, from the hook of the stopped
-- thread, so the stopped function is the one just under the helper.
local getinfo, getlocal, setlocal, getupvalue, setupvalue, compile, run, state_globals = ...

local M = {}

-- The level of the stopped function's frame `frame` (0: the stopped one),
-- as `helper` (which called this) counts levels: where this function sees
-- `helper`, `helper` sees its caller, the stopped function.
local function level_of(helper, frame)
  for level = 1, 250 do
    local info = getinfo(level, "f")
    if info == nil then return nil end
    if info.func == helper then return level + frame end
  end
end

-- A function's `_ENV` upvalue, if it has one.
local function env_of(func)
  local i = 1
  while true do
    local name, value = getupvalue(func, i)
    if name == nil then return nil end
    if name == "_ENV" then return value end
    i = i + 1
  end
end

-- A function's name as its script knows it: a field of its environment
-- that holds it (the engine calls `on_update` by name, from Rust).
local function global_name(func)
  local env = env_of(func)
  if type(env) ~= "table" then return nil end
  for key, v in next, env do
    if v == func and type(key) == "string" then return key end
  end
  return nil
end

function M.frames()
  local first = level_of(M.frames, 0)
  local frames = {}
  local level = first
  while true do
    local info = getinfo(level, "nSlf")
    if info == nil then break end
    local name = info.name
    -- The runtime's own Lua names what it calls for itself (the task
    -- scheduler calls every task's function `fn`): not the script's name.
    local caller = getinfo(level + 1, "S")
    if caller and caller.source:sub(1, 8) == "=zephyr."
        and info.source:sub(1, 8) ~= "=zephyr." then
      name = nil
    end
    if name == nil and info.what == "Lua" then name = global_name(info.func) end
    if name == nil and info.what == "main" then name = "main chunk" end
    frames[#frames + 1] = {
      name = name,
      what = info.what,
      source = info.short_src,
      line = info.currentline,
      defined = info.linedefined,
    }
    level = level + 1
  end
  return frames
end

-- The locals of frame `frame`: names and values, in order (a name that
-- comes twice is two variables: the later one shadows), varargs last.
function M.locals(frame)
  local level = level_of(M.locals, frame)
  local names, values = {}, {}
  if level == nil then return names, values, 0 end
  local i = 1
  while true do
    local name, value = getlocal(level, i)
    if name == nil then break end
    if name:sub(1, 1) ~= "(" then
      names[#names + 1] = name
      values[#names] = value
    end
    i = i + 1
  end
  i = -1
  while true do
    local name, value = getlocal(level, i)
    if name == nil then break end
    names[#names + 1] = "..." .. -i
    values[#names] = value
    i = i - 1
  end
  return names, values, #names
end

function M.upvalues(frame)
  local level = level_of(M.upvalues, frame)
  local names, values = {}, {}
  local info = level and getinfo(level, "f")
  if info == nil then return names, values, 0 end
  local i = 1
  while true do
    local name, value = getupvalue(info.func, i)
    if name == nil then break end
    if name ~= "_ENV" then
      names[#names + 1] = name
      values[#names] = value
    end
    i = i + 1
  end
  return names, values, #names
end

-- The frame's environment: its `_ENV` upvalue, or its callers'.
function M.globals(frame)
  local level = level_of(M.globals, frame)
  while level ~= nil do
    local info = getinfo(level, "f")
    if info == nil then return nil end
    local env = env_of(info.func)
    if env ~= nil then return env end
    level = level + 1
  end
end

-- Evaluates `code` (an expression, or statements) in frame `frame`: its
-- locals, then its upvalues, then its environment. Assigning a local or an
-- upvalue changes it in the frame. Returns true and the values, or false
-- and the message.
function M.evaluate(frame, code, chunkname)
  local level = level_of(M.evaluate, frame)
  if level == nil then return false, "no such frame" end
  local func = getinfo(level, "f").func
  -- The values now: the code runs on a thread of its own (so that a loop
  -- in it can be stopped), where this frame is not on the stack.
  local locals, upvalues, values = {}, {}, {}
  local i = 1
  while true do
    local name, value = getlocal(level, i)
    if name == nil then break end
    if name:sub(1, 1) ~= "(" then
      locals[name] = i
      values[name] = { value = value }
    end
    i = i + 1
  end
  local env
  i = 1
  while true do
    local name, value = getupvalue(func, i)
    if name == nil then break end
    if name == "_ENV" then
      env = value
    elseif values[name] == nil then
      upvalues[name] = i
      values[name] = { value = value }
    end
    i = i + 1
  end
  -- A function that names no global has no `_ENV`: its callers' is the
  -- environment it was written in.
  local below = level + 1
  while env == nil do
    local info = getinfo(below, "f")
    if info == nil then break end
    env = env_of(info.func)
    below = below + 1
  end
  -- None on the stack (the caller tail-called): the state's globals.
  env = env or state_globals
  local writes = {}
  local proxy = setmetatable({}, {
    __metatable = false,
    __index = function(_, key)
      local held = values[key]
      if held ~= nil then return held.value end
      if env ~= nil then return env[key] end
      return nil
    end,
    __newindex = function(_, key, value)
      if values[key] ~= nil then
        values[key] = { value = value }
        writes[key] = true
      elseif env ~= nil then
        env[key] = value
      end
    end,
  })
  local f, err = compile("return " .. code, chunkname, proxy)
  if f == nil then
    f, err = compile(code, chunkname, proxy)
    if f == nil then return false, err end
  end
  local results = table.pack(run(f))
  for key in next, writes do
    if locals[key] then
      setlocal(level, locals[key], values[key].value)
    else
      setupvalue(func, upvalues[key], values[key].value)
    end
  end
  return table.unpack(results, 1, results.n)
end

return M
