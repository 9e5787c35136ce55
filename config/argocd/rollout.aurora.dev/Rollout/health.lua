-- Argo CD health check of rollout.aurora.dev/Rollout: status.phase first, then the conditions.
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
local phase = obj.status.phase
local text = obj.status.message
if text == nil or text == "" then
  text = msg(ready, msg(reconciling, msg(stalled, "")))
end
local function with(p)
  if text ~= "" then
    return p .. ": " .. text
  end
  return p
end
if phase == "Succeeded" then
  hs.status = "Healthy"
  hs.message = with(phase)
  return hs
end
if phase == "Failed" or phase == "RolledBack" or phase == "Cancelled" then
  hs.status = "Degraded"
  hs.message = with(phase)
  return hs
end
if phase == "Paused" or phase == "AwaitingApproval" then
  hs.status = "Suspended"
  hs.message = with(phase)
  return hs
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = msg(stalled, "Stalled")
  return hs
end
hs.status = "Progressing"
hs.message = with(phase or "Pending")
return hs
