-- Timed waves: a task waits in game time between waves and spawns a few
-- crates that pop up (rigid bodies) and vanish a little later (a delayed
-- task each). Positions are random, from this behaviour's own stream of
-- the run's seed, so every run with the same --seed is the same.
local waves, per_wave, pause = 3, 2, 2.5

function on_start(self)
    zephyr.task.spawn(function()
        for wave = 1, waves do
            zephyr.task.wait(pause)
            for i = 1, per_wave do
                local crate = zephyr.entity.create()
                zephyr.entity.set_name(crate, string.format("Crate %d.%d", wave, i))
                zephyr.transform.set_position(crate, math.random(-5, 5), 0, math.random(-8, -2))
                ecs.addComponent(crate, "RigidBody", { mass = 5, velocity = { 0, 6, 0 } })
                zephyr.task.delay(1.5, zephyr.entity.destroy, crate)
            end
            print(string.format("wave %d: %d crates (frame %d)", wave, per_wave, zephyr.time.frame()))
        end
    end)
end
