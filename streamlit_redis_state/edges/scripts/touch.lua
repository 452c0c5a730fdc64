-- Notify the key's subscribers without changing it (force_rerun_bound_sessions).
-- Only the prelude's keys and arguments.
-- Returns {1, version, epoch, ''}.
local done = replayed()
if done then
  return done
end
local e = epoch()
return finish(1, publish_change(e), e)
