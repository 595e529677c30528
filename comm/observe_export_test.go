package comm

import (
	"strings"

	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

// ObserveState is what c's process would answer a query from gorun's
// agent with: the calls of c's world in progress.
func ObserveState(c *Comm) rendezvous.RankState { return observeState(c.e) }

// EncodeState is the argument of the state line answering query id.
func EncodeState(id string, st rendezvous.RankState) string { return encodeState(id+" ", st) }

// BusyGoroutines is what a rank answers a check query with: how many of
// its program's goroutines may still make progress on their own.
func BusyGoroutines() int { return busyGoroutines(allStacks()) }

// BusyGoroutinesOf is BusyGoroutines among the goroutines whose stacks
// name one of fns (a test function: its goroutine and those it started).
func BusyGoroutinesOf(fns ...string) int {
	var mine []string
	for _, g := range strings.Split(allStacks(), "\n\n") {
		for _, fn := range fns {
			if strings.Contains(g, fn) {
				mine = append(mine, g)
				break
			}
		}
	}
	return busyGoroutines(strings.Join(mine, "\n\n"))
}

// AllStacks is every goroutine's stack.
func AllStacks() string { return allStacks() }
