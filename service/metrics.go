package service

// BatchMetrics is what GET /metrics/batch shows; the first four fields keep
// the seed's names.
type BatchMetrics struct {
	QRBatchSize     int   `json:"qrBatchSize"`     // QR items waiting
	StatusBatchSize int   `json:"statusBatchSize"` // status items waiting
	LastFlushQR     int64 `json:"lastFlushQr"`     // unix ms of the last QR request, 0 if none
	LastFlushStatus int64 `json:"lastFlushStatus"` // unix ms of the last status request, 0 if none

	Mode          DeliveryMode `json:"mode"`
	Durable       bool         `json:"durable"`       // outbox survives a crash
	Accepted      int64        `json:"accepted"`      // events written to the outbox
	Requests      int64        `json:"requests"`      // requests sent to Laravel (incl. retries)
	Sent          int64        `json:"sent"`          // items Laravel acknowledged with 2xx
	Superseded    int64        `json:"superseded"`    // items replaced by a newer one before sending
	Failed        int64        `json:"failed"`        // failed requests
	Retries       int64        `json:"retries"`       // requests that were retries
	DeadLettered  int64        `json:"deadLettered"`  // items Laravel refused for good
	RequestsSaved int64        `json:"requestsSaved"` // accepted events minus first tries (retries excluded), ≥ 0

	Lanes map[Lane]LaneMetrics `json:"lanes"`
}

// LaneMetrics is one lane's part of BatchMetrics.
type LaneMetrics struct {
	Pending   int   `json:"pending"`
	Requests  int64 `json:"requests"`
	Sent      int64 `json:"sent"`
	LastFlush int64 `json:"lastFlush"` // unix ms
	OldestMs  int64 `json:"oldestMs"`  // age of the oldest pending item
}
