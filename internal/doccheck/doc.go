// Package doccheck holds the test that keeps the README and docs/ honest:
// every make target they name exists, every relative link and anchor
// resolves, every path they tell you to run exists, and the configuration
// page lists every gateway variable with its real default.
//
// It has no code of its own; `go test ./...` (make unit) runs the check.
package doccheck
