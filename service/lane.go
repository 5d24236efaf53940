package service

// Lane is a delivery priority: HIGH flushes every PRIORITY_INTERVAL, NORMAL every BATCH_INTERVAL.
type Lane string

const (
	LaneHigh   Lane = "high"
	LaneNormal Lane = "normal"
)

// Lanes lists both lanes, HIGH first.
var Lanes = []Lane{LaneHigh, LaneNormal}

// Valid reports whether l is a known lane.
func (l Lane) Valid() bool { return l == LaneHigh || l == LaneNormal }

// LaneFor picks the default lane of an event: QR codes (a code lives 20 s)
// and session opened/closed go HIGH; expiry and other statuses go NORMAL.
func LaneFor(kind Kind, status Status) Lane {
	if kind == KindQR || status == StatusActive || status == StatusInactive {
		return LaneHigh
	}
	return LaneNormal
}
