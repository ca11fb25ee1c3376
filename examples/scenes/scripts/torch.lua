-- A torch whose light flickers.
function on_update(self, dt)
    local t = zephyr.time.elapsed()
    local flicker = 0.8 + math.sin(t * 10) * 0.15 + math.sin(t * 23) * 0.05
    zephyr.light.set_intensity(self, flicker)
    zephyr.light.set_color(self, 1.0, 0.55 + math.sin(t) * 0.05, 0.2)
end
