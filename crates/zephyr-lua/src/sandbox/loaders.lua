-- The loaders of the safe profile: `load`, `loadfile`, `dofile`,
-- `require` and `package`, made on first use (see the end of
-- `sandbox.lua`). Called by `make_loaders` with the base environment, its
-- metatable (which carries the sandbox's helpers and `frozen`) and
-- the Rust functions only the loaders use (`files`: reading scripts and
-- modules inside the script roots);
-- sets the five names in the base and takes the metatable off. It carries
-- the sandbox's chunk name, so its frames are the sandbox's own (errors
-- name the script's line, never these). Like `sandbox.lua`, it runs with
-- the raw globals: the real standard library, which no script reaches.
local base, sandbox, files = ...
local raise, with_caller_env = sandbox.raise, sandbox.with_caller_env
local error_text, frozen = sandbox.error_text, sandbox.frozen
local error, type, tostring, select, ipairs = error, type, tostring, select, ipairs
local setmetatable, rawset = setmetatable, rawset
local raw_load, raw_pcall, math_type = load, pcall, math.type
local pack = table.pack

-- Loaders ---------------------------------------------------------------------
-- `load`, `loadfile`, `dofile` and `require` are shared by every environment and act in the calling script's own environment
-- (never the raw globals). `with_caller_env(f)` wraps `f` in a Rust function
-- that finds that environment on the call stack and calls `f(env, ...)`;
-- being a C function, it keeps its caller's frame even when called in a
-- tail call (`return require("x")`). As in Lua, an explicit `nil`
-- environment argument means no environment. The safe profile takes text
-- chunks only and reads files only inside the configured script roots.
-- Their errors skip one C frame more (the Rust function) to reach the
-- script's line: `raise(message, 1)`.
local function load_in(env, chunk, chunkname, _, ...)
  local chunk_env = env
  if select("#", ...) > 0 then chunk_env = ... end
  return raw_load(chunk, chunkname, "t", chunk_env)
end

local function loadfile_in(env, path, mode, ...)
  if path == nil then
    raise(files.left_out_message("loadfile", "reading standard input (loadfile without a file name)"), 1)
  end
  local ok, source, chunkname = raw_pcall(files.read_script, path)
  if not ok then
    local message = error_text(source)
    -- `loadfile("../x.lua")()` then fails as "attempt to call a nil value":
    -- the host adds this message to that error.
    files.note_refusal("loadfile", message)
    return nil, message
  end
  return load_in(env, source, "@" .. chunkname, mode, ...)
end

local function dofile_in(env, path)
  if path == nil then
    raise(files.left_out_message("dofile", "reading standard input (dofile without a file name)"), 1)
  end
  local f, err = loadfile_in(env, path)
  if not f then error(err, 0) end
  return f()
end

-- Modules ---------------------------------------------------------------------
-- Modules run in the requiring script's environment and are cached per
-- environment (its `package.loaded`, which starts with the libraries), so
-- instances and jobs never share module state. `require` looks in
-- `package.preload`, then through `package.path`'s templates, which the
-- script may change but never point outside the script roots.
local libraries = { "coroutine", "debug", "io", "math", "os", "string", "table", "utf8" }
local loaded_by_env = setmetatable({}, { __mode = "k" })
local preload_by_env = setmetatable({}, { __mode = "k" })
local path_by_env = setmetatable({}, { __mode = "k" })
local default_path = files.package_path

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

local function preload_of(env)
  local preload = preload_by_env[env]
  if preload == nil then
    preload = {}
    preload_by_env[env] = preload
  end
  return preload
end

local function path_of(env)
  return path_by_env[env] or default_path
end

local package_fields = { config = package.config, searchpath = files.searchpath }
setmetatable(package_proxy, {
  __index = with_caller_env(function(env, _, key)
    if key == "loaded" then return loaded_of(env) end
    if key == "preload" then return preload_of(env) end
    if key == "path" then return path_of(env) end
    return package_fields[key]
  end),
  __newindex = with_caller_env(function(env, _, key, value)
    if key == "path" then
      if type(value) ~= "string" then
        raise("package.path must be a string of templates, got " .. type(value), 1)
      end
      local refused = files.check_package_path(value)
      if refused then raise(refused, 1) end
      path_by_env[env] = value
      return
    end
    if key == "cpath" then
      raise(files.left_out_message("package.cpath", "loading native modules"), 1)
    end
    raise("attempt to modify read-only field '" .. tostring(key) .. "'", 1)
  end),
  __metatable = "read-only table",
})

local require = with_caller_env(function(env, ...)
  local name = ...
  if type(name) ~= "string" then
    if math_type(name) then
      name = tostring(name)
    else
      local got = select("#", ...) == 0 and "no value" or type(name)
      raise("bad argument #1 to 'require' (string expected, got " .. got .. ")", 1)
    end
  end
  local loaded = loaded_of(env)
  local value = loaded[name]
  if value ~= nil then return value end
  local data
  local preload = preload_of(env)[name]
  if preload ~= nil then
    data = ":preload:"
    value = preload(name, data)
  else
    local source, chunkname = files.read_module(name, path_of(env))
    -- With a capture of its top-level locals, for hot reload to keep them
    -- (`reload.rs`): the module's value comes first, the capture last.
    local text, names = files.instrument(source)
    local f, err = raw_load(text, "@" .. chunkname, "t", env)
    if not f and names then
      names = nil
      f, err = raw_load(source, "@" .. chunkname, "t", env)
    end
    if not f then error(err, 0) end
    data = chunkname
    if names then
      local results = pack(f(name, chunkname))
      value = results[1]
      local capture = results[results.n]
      if type(capture) == "function" then
        local captures = files.module_captures[env]
        if captures == nil then
          captures = {}
          files.module_captures[env] = captures
        end
        captures[name] = { capture, names, pack(capture()) }
      end
    else
      value = f(name, chunkname)
    end
  end
  if value == nil then value = loaded[name] end
  if value == nil then value = true end
  loaded[name] = value
  return value, data
end)

setmetatable(base, nil)
rawset(base, "load", with_caller_env(load_in))
rawset(base, "loadfile", with_caller_env(loadfile_in))
rawset(base, "dofile", with_caller_env(dofile_in))
rawset(base, "require", require)
rawset(base, "package", package_proxy)
