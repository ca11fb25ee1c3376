-- Shared helpers, loaded with require("scripts.util") (sandboxed require reads
-- only from the scene's folder).
local util = {}

function util.fmt(x, y, z)
    return string.format("(%.2f, %.2f, %.2f)", x, y, z)
end

function util.every(frames)
    return zephyr.time.frame() % frames == 0
end

return util
