-- Store a value only if the key holds none (setdefault): one default wins,
-- and every caller gets the value that is stored, in the same step.
-- KEYS[3] value   KEYS[4] key registry   KEYS[5] lock   KEYS[6] list
-- ARGV[9] fencing token ('' = unfenced)   ARGV[10] the default's blob
-- Returns {outcome, version, epoch, stored}: outcome 1 stored the default
-- (stored is ''), 0 the key holds a value (stored is its blob), -1 fenced.
local early = precheck(KEYS[5], ARGV[9])
if early then
  return early
end
local e = epoch()
local old = redis.call('GET', KEYS[3])
if old then
  return finish(0, version(), e, old)
end
if redis.call('EXISTS', KEYS[6]) == 1 then
  return finish(0, version(), e, list_blob(redis.call('LRANGE', KEYS[6], 0, -1)))
end
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('SET', KEYS[3], ARGV[10])
return finish(1, publish_change(e), e)
