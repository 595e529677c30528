package comm

import (
	"runtime"
	"time"
)

// spinWait reports whether a poll loop that found nothing should try again:
// for up to spin after its first call (which sets *until), yielding the
// processor between tries.
func spinWait(until *time.Time, spin time.Duration, yield bool) bool {
	if spin <= 0 {
		return false
	}
	now := time.Now()
	if until.IsZero() {
		*until = now.Add(spin)
	} else if now.After(*until) {
		return false
	}
	runtime.Gosched()
	if yield {
		schedYield()
	}
	return true
}
