-- Sparks that switch on at an impact (the player's landing) and die out.
local burst = 0.0

function on_start(self)
    -- The player announces impacts with the console command "impact".
    console.register("impact", function()
        local player = zephyr.entity.find("Player")
        if not player then return end
        local x, _, z = zephyr.transform.get_position(player)
        zephyr.transform.set_position(self, x, 0, z)
        zephyr.particles.set_active(self, true)
        zephyr.particles.set_rate(self, 200)
        burst = 0.5
        print(string.format("sparks at frame %d", zephyr.time.frame()))
    end, "impact: sparks at the player's feet")
end

function on_update(self, dt)
    if burst > 0 then
        burst = burst - dt
        zephyr.particles.set_rate(self, math.max(0, 400 * burst))
        if burst <= 0 then zephyr.particles.set_active(self, false) end
    end
end
