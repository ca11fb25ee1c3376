-- A bullet (a parallel behaviour spawned from the Bullet prefab): its body
-- carries it; each frame it looks for an enemy within reach, and on a hit
-- destroys both and tells the score keeper. It expires after 1.5 s.
local age = 0

function on_update(self, dt)
    age = age + dt
    local x, y, z = zephyr.transform.get_position(self)
    local hit = zephyr.entity.within(x, 0, z, 1.2, "enemy")[1]
    if hit then
        zephyr.events.emit("hit", zephyr.entity.get_name(self), zephyr.entity.get_name(hit))
        zephyr.entity.destroy(hit)
        zephyr.entity.destroy(self)
    elseif age > 1.5 then
        zephyr.entity.destroy(self)
    end
end
