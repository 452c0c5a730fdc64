-- Delete a key, value or list, and hand back what it held (pop is one step).
-- KEYS[4] value   KEYS[5] key registry   KEYS[6] lock   KEYS[7] list   KEYS[8] list bases
-- ARGV[6] fencing token ('' = unfenced)
-- Returns {outcome, version, epoch, old}: outcome 1 deleted, 0 absent, -1 fenced;
-- old is the value's blob, or the list's item blobs.
if fenced(KEYS[6], ARGV[6]) then
  return {-1, 0, ''}
end
local e = epoch()
local old
if redis.call('EXISTS', KEYS[7]) == 1 then
  old = redis.call('LRANGE', KEYS[7], 0, -1)
  redis.call('DEL', KEYS[7])
  redis.call('HDEL', KEYS[8], ARGV[3])
else
  old = redis.call('GET', KEYS[4])
  if not old then
    return {0, version(), e}
  end
  redis.call('DEL', KEYS[4])
end
redis.call('SREM', KEYS[5], ARGV[3])
return {1, publish_change(e), e, old}
