//go:build !race

package collectives_test

const raceOn = false
