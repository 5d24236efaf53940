package service_test

import (
	"errors"
	"testing"

	"wagateway/service"
)

func TestBatchReportOutcome(t *testing.T) {
	tests := []struct {
		err  error
		mode service.DeliveryMode
		want string
	}{
		{nil, service.DeliveryModeBatch, "sent"},
		{&service.DeliveryError{StatusCode: 503}, service.DeliveryModeBatch, "retry"},
		{&service.DeliveryError{StatusCode: 0}, service.DeliveryModeBatch, "retry"},
		{&service.DeliveryError{StatusCode: 403}, service.DeliveryModeBatch, "retry"},
		{&service.DeliveryError{StatusCode: 404}, service.DeliveryModeBatch, "retry"},
		{&service.DeliveryError{StatusCode: 404}, service.DeliveryModeDirect, "refused"},
		{&service.DeliveryError{StatusCode: 422}, service.DeliveryModeBatch, "refused"},
		{errors.New("?"), service.DeliveryModeBatch, "retry"},
	}
	for _, tt := range tests {
		if got := (service.BatchReport{Err: tt.err, Mode: tt.mode}).Outcome(); got != tt.want {
			t.Errorf("Outcome(%v, %s) = %s, want %s", tt.err, tt.mode, got, tt.want)
		}
	}
}
