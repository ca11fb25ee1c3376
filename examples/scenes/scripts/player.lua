-- The player: W/S move along its facing, A/D turn it, Space jumps.
local util = require("scripts.util")
cvar.register("demo_walk_speed", 5.0, "Player walk speed (m/s)", cvar.ARCHIVE)

local turn_speed = 1.5 -- radians per second
local on_ground = true

function on_start(self)
    print("player ready at " .. util.fmt(zephyr.transform.get_position(self)))
end

function on_update(self, dt)
    local speed = cvar.get_number("demo_walk_speed")
    local fx, fy, fz = zephyr.transform.forward(self)
    local move = 0
    if zephyr.input.is_key_down(Key.W) then move = move + 1 end
    if zephyr.input.is_key_down(Key.S) then move = move - 1 end
    if move ~= 0 then
        zephyr.transform.translate(self, fx * speed * dt * move, 0, fz * speed * dt * move)
    end
    if zephyr.input.is_key_down(Key.A) then zephyr.transform.rotate(self, 0, turn_speed * dt, 0) end
    if zephyr.input.is_key_down(Key.D) then zephyr.transform.rotate(self, 0, -turn_speed * dt, 0) end

    -- The ground is y = 0; landing is an impact.
    local x, y, z = zephyr.transform.get_position(self)
    if y <= 0 then
        zephyr.transform.set_position(self, x, 0, z)
        local vx, vy, vz = zephyr.physics.get_velocity(self)
        if vy < 0 then zephyr.physics.set_velocity(self, vx, 0, vz) end
        if not on_ground then
            on_ground = true
            console.execute("impact") -- handled by scripts/sparks.lua
        end
        -- The ground holds the player up against gravity.
        local gravity = cvar.get_number("phys_gravity")
        zephyr.physics.add_force(self, 0, -70 * gravity, 0)
    end

    if input.isKeyPressed("Space") and on_ground then
        zephyr.physics.add_impulse(self, 0, 350, 0)
        on_ground = false
        print("jump at frame " .. zephyr.time.frame())
    end

    if util.every(60) then
        print(string.format("frame %d player %s", zephyr.time.frame(), util.fmt(zephyr.transform.get_position(self))))
    end
    if input.isKeyPressed("Space") == false and zephyr.input.is_mouse_button_down(0) then
        local mx, my = input.getMousePos()
        print(string.format("click at %d, %d", mx, my))
    end
end

function on_destroy(self)
    print("player gone at " .. util.fmt(zephyr.transform.get_position(self)))
end
