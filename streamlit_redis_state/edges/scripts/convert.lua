-- Turn a plain list value into a list of items (the first append to it),
-- only if the value is still the one the caller read.
-- KEYS[4] value   KEYS[5] key registry   KEYS[6] lock   KEYS[7] list   KEYS[8] list bases
-- ARGV[6] fencing token ('' = unfenced)   ARGV[7] the value's blob as read
-- ARGV[8..] item blobs (the old items, then the new ones)
-- Returns {outcome, version, epoch, length}: outcome 1 converted, 3 the value
-- changed meanwhile (read it again), -1 fenced.
if fenced(KEYS[6], ARGV[6]) then
  return {-1, 0, ''}
end
local e = epoch()
if redis.call('GET', KEYS[4]) ~= ARGV[7] then
  return {3, version(), e}
end
redis.call('DEL', KEYS[4])
if redis.call('EXISTS', KEYS[7]) == 0 then
  redis.call('HSET', KEYS[8], ARGV[3], version() + 1)
end
for i = 8, #ARGV do
  redis.call('RPUSH', KEYS[7], ARGV[i])
end
local length = redis.call('LLEN', KEYS[7])
redis.call('SADD', KEYS[5], ARGV[3])
return {1, publish_change(e), e, length}
