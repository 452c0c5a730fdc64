-- Append items to a key's list, creating it if the key is missing. An
-- unlocked append waits while another holder has the key's lock, so an
-- edit() (read, change, write back under the lock) never loses it.
-- KEYS[3] value   KEYS[4] key registry   KEYS[5] lock   KEYS[6] list   KEYS[7] list bases
-- ARGV[9] fencing token ('' = not holding the lock)   ARGV[10] cap (0 = none)
-- ARGV[11..] item blobs
-- Past 2 * cap items only the newest cap are kept, and the list counts as new.
-- Returns {outcome, version, epoch, length}: outcome 1 appended, 2 the key
-- holds a plain value (convert it first), 4 another holder has the lock
-- (length is its remaining lease in ms), -1 fenced.
local early = precheck_unlocked(KEYS[5], ARGV[9])
if early then
  return early
end
local e = epoch()
if redis.call('EXISTS', KEYS[3]) == 1 then
  return {2, version(), e, ''}
end
local existed = redis.call('EXISTS', KEYS[6]) == 1
if not existed then
  -- remember the version that created the list, so a reader holding an
  -- older list never splices new items onto it
  redis.call('HSET', KEYS[7], ARGV[3], version() + 1)
end
for i = 11, #ARGV do
  redis.call('RPUSH', KEYS[6], ARGV[i])
end
local length = redis.call('LLEN', KEYS[6])
local cap = tonumber(ARGV[10]) or 0
if cap > 0 and length > 2 * cap then
  -- keep the newest `cap`; readers fetch the list anew
  redis.call('LTRIM', KEYS[6], -cap, -1)
  redis.call('HSET', KEYS[7], ARGV[3], version() + 1)
  length = cap
  existed = false
end
redis.call('SADD', KEYS[4], ARGV[3])
local ver
if existed then
  -- readers holding the list as it was extend it with only the new items
  ver = publish_change(e, #ARGV - 10, length)
else
  ver = publish_change(e)
end
return finish(1, ver, e, digits(length))
