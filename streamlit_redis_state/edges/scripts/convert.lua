-- Turn a plain list value into a list of items (the first append to it),
-- only if the value is still the one the caller read. Waits for another
-- holder's lock like append.
-- KEYS[3] value   KEYS[4] key registry   KEYS[5] lock   KEYS[6] list   KEYS[7] list bases
-- ARGV[9] fencing token ('' = not holding the lock)   ARGV[10] cap (0 = none)
-- ARGV[11] the value's blob as read   ARGV[12..] item blobs (old items, then new)
-- Returns {outcome, version, epoch, length}: outcome 1 converted, 3 the value
-- changed meanwhile (read it again), 4 another holder has the lock, -1 fenced.
local early = precheck_unlocked(KEYS[5], ARGV[9])
if early then
  return early
end
local e = epoch()
if redis.call('GET', KEYS[3]) ~= ARGV[11] then
  return {3, version(), e, ''}
end
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[7], ARGV[3], version() + 1)
local first = 12
local cap = tonumber(ARGV[10]) or 0
if cap > 0 and #ARGV - 11 > cap then
  first = #ARGV - cap + 1  -- keep only the newest cap
end
for i = first, #ARGV do
  redis.call('RPUSH', KEYS[6], ARGV[i])
end
local length = redis.call('LLEN', KEYS[6])
redis.call('SADD', KEYS[4], ARGV[3])
return finish(1, publish_change(e), e, digits(length))
