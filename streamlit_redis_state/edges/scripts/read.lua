-- Read a key in one step: its value or its list's items from an index, with
-- the version and epoch they belong to.
-- KEYS[1] value   KEYS[2] list   KEYS[3] meta hash   KEYS[4] list bases
-- ARGV[1] field (the state key)   ARGV[2] first list index wanted
-- Returns {blob or false, items from the index, version, epoch, list base, list length}.
local items = redis.call('LRANGE', KEYS[2], tonumber(ARGV[2]), -1)
return {redis.call('GET', KEYS[1]), items,
        tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0'),
        redis.call('HGET', KEYS[3], '\0epoch') or '',
        tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or '0'),
        redis.call('LLEN', KEYS[2])}
