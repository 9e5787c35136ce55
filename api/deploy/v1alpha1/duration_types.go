package v1alpha1

import "time"

// TimeUnit is the unit of a duration in a deploy file.
// +kubebuilder:validation:Enum=seconds;minutes;hours
type TimeUnit string

// Time units of a deploy file.
const (
	// Seconds is a duration in seconds.
	Seconds TimeUnit = "seconds"
	// Minutes is a duration in minutes.
	Minutes TimeUnit = "minutes"
	// Hours is a duration in hours.
	Hours TimeUnit = "hours"
)

// Timeout is a duration written as a count and a unit, as in a deploy file.
type Timeout struct {
	// duration is the count of units.
	// +required
	// +kubebuilder:validation:Minimum=1
	Duration int32 `json:"duration"`

	// unit is seconds, minutes or hours.
	// +required
	Unit TimeUnit `json:"unit"`
}

// ToDuration converts a count and unit to a time.Duration; an unknown unit counts as seconds.
func ToDuration(count int64, unit TimeUnit) time.Duration {
	switch unit {
	case Minutes:
		return time.Duration(count) * time.Minute
	case Hours:
		return time.Duration(count) * time.Hour
	default:
		return time.Duration(count) * time.Second
	}
}

// Get returns the timeout as a time.Duration.
func (t Timeout) Get() time.Duration { return ToDuration(int64(t.Duration), t.Unit) }
