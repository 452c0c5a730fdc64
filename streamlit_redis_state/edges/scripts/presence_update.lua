-- Change a presence group: join, heartbeat or leave, and reap expired members.
-- A sorted set of member ids scored by expiry (Redis's clock, never a
-- replica's) and a hash of their names. A membership change is versioned and
-- published like a change of the group's pseudo key (ARGV[3]).
-- KEYS[4] members (sorted set)   KEYS[5] names (hash)
-- ARGV[6] ttl in ms   ARGV[7] op: join | beat | leave
--   join:  ARGV[8] member id, ARGV[9] name
--   beat:  ARGV[8..] pairs of member id, name (re-added if they expired)
--   leave: ARGV[8] member id
-- Returns the group's new version, or 0 when nothing changed.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local e = epoch()
local ttl = tonumber(ARGV[6])
local op = ARGV[7]
local changed = false
if op == 'join' then
  local score = redis.call('ZSCORE', KEYS[4], ARGV[8])
  if (not score) or tonumber(score) <= now
     or redis.call('HGET', KEYS[5], ARGV[8]) ~= ARGV[9] then
    changed = true
  end
  redis.call('ZADD', KEYS[4], now + ttl, ARGV[8])
  redis.call('HSET', KEYS[5], ARGV[8], ARGV[9])
elseif op == 'beat' then
  for i = 8, #ARGV, 2 do
    local score = redis.call('ZSCORE', KEYS[4], ARGV[i])
    if (not score) or tonumber(score) <= now then
      changed = true
      redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 1])
    end
    redis.call('ZADD', KEYS[4], now + ttl, ARGV[i])
  end
elseif op == 'leave' then
  if redis.call('ZREM', KEYS[4], ARGV[8]) == 1 then
    changed = true
  end
  redis.call('HDEL', KEYS[5], ARGV[8])
end
local dead = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)
for _, id in ipairs(dead) do
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  changed = true
end
if not changed then
  return 0
end
return publish_change(e)
