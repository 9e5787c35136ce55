-- Argo CD health check of deploy.aurora.dev/Deployment: status.state first, then the conditions.
-- Shared preamble: no status yet, or a generation the controller has not observed -> Progressing.
local hs = {}
local function condition(t)
  if obj.status ~= nil and obj.status.conditions ~= nil then
    for _, c in ipairs(obj.status.conditions) do
      if c.type == t then
        return c
      end
    end
  end
  return nil
end
local function msg(c, default)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return default
end
if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to report status"
  return hs
end
local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to observe generation " .. generation
  return hs
end
local ready = condition("Ready")
local stalled = condition("Stalled")
local reconciling = condition("Reconciling")
local state = obj.status.state
if state == "SUCCEEDED" then
  hs.status = "Healthy"
  hs.message = msg(ready, "Deployment succeeded")
  return hs
end
if state == "FAILED" or state == "ROLLED_BACK" or state == "CANCELLED" or state == "REJECTED" then
  hs.status = "Degraded"
  hs.message = state .. ": " .. msg(ready, msg(stalled, "Deployment ended without reaching every target"))
  return hs
end
if state == "AWAITING_APPROVAL" or state == "PAUSED" then
  hs.status = "Suspended"
  hs.message = state .. ": " .. msg(ready, msg(reconciling, "Waiting"))
  return hs
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = msg(stalled, "Stalled")
  return hs
end
hs.status = "Progressing"
if state ~= nil and state ~= "" then
  hs.message = state .. ": " .. msg(ready, msg(reconciling, "In progress"))
else
  hs.message = msg(ready, msg(reconciling, "Waiting for the deployment to start"))
end
return hs
