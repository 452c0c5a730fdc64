-- Release a lock held with our token, and wake every process's waiters.
-- KEYS[1] lock   ARGV[1] channel   ARGV[2] token   ARGV[3] the state key
-- Returns 1 released, 0 not ours any more.
if redis.call('GET', KEYS[1]) == ARGV[2] then
  redis.call('DEL', KEYS[1])
  publish_unlock(ARGV[1], ARGV[3])
  return 1
end
return 0
