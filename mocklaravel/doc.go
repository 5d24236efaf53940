// Package mocklaravel is a faithful stand-in for the Laravel API the
// gateway delivers QR codes and session statuses to. The gateway, the Pact
// provider tests, the e2e suite and the load test talk to it instead of the
// real app; it keeps what it receives in SQLite, counts everything, and can
// be broken on purpose. It must never import the gateway (package service
// and below): a bug shared by both sides would hide from every test.
//
// # Laravel API
//
// The routes, bodies, answers and errors are described once, in
// contracts/README.md, and pinned by contracts/pacts/wagateway-laravel.json,
// which `make contracts` verifies this mock against. Bodies are at most 5 MB.
// What follows is how the mock fills in what the contract leaves to the app.
//
// Times are RFC 3339, with or without fractional seconds, and are written
// back in UTC with milliseconds (TimeFormat). They are required in batches
// and default to now in the single endpoints.
//
// A batch is one transaction. Newest wins per session, separately for the
// QR and the status: an item older than what is stored is accepted and
// counted as updated but changes nothing, so retries and reordering never
// restore an old state (an equal time overwrites, so replays are harmless).
// With autocreate on (default) an unknown session_id creates its account; a
// QR creates it "pending" with a null last_status_update. With autocreate
// off, items of unknown accounts count in failed.
//
// Validation answers 422 like Laravel's validator, with errors keyed by item
// index in rule order (every session_id, then every value, then every time):
//
//	{"message":"The statuses.3.estado_qr field is required. (and 2 more errors)",
//	 "errors":{"statuses.3.estado_qr":["The statuses.3.estado_qr field is required."],…}}
//
// Rules: the array is required (an empty one fails too), must be an array
// and has at most 500 items; session_id is a string matching
// [A-Za-z0-9_-]{1,64}; estado_qr is pending, active, inactive or expired; qr
// starts with "data:image/png" (Laravel's starts_with, as the checklist);
// event times are optional (the receive time counts) and RFC 3339 when given. Other answers: 400 {"message"} for malformed JSON, 415 for
// another content type, 413 above 5 MB, 401 {"message":"Unauthenticated."}
// when a token is configured and the Bearer token is missing or wrong, 405
// (with Allow) for a wrong method, 404 {"message"} for an unknown route.
// Bad input never causes a 500.
//
// Requests may carry an Idempotency-Key header. Keys are remembered per
// endpoint (the newest IdempotencyCapacity); a POST whose key was seen
// before is counted as a replay and processed again, harmlessly.
//
// # Test endpoints, /__mock/ (never behind the token or faults)
//
//	GET    /__mock/health         {"status":"ok"}
//	GET    /__mock/stats          Stats: per endpoint requests, items, bytes, updated, failed,
//	                              status counts, latency_ms p50/p95/p99/max/mean, replays,
//	                              first_at/last_at (unix ms); totals; per_second (last 300 s)
//	POST   /__mock/reset          clears accounts, stats, idempotency keys and faults
//	GET    /__mock/faults         FaultState
//	POST   /__mock/faults         Faults (replaces the current ones; {} clears)
//	DELETE /__mock/faults         clears
//	GET    /__mock/accounts       {"accounts":[Account…],"count":N}; ?estado_qr=active filters
//	POST   /__mock/accounts       Account: create or overwrite as given (a provider state)
//	GET    /__mock/accounts/{id}  Account, or 404
//	DELETE /__mock/accounts/{id}  {"success":true}, or 404
//	GET    /__mock/idempotency    {"keys":N,"replays":R,"capacity":C}; ?key=K adds "seen":{endpoint:times}
//
// Faults (see the Faults type): {"down":true} answers every /api request
// 503; {"latency_ms":200,"error_rate":0.5,"status":503,"retry_after_s":2,
// "duration_s":30} adds latency after processing and, with probability
// error_rate, answers status (default 503) with Retry-After instead of
// processing; {"reject_sessions":["bad1"]} makes any request naming those
// ids fail with 422, keyed by index ("statuses.2.session_id": ["The selected
// statuses.2.session_id is invalid."]). duration_s ends every fault. Faulted
// requests are counted in the stats under their status. The randomness is
// Config.Rand (MOCK_SEED), so tests are deterministic.
//
// # In-process use
//
// New returns a *Server, an http.Handler with Go methods doing what
// /__mock/ does (Reset, UpsertAccount, Account, Accounts, DeleteAccount,
// Stats, SetFaults, Faults, Close). NewClient drives a mock in another
// process over /__mock/. The command is mocklaravel/cmd/mocklaravel.
package mocklaravel
