-- An enemy (a parallel behaviour): walks toward the turret; reaching it is a
-- breach, and the enemy is gone.
local speed = 2

function on_update(self, dt)
    local x, y, z = zephyr.transform.get_position(self)
    local turret = zephyr.entity.find_all("turret")[1]
    local tx, _, tz = zephyr.transform.get_position(turret)
    local dx, dz = tx - x, tz - z
    local length = math.sqrt(dx * dx + dz * dz)
    if length < 1 then
        zephyr.events.emit("breach", zephyr.entity.get_name(self))
        zephyr.entity.destroy(self)
        return
    end
    zephyr.transform.set_position(self, x + dx / length * speed * dt, y, z + dz / length * speed * dt)
end
