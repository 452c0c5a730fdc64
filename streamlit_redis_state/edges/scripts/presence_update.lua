-- Change a presence group: join, heartbeat or leave, and reap expired members.
-- A sorted set of member ids scored by expiry (Redis's clock, never a
-- replica's) and a hash of their names. A membership change is versioned and
-- published like a change of the group's pseudo key (ARGV[3]). Joins, beats
-- and leaves are idempotent, so a re-sent request needs no record.
-- KEYS[3] members (sorted set)   KEYS[4] names (hash)
-- ARGV[9] ttl in ms   ARGV[10] op: join | beat | leave
--   join:  ARGV[11] member id, ARGV[12] name
--   beat:  ARGV[11..] pairs of member id, name (re-added if they expired)
--   leave: ARGV[11] member id
-- Returns the group's new version, or 0 when nothing changed.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local e = epoch()
local ttl = tonumber(ARGV[9])
local op = ARGV[10]
local changed = false
if op == 'join' then
  local score = redis.call('ZSCORE', KEYS[3], ARGV[11])
  if (not score) or tonumber(score) <= now
     or redis.call('HGET', KEYS[4], ARGV[11]) ~= ARGV[12] then
    changed = true
  end
  redis.call('ZADD', KEYS[3], now + ttl, ARGV[11])
  redis.call('HSET', KEYS[4], ARGV[11], ARGV[12])
elseif op == 'beat' then
  for i = 11, #ARGV, 2 do
    local score = redis.call('ZSCORE', KEYS[3], ARGV[i])
    if (not score) or tonumber(score) <= now then
      changed = true
      redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1])
    end
    redis.call('ZADD', KEYS[3], now + ttl, ARGV[i])
  end
elseif op == 'leave' then
  if redis.call('ZREM', KEYS[3], ARGV[11]) == 1 then
    changed = true
  end
  redis.call('HDEL', KEYS[4], ARGV[11])
end
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, id in ipairs(dead) do
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  changed = true
end
if not changed then
  return 0
end
return publish_change(e)
