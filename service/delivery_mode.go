package service

// DeliveryMode is how updates travel to Laravel (DELIVERY_MODE).
type DeliveryMode string

const (
	DeliveryModeBatch  DeliveryMode = "batch"  // coalesced batches of ≤ BATCH_SIZE per lane interval
	DeliveryModeDirect DeliveryMode = "direct" // one request per event, at once: the old behaviour
)

// DeliveryModes lists every DeliveryMode, batch first.
var DeliveryModes = []DeliveryMode{DeliveryModeBatch, DeliveryModeDirect}

// Valid reports whether m is a known mode.
func (m DeliveryMode) Valid() bool { return m == DeliveryModeBatch || m == DeliveryModeDirect }
