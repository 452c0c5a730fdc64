-- Read a key in one step: its value or its list's items from an index, with
-- the version and epoch they belong to.
-- A key the registry lists but Redis no longer holds (evicted under an
-- allkeys-* maxmemory policy, or expired) is deleted here for everyone:
-- versioned and published like any delete, so no cache keeps serving it.
-- KEYS[3] value   KEYS[4] list   KEYS[5] list bases   KEYS[6] key registry
-- ARGV[9] first list index wanted
-- Returns {blob or false, items from the index, version, epoch, list base, list length}.
local blob = redis.call('GET', KEYS[3])
local length = redis.call('LLEN', KEYS[4])
if not blob and length == 0 and redis.call('SREM', KEYS[6], ARGV[3]) == 1 then
  redis.call('HDEL', KEYS[5], ARGV[3])
  publish_change(epoch())
end
return {blob, redis.call('LRANGE', KEYS[4], tonumber(ARGV[9]), -1),
        version(),
        redis.call('HGET', KEYS[1], EPOCH) or '',
        stored_count(KEYS[5], ARGV[3]),
        length}
