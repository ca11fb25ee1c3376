-- The turret: every 0.2 s (a task) it finds the nearest enemy within range
-- and spawns a bullet flying at it. New enemies come in waves, at places
-- drawn from this behaviour's random stream (the same for every run with
-- the same --seed).
local shots, enemies = 0, 3
local range, speed = 30, 24

local function fire(self)
    local x, y, z = zephyr.transform.get_position(self)
    local target = zephyr.entity.within(x, y, z, range, "enemy")[1]
    if not target then
        return
    end
    local tx, _, tz = zephyr.transform.get_position(target)
    local dx, dz = tx - x, tz - z
    local length = math.sqrt(dx * dx + dz * dz)
    shots = shots + 1
    zephyr.entity.spawn{
        prefab = "Bullet",
        name = "Bullet " .. shots,
        position = {x, y + 1, z},
        body = {mass = 1, velocity = {dx / length * speed, 0, dz / length * speed}},
    }
end

function on_start(self)
    zephyr.task.every(0.2, fire, self)
    zephyr.task.every(1.5, function()
        local wave = #zephyr.entity.find_all("enemy")
        for _ = 1, 2 do
            enemies = enemies + 1
            zephyr.entity.spawn{
                prefab = "Enemy",
                name = "Enemy " .. enemies,
                position = {math.random(-12, 12), 0, math.random(-24, -16)},
            }
        end
        print(string.format("frame %d: %d enemies before the wave", zephyr.time.frame(), wave))
    end)
end

function on_destroy(self)
    print(string.format("turret fired %d shots", shots))
end
