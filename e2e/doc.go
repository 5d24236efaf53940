// Package e2e holds black-box tests of the gateway binary (build tag e2e):
// the real program, started as a separate process, against Redis in Docker
// containers (testcontainers-go). `make e2e` sets up Docker and the image.
//
// The harness (startRedis, startGateway) is meant to be reused: later
// scenarios kill -9 the gateway, stop it with SIGTERM or restart Redis.
package e2e
