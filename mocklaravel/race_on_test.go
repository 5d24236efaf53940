//go:build race

package mocklaravel

// raceEnabled shrinks the burst test: under the race detector it checks
// correctness, not speed.
const raceEnabled = true
