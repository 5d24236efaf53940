//go:build !race

package mocklaravel

const raceEnabled = false
