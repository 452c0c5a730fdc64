-- Append items to a key's list, creating it if the key is missing.
-- KEYS[4] value   KEYS[5] key registry   KEYS[6] lock   KEYS[7] list   KEYS[8] list bases
-- ARGV[6] fencing token ('' = unfenced)   ARGV[7] cap (0 = none)   ARGV[8..] item blobs
-- Past 2 * cap items only the newest cap are kept, and the list counts as new.
-- Returns {outcome, version, epoch, length}: outcome 1 appended, 2 the key holds a
-- plain value (convert it first), -1 fenced.
if fenced(KEYS[6], ARGV[6]) then
  return {-1, 0, ''}
end
local e = epoch()
if redis.call('EXISTS', KEYS[4]) == 1 then
  return {2, version(), e}
end
local existed = redis.call('EXISTS', KEYS[7]) == 1
if not existed then
  -- remember the version that created the list, so a reader holding an
  -- older list never splices new items onto it
  redis.call('HSET', KEYS[8], ARGV[3], version() + 1)
end
for i = 8, #ARGV do
  redis.call('RPUSH', KEYS[7], ARGV[i])
end
local length = redis.call('LLEN', KEYS[7])
local cap = tonumber(ARGV[7]) or 0
if cap > 0 and length > 2 * cap then
  -- keep the newest `cap`; readers fetch the list anew
  redis.call('LTRIM', KEYS[7], -cap, -1)
  redis.call('HSET', KEYS[8], ARGV[3], version() + 1)
  length = cap
  existed = false
end
redis.call('SADD', KEYS[5], ARGV[3])
local counts = nil
if existed then
  -- readers holding the list as it was extend it with only the new items
  counts = {a = #ARGV - 7, n = length}
end
return {1, publish_change(e, counts), e, length}
