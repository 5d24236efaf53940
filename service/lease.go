package service

// Lease is one instance's hold on one session. Token is the fencing token:
// it grows with every new holder of the session's lease, so a write that
// carries an older token is refused, however late it arrives.
type Lease struct {
	SessionID string `json:"session_id"`
	Owner     string `json:"owner"`
	Token     int64  `json:"token"`
}

// Valid reports whether l names a held lease (Token 0 is never handed out).
func (l Lease) Valid() bool { return l.SessionID != "" && l.Owner != "" && l.Token > 0 }
