-- Store a value only if the key holds none (setdefault): one default wins.
-- KEYS[4] value   KEYS[5] key registry   KEYS[6] lock   KEYS[7] list
-- ARGV[6] fencing token ('' = unfenced)   ARGV[7] the default's blob
-- Returns {outcome, version, epoch}: outcome 1 stored, 0 the key exists, -1 fenced.
if fenced(KEYS[6], ARGV[6]) then
  return {-1, 0, ''}
end
local e = epoch()
if redis.call('EXISTS', KEYS[4]) == 1 or redis.call('EXISTS', KEYS[7]) == 1 then
  return {0, version(), e}
end
redis.call('SADD', KEYS[5], ARGV[3])
redis.call('SET', KEYS[4], ARGV[7])
return {1, publish_change(e), e}
