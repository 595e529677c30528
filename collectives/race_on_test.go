//go:build race

package collectives_test

// raceOn: sync.Pool drops items on purpose under the race detector.
const raceOn = true
