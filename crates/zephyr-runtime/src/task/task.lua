-- zephyr.task: coroutines that wait in game time. Runs once per main state,
-- as trusted code, and returns the scheduler's hooks for the host (see
-- task/mod.rs); scripts see only the `zephyr.task` functions.
--
-- A task is a coroutine. `spawn` runs it at once until its first wait;
-- waiting tasks resume at one point of the frame (after the serial
-- `on_update`s), in order of due time, then creation. A task belongs to the
-- behaviour instance whose code spawned it, and ends with it.
local module, caller_env, on_main, elapsed, frame = ...

local co_create, co_resume, co_yield = coroutine.create, coroutine.resume, coroutine.yield
local co_status, co_running, co_close = coroutine.status, coroutine.running, coroutine.close
local error, type, select, setmetatable, tostring = error, type, select, setmetatable, tostring
local math_type, sort = math.type, table.sort

local WAIT = {}                                   -- what a waiting task yields
local records = setmetatable({}, { __mode = "k" }) -- handle -> record
local by_coroutine = setmetatable({}, { __mode = "k" })
local owners = setmetatable({}, { __mode = "k" }) -- environment -> owner id
local waiting = {}                                -- records, in no order
local failures = {}                               -- { owner, message } for the host
local created = 0

local Handle = {}
Handle.__index = Handle
Handle.__name = "zephyr.task"
Handle.__metatable = "zephyr.task"
Handle.__tostring = function(h)
  local r = records[h]
  return "task " .. r.id .. " (" .. r.status .. ")"
end

-- Raised at the script's line: 1 is `fail`, 2 the check, 3 the
-- `zephyr.task` function, 4 the script that called it.
local function fail(name, message)
  error("zephyr.task." .. name .. ": " .. message, 4)
end

local function check_main(name)
  if not on_main then
    fail(name, "tasks live on the main thread, and this script runs on a worker " ..
      "(a job, or a parallel behaviour's state)")
  end
end

local function record_of(name, handle)
  local r = records[handle]
  if r == nil then fail(name, "argument 1 (task) must be a task handle, got " .. type(handle)) end
  return r
end

