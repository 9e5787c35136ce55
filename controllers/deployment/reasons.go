package deployment

// Condition reasons of a Deployment beyond those in api/deploy/v1alpha1 and api/meta.
const (
	// ReasonPaused means a target waits for a timed pause.
	ReasonPaused = "Paused"
	// ReasonGateRejected means a Judgment rejected a constraint gate of a target.
	ReasonGateRejected = "Rejected"
	// ReasonApprovalExpired means nobody approved a constraint gate before its approvalExpiration.
	ReasonApprovalExpired = "ApprovalExpired"
	// ReasonReplaced means a newer queued deployment of the application replaced this one.
	ReasonReplaced = "Replaced"
)

// Reasons of the Events the Deployment controller records on a Deployment.
const (
	// EventRolloutCreated records the creation of a target's Rollout.
	EventRolloutCreated = "RolloutCreated"
	// EventDecisionPassed records a decision appended to a target's Rollout.
	EventDecisionPassed = "DecisionPassed"
	// EventStarted records a deployment leaving the queue.
	EventStarted = "Started"
	// EventFinished records a deployment reaching a final state.
	EventFinished = "Finished"
)
