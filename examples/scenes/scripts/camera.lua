-- A camera that smoothly follows the player and looks at it.
local player

function on_start(self)
    player = zephyr.entity.find("Player")
end

function on_update(self, dt)
    if not player then return end
    local px, py, pz = zephyr.transform.get_position(player)
    local fx, _, fz = zephyr.transform.forward(player)
    -- Behind the player, 3 m up.
    local tx, ty, tz = px - fx * 8, py + 3, pz - fz * 8
    local cx, cy, cz = zephyr.transform.get_position(self)
    local t = zephyr.math.clamp(dt * 3.0, 0, 1)
    zephyr.transform.set_position(self,
        zephyr.math.lerp(cx, tx, t), zephyr.math.lerp(cy, ty, t), zephyr.math.lerp(cz, tz, t))
    zephyr.transform.look_at(self, px, py, pz)
    if zephyr.time.frame() % 120 == 0 then
        local x, y, z = zephyr.transform.get_position(self)
        print(string.format("frame %d camera (%.2f, %.2f, %.2f)", zephyr.time.frame(), x, y, z))
    end
end
