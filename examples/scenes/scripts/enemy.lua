-- An enemy that turns toward the player when it comes within range.
local range = 12
local alerted = false

function on_update(self, dt)
    local player = zephyr.entity.find("Player")
    if not player then return end
    local px, py, pz = zephyr.transform.get_position(player)
    local ex, ey, ez = zephyr.transform.get_position(self)
    local d = zephyr.math.distance(px, py, pz, ex, ey, ez)
    if d < range then
        zephyr.transform.look_at(self, px, ey, pz)
        if not alerted then
            alerted = true
            print(string.format("enemy sees the player at %.1f m (frame %d)", d, zephyr.time.frame()))
            -- Whoever listens (the torch) hears it at the frame's event step;
            -- from this worker it travels with the enemy's other writes.
            zephyr.events.emit("spotted", "Enemy", { x = px, z = pz, distance = d })
        end
    elseif alerted then
        alerted = false
        print(string.format("enemy lost the player (frame %d)", zephyr.time.frame()))
        zephyr.events.emit("lost", "Enemy")
    end
end

-- Every two seconds a scout script runs on a worker thread: it reads the
-- world (as it was when it was enqueued) and reports; its print lands at the
-- frame's sync point, so the output is the same on every run.
local scout = [[
local enemy, player = zephyr.entity.find("Enemy"), zephyr.entity.find("Player")
local ex, _, ez = zephyr.transform.get_position(enemy)
local px, _, pz = zephyr.transform.get_position(player)
print(string.format("scout (worker): player %.1f m from the enemy", zephyr.math.distance(ex, 0, ez, px, 0, pz)))
]]

local base_update = on_update
function on_update(self, dt)
    base_update(self, dt)
    if zephyr.time.frame() % 120 == 60 then
        console.execute("lua " .. scout:gsub("\n", " "))
    end
end
