package comm

import "testing"

// BenchmarkObserveHooks measures what the record of blocked calls costs
// one call that blocks: claiming and releasing a slot, and one completed
// request's progress count.
func BenchmarkObserveHooks(b *testing.B) {
	e := &engine{}
	b.ReportAllocs()
	for b.Loop() {
		t := obsEnter(e, "Recv", 0, 1, 1, 9, 0, 0, 8)
		obsProgress.Add(1)
		obsExit(t)
	}
}

// BenchmarkObserveSpan is BenchmarkObserveHooks for a collective's span.
func BenchmarkObserveSpan(b *testing.B) {
	c := &Comm{e: &engine{}}
	b.ReportAllocs()
	for b.Loop() {
		sp := c.BeginCollective("Allreduce", -1, 5*StepsPerCollective)
		sp.Algorithm("ring", 4096)
		sp.End()
	}
}
