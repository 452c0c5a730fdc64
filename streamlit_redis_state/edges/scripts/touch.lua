-- Notify the key's subscribers without changing it (force_rerun_bound_sessions).
-- Only the prelude's keys and arguments.
-- Returns {1, version, epoch}.
local e = epoch()
return {1, publish_change(e), e}
