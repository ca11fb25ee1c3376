-- The score keeper: counts hits and breaches from events.
local hits, breaches = 0, 0

function on_start(self)
    zephyr.events.on("hit", function(bullet, enemy)
        hits = hits + 1
        print(string.format("frame %d: %s hit %s", zephyr.time.frame(), bullet, enemy))
    end)
    zephyr.events.on("breach", function(enemy)
        breaches = breaches + 1
    end)
end

function on_destroy(self)
    print(string.format("score: %d hits, %d breaches", hits, breaches))
end
