-- The live members' names of a presence group, with the group's version.
-- KEYS[1] members (sorted set)   KEYS[2] names (hash)   KEYS[3] meta hash
-- ARGV[1] the group's pseudo key
-- Returns {version (as stored), epoch, name, name, ...}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
-- the version as stored: the reader checks it is a count
local out = {redis.call('HGET', KEYS[3], ARGV[1]) or '0',
             redis.call('HGET', KEYS[3], '\0epoch') or ''}
for _, id in ipairs(ids) do
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or ''
end
return out
