-- An enemy that turns toward the player when it comes within range.
local range = 12
local alerted = false

function on_update(self, dt)
    local player = zephyr.entity.find("Player")
    local px, py, pz = zephyr.transform.get_position(player)
    local ex, ey, ez = zephyr.transform.get_position(self)
    local d = zephyr.math.distance(px, py, pz, ex, ey, ez)
    if d < range then
        zephyr.transform.look_at(self, px, ey, pz)
        if not alerted then
            alerted = true
            print(string.format("enemy sees the player at %.1f m (frame %d)", d, zephyr.time.frame()))
        end
    elseif alerted then
        alerted = false
        print(string.format("enemy lost the player (frame %d)", zephyr.time.frame()))
    end
end
