-- The health check each process runs on every ping of its listener:
-- 1. delete, for everyone, the keys whose lifetime ended (no keyspace
--    notifications needed: managed Redis often disables them);
-- 2. renew this process's status record (what `streamlit-redis-state status` lists);
-- 3. return what the namespace's sequence and epoch are now, so the caller
--    notices a FLUSHDB, a lost meta hash or a failover that lost changes.
-- KEYS[3] expiries   KEYS[4] key registry   KEYS[5] list bases
-- KEYS[6] processes (sorted set: id -> expiry)   KEYS[7] this process's record
-- ARGV[9] the namespace's key prefix ("srs:{ns}:")   ARGV[10] this process's id
-- ARGV[11] its record   ARGV[12] the record's lifetime in ms
-- Returns {sequence, epoch, keys deleted}.
local now = now_ms()
local reaped = 0
local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 100)
for _, key in ipairs(due) do
  local value, list = ARGV[9] .. 'v:' .. key, ARGV[9] .. 'l:' .. key
  local left = redis.call('PTTL', value)
  if left == -2 then
    left = redis.call('PTTL', list)
  end
  if left > 0 then
    redis.call('ZADD', KEYS[3], now + left, key)  -- renewed meanwhile
  elseif left == -1 then
    redis.call('ZREM', KEYS[3], key)  -- made lasting meanwhile
  else
    redis.call('ZREM', KEYS[3], key)
    if redis.call('SREM', KEYS[4], key) == 1 then
      redis.call('HDEL', KEYS[5], key)
      publish_change(epoch(), nil, nil, key)
      reaped = reaped + 1
    end
  end
end
local ttl = tonumber(ARGV[12])
redis.call('SET', KEYS[7], ARGV[11], 'PX', ttl)
redis.call('ZADD', KEYS[6], now + ttl, ARGV[10])
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
return {stored_count(KEYS[1], SEQ), redis.call('HGET', KEYS[1], EPOCH) or '', reaped}
