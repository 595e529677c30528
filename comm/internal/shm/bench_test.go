package shm

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"
)

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

// benchPeer starts a peer in role on the second CPU, this goroutine
// pinned to the first, both polling (no futex sleeps within a run).
func benchPeer(b *testing.B, role string, o Options, env ...string) *peer {
	o.Spin = time.Second
	env = append(env, "SHM_CPU=1")
	ctx := testCtx2(b, 10*time.Minute)
	p := startPeer(b, ctx, role, true, o, o, env...)
	pin(0)
	b.Cleanup(runtime.UnlockOSThread)
	return p
}

// BenchmarkPingPong: one message to the peer and back per op; ns/oneway
// is half the round trip (the OSU latency figure).
func BenchmarkPingPong(b *testing.B) {
	for _, n := range []int{8, 4 << 10, 64 << 10, 1 << 20, 2 << 20, 4 << 20, 8 << 20, 16 << 20, 64 << 20, 256 << 20} {
		for _, path := range []string{"ring", "cma"} {
			if path == "cma" && n < 64<<10 {
				continue
			}
			b.Run(fmt.Sprintf("size=%s/path=%s", sizeName(n), path), func(b *testing.B) {
				o := Options{NoCMA: path == "ring", CMAMin: 64 << 10}
				p := benchPeer(b, "echo", o)
				if path == "cma" && !p.ch.CMA() {
					b.Skip("process_vm_readv refused")
				}
				ctx := testCtx2(b, 10*time.Minute)
				out, in := filled(n), make([]byte, n)
				var h [HeaderSize]byte
				roundTrip := func() {
					if err := p.ch.Send(ctx, &h, out); err != nil {
						b.Fatal(err)
					}
					m, err := p.ch.Recv(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(m, in); err != nil {
						b.Fatal(err)
					}
				}
				for range 100 {
					roundTrip()
				}
				b.SetBytes(int64(n))
				b.ReportAllocs()
				b.ResetTimer()
				// Each round trip is timed: the median (p50) shows the fast
				// path on a host whose other load preempts the pollers now
				// and then; the mean (ns/oneway) includes those stalls.
				rtt := make([]time.Duration, b.N)
				start := time.Now()
				for i := range b.N {
					t0 := time.Now()
					roundTrip()
					rtt[i] = time.Since(t0)
				}
				b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(2*b.N), "ns/oneway")
				slices.Sort(rtt)
				b.ReportMetric(float64(rtt[len(rtt)/2].Nanoseconds())/2, "p50-ns/oneway")
				b.ReportMetric(float64(rtt[len(rtt)*99/100].Nanoseconds())/2, "p99-ns/oneway")
				b.StopTimer()
				stop(b, p)
			})
		}
	}
}

// BenchmarkBandwidth: windows of 64 messages to the peer, which answers
// each window with 4 bytes (OSU's osu_bw).
func BenchmarkBandwidth(b *testing.B) {
	const window = 64
	for _, n := range []int{64 << 10, 256 << 10, 1 << 20, 4 << 20} {
		for _, path := range []string{"ring", "cma"} {
			b.Run(fmt.Sprintf("size=%s/path=%s", sizeName(n), path), func(b *testing.B) {
				o := Options{NoCMA: path == "ring", CMAMin: 64 << 10}
				p := benchPeer(b, "sink", o, "SHM_COUNT="+strconv.Itoa(window))
				if path == "cma" && !p.ch.CMA() {
					b.Skip("process_vm_readv refused")
				}
				ctx := testCtx2(b, 10*time.Minute)
				out := filled(n)
				var h [HeaderSize]byte
				var ack [4]byte
				win := func() {
					for range window {
						if err := p.ch.Send(ctx, &h, out); err != nil {
							b.Fatal(err)
						}
					}
					m, err := p.ch.Recv(ctx)
					if err != nil {
						b.Fatal(err)
					}
					io.ReadFull(m, ack[:])
				}
				win()
				b.SetBytes(int64(n * window))
				b.ResetTimer()
				for range b.N {
					win()
				}
				b.StopTimer()
				stop(b, p)
			})
		}
	}
}

// filled is n bytes of a pattern: a buffer never written reads the
// kernel's zero page, which is always in cache and flatters every copy.
func filled(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 1)
	}
	return b
}

func stop(b *testing.B, p *peer) {
	var h [HeaderSize]byte
	h[0] = opStop
	p.ch.Send(testCtx2(b, time.Minute), &h, nil)
	if err := p.wait(); err != nil {
		b.Fatalf("peer: %v", err)
	}
}
