-- Renew a lock's lease, if it is still held with our token.
-- KEYS[1] lock   ARGV[1] token   ARGV[2] lease in ms
-- Returns 1 renewed, 0 not ours any more.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
