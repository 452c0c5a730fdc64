-- Delete a key, value or list, and hand back what it held (pop is one step).
-- KEYS[3] value   KEYS[4] key registry   KEYS[5] lock   KEYS[6] list   KEYS[7] list bases
-- KEYS[8] expiries
-- ARGV[9] fencing token ('' = unfenced)
-- Returns {outcome, version, epoch, old}: outcome 1 deleted (old is the value's
-- blob, a list as one blob), 0 absent, -1 fenced.
local early = precheck(KEYS[5], ARGV[9])
if early then
  return early
end
local e = epoch()
local old
if redis.call('EXISTS', KEYS[6]) == 1 then
  old = list_blob(redis.call('LRANGE', KEYS[6], 0, -1))
  redis.call('DEL', KEYS[6])
  redis.call('HDEL', KEYS[7], ARGV[3])
else
  old = redis.call('GET', KEYS[3])
  if not old then
    return finish(0, version(), e)
  end
  redis.call('DEL', KEYS[3])
end
redis.call('SREM', KEYS[4], ARGV[3])
redis.call('ZREM', KEYS[8], ARGV[3])
return finish(1, publish_change(e), e, old)
