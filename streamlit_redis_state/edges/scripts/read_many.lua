-- Read many keys in one step, each as read.lua reads one (from index 0): one
-- call instead of a pipeline, which a Redis Cluster client refuses for
-- scripts, and one consistent snapshot. Every key shares the namespace's
-- slot, so this stays one script on one shard.
-- A key the registry lists but Redis no longer holds is deleted for
-- everyone, as in read.lua.
-- KEYS[3] list bases   KEYS[4] key registry
-- KEYS[3 + 2i] value of the i-th key   KEYS[4 + 2i] its list   (i = 1..n)
-- ARGV[3] unused ('')   ARGV[8 + i] the i-th state key
-- Returns one {blob or false, items, version, epoch, list base, list length} per key.
local out = {}
for i = 1, #ARGV - 8 do
  local field = ARGV[8 + i]
  local value_key, list_key = KEYS[3 + 2 * i], KEYS[4 + 2 * i]
  local blob = redis.call('GET', value_key)
  local length = redis.call('LLEN', list_key)
  if not blob and length == 0 and redis.call('SREM', KEYS[4], field) == 1 then
    redis.call('HDEL', KEYS[3], field)
    publish_change(epoch(), nil, nil, field)
  end
  out[i] = {blob, redis.call('LRANGE', list_key, 0, -1),
            version(field),
            redis.call('HGET', KEYS[1], EPOCH) or '',
            tonumber(redis.call('HGET', KEYS[3], field) or '0'),
            length}
end
return out
