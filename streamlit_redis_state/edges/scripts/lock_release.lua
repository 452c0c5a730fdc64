-- Release a lock held with our token, and wake every process's waiters.
-- KEYS[1] lock   ARGV[1] channel   ARGV[2] token   ARGV[3] the state key
-- ARGV[4] retry (1 when re-sent: a lock already gone was released by the
-- first attempt, whose reply was lost)
-- Returns 1 released, 0 not ours any more.
local held = redis.call('GET', KEYS[1])
if held == ARGV[2] then
  redis.call('DEL', KEYS[1])
  publish_unlock(ARGV[1], ARGV[3])
  return 1
end
if not held and ARGV[4] == '1' then
  return 1
end
return 0
