-- wrk script for bench/updates.sh: DynDNS2 updates spread over HOSTS hosts.
-- MODE=change: every request sets a new random address (a durable write each time);
-- MODE=nochg:  each host always gets the same address (after the first pass: no writes).
-- MODE=auth:   `myip=no&myipv6=no`: authenticated, authorised and rate-limited, then answered
--              `nochg` before the write path (what authentication alone costs).
local hosts = tonumber(os.getenv("HOSTS") or "1000")
local mode = os.getenv("MODE") or "change"
local zone = os.getenv("ZONE") or "bench.test"
local n = 0

setup = function(thread)
  thread:set("offset", math.random(0, hosts - 1))
end

request = function()
  n = n + 1
  local i = (n + (offset or 0)) % hosts
  if mode == "auth" then
    return wrk.format("GET", "/nic/update?hostname=h" .. i .. "." .. zone .. "&myip=no&myipv6=no")
  end
  local ip
  if mode == "nochg" then
    ip = string.format("10.%d.%d.%d", math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
  else
    ip = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  end
  return wrk.format("GET", "/nic/update?hostname=h" .. i .. "." .. zone .. "&myip=" .. ip)
end

done = function(summary, latency, requests)
  io.write(string.format("non-2xx or socket errors: %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
