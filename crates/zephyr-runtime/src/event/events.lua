-- zephyr.events: subscriptions (`on`, `off`) kept in the main state. Runs
-- once per main state as trusted code and returns the hooks the frame
-- driver delivers events through (see event/mod.rs); `emit` and `send` are
-- Rust functions of the same module.
local module, owner_of_caller, on_main = ...

local error, type, tostring, setmetatable = error, type, tostring, setmetatable

local by_name = {}                                  -- name -> array of records
local records = setmetatable({}, { __mode = "k" })  -- handle -> record
local created = 0

local Subscription = {}
Subscription.__index = Subscription
Subscription.__name = "zephyr.events.subscription"
Subscription.__metatable = "zephyr.events.subscription"
Subscription.__tostring = function(h)
  local r = records[h]
  return "subscription " .. r.id .. " to '" .. r.name .. "'" .. (r.active and "" or " (off)")
end

local function fail(name, message)
  error("zephyr.events." .. name .. ": " .. message, 3)
end

function module.on(name, fn)
  if not on_main then
    fail("on", "subscriptions live on the main thread, and this script runs on a worker " ..
      "(a job, or a parallel behaviour's state): use on_message(self, name, ...) with send")
  end
  if type(name) ~= "string" then fail("on", "argument 1 (name) must be a string, got " .. type(name)) end
  if type(fn) ~= "function" then fail("on", "argument 2 (fn) must be a function, got " .. type(fn)) end
  created = created + 1
  local handle = setmetatable({}, Subscription)
  local r = { id = created, name = name, fn = fn, owner = owner_of_caller(), active = true, handle = handle }
  records[handle] = r
  local list = by_name[name]
  if list == nil then
    list = {}
    by_name[name] = list
  end
  list[#list + 1] = r
  return handle
end

local function remove(r)
  r.active = false
  local list = by_name[r.name]
  for i = #list, 1, -1 do
    if list[i] == r then table.remove(list, i) end
  end
  if #list == 0 then by_name[r.name] = nil end
end

function module.off(handle)
  local r = records[handle]
  if r == nil then fail("off", "argument 1 (subscription) must be what zephyr.events.on returned") end
  if not r.active then return false end
  remove(r)
  return true
end

function Subscription:off() return module.off(self) end

local hooks = {}

-- The handlers of `name` now, in subscription order, and their owners.
function hooks.handlers(name)
  local fns, owners = {}, {}
  local list = by_name[name]
  if list then
    for i, r in ipairs(list) do fns[i], owners[i] = r.fn, r.owner end
  end
  return fns, owners
end

function hooks.cancel_owned(owner)
  for _, r in pairs(records) do
    if r.owner == owner and r.active then remove(r) end
  end
end

return hooks
