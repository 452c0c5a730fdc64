-- Take a lock for a lease, or confirm we already hold it (a re-sent request
-- after a lost reply must not wait out its own lease).
-- KEYS[1] lock   ARGV[1] token   ARGV[2] lease in ms
-- Returns 1 held with this token, 0 held by someone else.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
