-- Store a value. Bytes equal to the stored ones are no change: nothing is
-- bumped or published. A list grown by append is replaced by the value.
-- KEYS[4] value   KEYS[5] key registry   KEYS[6] lock   KEYS[7] list   KEYS[8] list bases
-- ARGV[6] fencing token ('' = unfenced)   ARGV[7] the value's blob
-- Returns {outcome, version, epoch}: outcome 1 changed, 0 no change, -1 fenced.
if fenced(KEYS[6], ARGV[6]) then
  return {-1, 0, ''}
end
local e = epoch()
local old = redis.call('GET', KEYS[4])
if old == ARGV[7] then
  return {0, version(), e}
end
if not old then
  -- a key is a plain value or a list, never both
  if redis.call('EXISTS', KEYS[7]) == 1 then
    redis.call('DEL', KEYS[7])
    redis.call('HDEL', KEYS[8], ARGV[3])
  end
  redis.call('SADD', KEYS[5], ARGV[3])
end
redis.call('SET', KEYS[4], ARGV[7])
return {1, publish_change(e), e}
