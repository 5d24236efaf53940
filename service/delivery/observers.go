package delivery

import (
	"time"

	"wagateway/service"
)

// Observers fans each call out to every observer in order.
func Observers(obs ...service.FlusherObserver) service.FlusherObserver { return observers(obs) }

type observers []service.FlusherObserver

func (os observers) OnBatch(r service.BatchReport) {
	for _, o := range os {
		o.OnBatch(r)
	}
}

func (os observers) OnDelivered(it service.Update, latency time.Duration) {
	for _, o := range os {
		o.OnDelivered(it, latency)
	}
}

func (os observers) OnDeadLettered(dl service.DeadLetter) {
	for _, o := range os {
		o.OnDeadLettered(dl)
	}
}
