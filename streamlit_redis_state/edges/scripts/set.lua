-- Store a value. Bytes equal to the stored ones are no change: nothing is
-- bumped or published. A list grown by append is replaced by the value,
-- unless the value is that same list.
-- With a lifetime, the value expires then (and the same bytes renew it).
-- KEYS[3] value   KEYS[4] key registry   KEYS[5] lock   KEYS[6] list   KEYS[7] list bases
-- KEYS[8] expiries (sorted set: key -> Redis time in ms)
-- ARGV[9] fencing token ('' = unfenced)   ARGV[10] the value's blob
-- ARGV[11] lifetime in ms (0: none)
-- Returns {outcome, version, epoch, ''}: outcome 1 changed, 0 no change, -1 fenced.
local early = precheck(KEYS[5], ARGV[9])
if early then
  return early
end
local e = epoch()
local ttl = tonumber(ARGV[11])
local old = redis.call('GET', KEYS[3])
if old == ARGV[10] then
  -- the same bytes: no change, but the lifetime asked for holds (none: lasting)
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[3], ttl)
    redis.call('ZADD', KEYS[8], now_ms() + ttl, ARGV[3])
  elseif redis.call('PERSIST', KEYS[3]) == 1 then
    redis.call('ZREM', KEYS[8], ARGV[3])
  end
  return finish(0, version(), e)
end
if not old then
  -- a key is a plain value or a list, never both
  if redis.call('EXISTS', KEYS[6]) == 1 then
    if list_blob(redis.call('LRANGE', KEYS[6], 0, -1)) == ARGV[10] then
      return finish(0, version(), e)
    end
    redis.call('DEL', KEYS[6])
    redis.call('HDEL', KEYS[7], ARGV[3])
  end
  redis.call('SADD', KEYS[4], ARGV[3])
end
if ttl > 0 then
  redis.call('SET', KEYS[3], ARGV[10], 'PX', ttl)
  redis.call('ZADD', KEYS[8], now_ms() + ttl, ARGV[3])
else
  redis.call('SET', KEYS[3], ARGV[10])
  redis.call('ZREM', KEYS[8], ARGV[3])
end
return finish(1, publish_change(e), e)
