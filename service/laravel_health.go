package service

import "time"

// Laravel health states, as GET /health shows them.
const (
	LaravelUp      = "up"      // the last request was accepted (2xx)
	LaravelDown    = "down"    // the last request failed or was refused
	LaravelUnknown = "unknown" // nothing sent yet
)

// LaravelHealth is how Laravel answered the gateway's last request. A
// refusal (401, 403, 404, 422, …) is down too: it is what a wrong token or
// URL returns, while the updates stay in the outbox.
type LaravelHealth struct {
	State      string    // LaravelUp, LaravelDown or LaravelUnknown
	StatusCode int       // status of the last answer; 0 when Laravel did not answer
	At         time.Time // when that answer was seen; zero before the first request
}