-- Runs a record until it waits, ends or fails; false and the error if it
-- failed.
local function step(r, ...)
  r.status = "running"
  local ok, what, amount = co_resume(r.co, ...)
  if not ok then
    r.status = "failed"
    return false, what
  end
  if co_status(r.co) == "dead" then
    if r.status ~= "cancelled" then r.status = "done" end
    return true
  end
  if r.status == "cancelled" then
    co_close(r.co)
    return true
  end
  if what == WAIT and amount.frames then
    r.due_frame, r.due_time = frame() + amount.frames, nil
  elseif what == WAIT then
    r.due_time, r.due_frame = elapsed() + amount.seconds, nil
  else
    -- A plain coroutine.yield in a task: it goes on next frame.
    r.due_frame, r.due_time = frame() + 1, nil
  end
  r.status = "waiting"
  waiting[#waiting + 1] = r
  return true
end

local function spawn_owned(owner, fn, ...)
  created = created + 1
  local handle = setmetatable({}, Handle)
  local r = { id = created, owner = owner, status = "running", co = co_create(fn), handle = handle }
  records[handle] = r
  by_coroutine[r.co] = r
  local ok, err = step(r, ...)
  if not ok then failures[#failures + 1] = { owner, tostring(err) } end
  return handle
end

local function owner_of_caller()
  local env = caller_env()
  return env and owners[env] or 0
end

local function check_function(name, n, fn)
  if type(fn) ~= "function" then
    fail(name, "argument " .. n .. " (fn) must be a function, got " .. type(fn))
  end
end

local function check_seconds(name, seconds)
  if type(seconds) ~= "number" or seconds ~= seconds or seconds < 0 or seconds == math.huge then
    fail(name, "argument 1 (seconds) must be a finite number >= 0, got " .. tostring(seconds))
  end
end

local function current(name)
  local co, main = co_running()
  local r = not main and by_coroutine[co]
  if not r then
    fail(name, "not inside a task: start one with zephyr.task.spawn(function() ... end)")
  end
  return r
end

-- The functions scripts call ---------------------------------------------------
function module.spawn(fn, ...)
  check_main("spawn")
  check_function("spawn", 1, fn)
  return spawn_owned(owner_of_caller(), fn, ...)
end

function module.wait(seconds)
  check_main("wait")
  if seconds == nil then seconds = 0 end
  check_seconds("wait", seconds)
  current("wait")
  local started = elapsed()
  co_yield(WAIT, { seconds = seconds })
  return elapsed() - started
end

function module.wait_frames(n)
  check_main("wait_frames")
  if n == nil then n = 1 end
  if math_type(n) ~= "integer" and not (type(n) == "number" and n % 1 == 0) or n < 0 then
    fail("wait_frames", "argument 1 (n) must be a whole number >= 0, got " .. tostring(n))
  end
  current("wait_frames")
  local started = elapsed()
  co_yield(WAIT, { frames = n })
  return elapsed() - started
end

function module.delay(seconds, fn, ...)
  check_main("delay")
  check_seconds("delay", seconds)
  check_function("delay", 2, fn)
  local wait = module.wait
  return spawn_owned(owner_of_caller(), function(...)
    wait(seconds)
    return fn(...)
  end, ...)
end

function module.every(seconds, fn, ...)
  check_main("every")
  check_seconds("every", seconds)
  check_function("every", 2, fn)
  local wait = module.wait
  return spawn_owned(owner_of_caller(), function(...)
    while true do
      wait(seconds)
      if fn(...) == false then return end
    end
  end, ...)
end

function module.cancel(handle)
  local r = record_of("cancel", handle)
  if r.status == "waiting" then
    r.status = "cancelled"
    co_close(r.co)
    return true
  elseif r.status == "running" then
    r.status = "cancelled" -- it ends at its next wait
    return true
  end
  return false
end

function module.status(handle)
  return record_of("status", handle).status
end

function Handle:status() return module.status(self) end
function Handle:cancel() return module.cancel(self) end

-- The host's hooks ----------------------------------------------------------------
local hooks = {}

-- The tasks due now, in order (due time, then creation), taken off the list.
function hooks.due()
  local now, this_frame = elapsed(), frame()
  local ready, still = {}, {}
  for _, r in ipairs(waiting) do
    if r.status ~= "waiting" then
      -- cancelled meanwhile: dropped
    -- (Game time is a sum of frame deltas: a due time within a nanosecond
    -- of now is due, or 0.1 s of 0.01 s frames would wait for frame 11.)
    elseif (r.due_time and r.due_time <= now + 1e-9)
      or (r.due_frame and r.due_frame <= this_frame) then
      r.order = r.due_time or now
      ready[#ready + 1] = r
    else
      still[#still + 1] = r
    end
  end
  waiting = still
  sort(ready, function(a, b)
    if a.order ~= b.order then return a.order < b.order end
    return a.id < b.id
  end)
  local handles, owners_of = {}, {}
  for i, r in ipairs(ready) do handles[i], owners_of[i] = r.handle, r.owner end
  return handles, owners_of
end

-- Resumes one due task; raises its error (the host reports it).
function hooks.resume(handle)
  local r = records[handle]
  if r == nil or r.status ~= "waiting" then return end
  local ok, err = step(r)
  if not ok then error(err, 0) end
end

function hooks.register(env, owner) owners[env] = owner end
hooks.owner_of_caller = owner_of_caller

-- Cancels every task of an owner (its instance is gone).
function hooks.cancel_owned(owner)
  local n = 0
  for _, r in pairs(records) do
    if r.owner == owner and (r.status == "waiting" or r.status == "running") then
      module.cancel(r.handle)
      n = n + 1
    end
  end
  return n
end

-- Errors of tasks that failed in their first run (inside `spawn`).
function hooks.failures()
  local list = failures
  failures = {}
  return list
end

function hooks.waiting()
  local n = 0
  for _, r in ipairs(waiting) do
    if r.status == "waiting" then n = n + 1 end
  end
  return n
end

return hooks
