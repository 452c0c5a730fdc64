-- The prelude: loaded in front of every script that changes a namespace, so
-- the epoch, the version bump and the notification are written once.
--
-- Every such script shares the first keys and arguments:
--   KEYS[1] versions hash   KEYS[2] sequence   KEYS[3] epoch
--   ARGV[1] channel   ARGV[2] epoch candidate   ARGV[3] field (the state key)
--   ARGV[4] origin (process:session)   ARGV[5] quiet (0 or 1)
-- Notification format: docs/internals.md ("Wire format").

-- The namespace's epoch, created by the first change after the data was.
local function epoch()
  local e = redis.call('GET', KEYS[3])
  if not e then
    e = ARGV[2]
    redis.call('SET', KEYS[3], e)
  end
  return e
end

-- The field's current version (0 if it never changed).
local function version()
  return tonumber(redis.call('HGET', KEYS[1], ARGV[3]) or '0')
end

-- Whether a write fenced by `token` must be refused: its lock is not held with it.
local function fenced(lock_key, token)
  return token ~= '' and redis.call('GET', lock_key) ~= token
end

-- Bump the field's version and the sequence, publish the change, return the version.
-- `extra` adds fields to the notification (an append's counts).
local function publish_change(e, extra)
  local ver = redis.call('HINCRBY', KEYS[1], ARGV[3], 1)
  local seq = redis.call('INCR', KEYS[2])
  local event = {k = ARGV[3], v = ver, s = seq, o = ARGV[4], q = tonumber(ARGV[5]), e = e}
  if extra then
    for name, value in pairs(extra) do
      event[name] = value
    end
  end
  redis.call('PUBLISH', ARGV[1], cjson.encode(event))
  return ver
end

-- Tell every process that the lock on `key` was released (it wakes waiters).
local function publish_unlock(channel, key)
  redis.call('PUBLISH', channel, cjson.encode({u = key}))
end

