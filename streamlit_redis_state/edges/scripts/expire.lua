-- Give a key a lifetime, or take it away. Not a change of the value: nothing
-- is versioned or published now; when the key expires, the tick (or the next
-- read) deletes it for everyone.
-- KEYS[3] value   KEYS[4] list   KEYS[5] expiries
-- ARGV[9] lifetime in ms (0: never expire)
-- Returns 1 if the key exists, 0 if not.
local target
if redis.call('EXISTS', KEYS[3]) == 1 then
  target = KEYS[3]
elseif redis.call('EXISTS', KEYS[4]) == 1 then
  target = KEYS[4]
else
  return 0
end
local ttl = tonumber(ARGV[9])
if ttl > 0 then
  redis.call('PEXPIRE', target, ttl)
  redis.call('ZADD', KEYS[5], now_ms() + ttl, ARGV[3])
else
  redis.call('PERSIST', target)
  redis.call('ZREM', KEYS[5], ARGV[3])
end
return 1
