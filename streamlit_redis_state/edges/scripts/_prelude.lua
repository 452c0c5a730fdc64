-- The prelude: loaded in front of every script that changes a namespace, so
-- the epoch, the version bump, the notification and the request record are
-- written once. docs/internals.md ("Wire format", "Key layout") describes them.
--
-- Every such script shares the first keys and arguments:
--   KEYS[1] meta hash: "\0epoch", "\0seq", and each state key's version
--   KEYS[2] request record: this request's outcome, kept so a retry replays it
--   ARGV[1] channel   ARGV[2] epoch candidate (fresh per call)
--   ARGV[3] field (the state key, or a presence group's pseudo key)
--   ARGV[4] origin (process:session)   ARGV[5] quiet (0 or 1)
--   ARGV[6] depth (how many changes led to the run that makes this one)
--   ARGV[7] request record lifetime in ms   ARGV[8] retry (1 when re-sent)
-- Script-specific keys start at KEYS[3], arguments at ARGV[9].

local SEQ = '\0seq'
local EPOCH = '\0epoch'
-- PUBLISH, or SPUBLISH on a Redis Cluster (the loader writes it in): a
-- notification then stays on the shard that owns the namespace's slot.
local PUBLISH = 'PUBLISH'

-- Integers as plain digits: cjson and tostring write 1e+14, which no reader
-- could trust.
local function digits(n)
  return string.format('%.0f', n)
end

-- The namespace's epoch, created by the first change after the data was:
-- the meta hash is lost whole (restart, FLUSHDB, eviction), never in part.
local function epoch()
  local e = redis.call('HGET', KEYS[1], EPOCH)
  if not e then
    e = ARGV[2]
    redis.call('HSET', KEYS[1], EPOCH, e)
  end
  return e
end

-- A field's current version (0 if it never changed); `field` defaults to ARGV[3].
local function version(field)
  return tonumber(redis.call('HGET', KEYS[1], field or ARGV[3]) or '0')
end

-- Whether a write fenced by `token` must be refused: its lock is not held with it.
local function fenced(lock_key, token)
  return token ~= '' and redis.call('GET', lock_key) ~= token
end

-- A re-sent request that already ran: its recorded outcome, else nil.
local function replayed()
  if ARGV[8] ~= '1' then
    return nil
  end
  local done = redis.call('GET', KEYS[2])
  if not done then
    return nil
  end
  local o, v, e, extra = string.match(done, '^(-?%d+) (%d+) (%x*) (.*)$')
  return {tonumber(o), tonumber(v), e, extra}
end

-- What every change script checks first: a re-sent request replays its
-- outcome, a write fenced by a lost lock is refused. Returns the reply to
-- give now, or nil to go on.
local function precheck(lock_key, token)
  local done = replayed()
  if done then
    return done
  end
  if fenced(lock_key, token) then
    return {-1, 0, '', ''}
  end
  return nil
end

-- The same for append and convert, which do not take the key's lock: a
-- writer that does not hold it waits while another holder has it (reply 4,
-- with the lease left in ms), so a locked read-modify-write never loses it.
local function precheck_unlocked(lock_key, token)
  if token ~= '' then
    return precheck(lock_key, token)
  end
  local done = replayed()
  if done then
    return done
  end
  local lease = redis.call('PTTL', lock_key)
  if lease ~= -2 then
    return {4, 0, '', digits(lease)}
  end
  return nil
end

-- Return the outcome; a change is also recorded, so a retry replays it
-- instead of applying it twice. (A no-op needs no record: re-run later, it
-- is as if the request had simply arrived later.)
local function finish(outcome, ver, e, extra)
  extra = extra or ''
  if outcome == 1 then
    redis.call('SET', KEYS[2], outcome .. ' ' .. digits(ver) .. ' ' .. e .. ' ' .. extra,
               'PX', ARGV[7])
  end
  return {outcome, ver, e, extra}
end

-- Bump a field's version and the sequence, publish the change, return the version.
-- `appended` and `length`: an append to a list readers may already hold.
-- `field` defaults to ARGV[3] (a key the tick reaps; read_many names one per key).
local function publish_change(e, appended, length, field)
  field = field or ARGV[3]
  local ver = redis.call('HINCRBY', KEYS[1], field, 1)
  local seq = redis.call('HINCRBY', KEYS[1], SEQ, 1)
  redis.call(PUBLISH, ARGV[1], table.concat({
    'SRS1', 'c', digits(seq), digits(ver), ARGV[6], ARGV[5],
    appended and digits(appended) or '-', length and digits(length) or '-',
    e, ARGV[4], field}, ' '))
  return ver
end

-- Redis's clock, in ms: expiries never depend on a replica's clock.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Tell every process that the lock on `key` was released (it wakes waiters).
local function publish_unlock(channel, key)
  redis.call(PUBLISH, channel, 'SRS1 u ' .. key)
end

-- The one blob that reads as the list of `items` (each a codec blob): the
-- codec's header, a msgpack array header, then each item without its header.
local function list_blob(items)
  local n = #items
  local head
  if n < 16 then
    head = string.char(144 + n)
  elseif n < 65536 then
    head = string.char(220, math.floor(n / 256), n % 256)
  else
    head = string.char(221, math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256,
                       math.floor(n / 256) % 256, n % 256)
  end
  local parts = {'\193\2', head}
  for _, item in ipairs(items) do
    parts[#parts + 1] = string.sub(item, 3)
  end
  return table.concat(parts)
end

