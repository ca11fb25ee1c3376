-- A torch whose light flickers, and flashes red when the enemy spots the
-- player (an event), for three short blinks (a task).
local alarm = false

function on_start(self)
    zephyr.events.on("spotted", function(who, where)
        print(string.format("torch: %s spotted the player at %.1f m, raising the alarm (frame %d)",
            who, where.distance, zephyr.time.frame()))
        alarm = true
        zephyr.task.spawn(function()
            for blink = 1, 3 do
                zephyr.light.set_intensity(self, 2.0)
                zephyr.task.wait(0.1)
                zephyr.light.set_intensity(self, 0.2)
                zephyr.task.wait(0.1)
            end
            print(string.format("torch: alarm blinks done (frame %d)", zephyr.time.frame()))
        end)
    end)
    zephyr.events.on("lost", function()
        alarm = false
        print(string.format("torch: all quiet (frame %d)", zephyr.time.frame()))
    end)
end

function on_update(self, dt)
    local t = zephyr.time.elapsed()
    if alarm then
        zephyr.light.set_color(self, 1.0, 0.1, 0.1)
        return
    end
    local flicker = 0.8 + math.sin(t * 10) * 0.15 + math.sin(t * 23) * 0.05
    zephyr.light.set_intensity(self, flicker)
    zephyr.light.set_color(self, 1.0, 0.55 + math.sin(t) * 0.05, 0.2)
end
