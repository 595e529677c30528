package launcher

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineWaiter is a Job.Stdout that closes ready once n lines have come.
type lineWaiter struct {
	syncBuffer
	n     int
	once  sync.Once
	ready chan struct{}
}

func (w *lineWaiter) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	if strings.Count(w.String(), "\n") >= w.n {
		w.once.Do(func() { close(w.ready) })
	}
	return n, err
}

// runJob runs job in local mode and fails the test if it does not end
// within a minute.
func runJob(t *testing.T, ctx context.Context, job Job) (int, string) {
	t.Helper()
	var stderr syncBuffer
	job.Stderr = &stderr
	if job.Stdout == nil {
		job.Stdout = &stderr
	}
	type res struct {
		code int
		err  error
	}
	done := make(chan res, 1)
	go func() {
		code, err := Run(ctx, job)
		done <- res{code, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("Run: %v", r.err)
		}
		return r.code, stderr.String()
	case <-time.After(time.Minute):
		t.Fatalf("the job did not end within a minute; output:\n%s", stderr.String())
	}
	return 0, ""
}

// gorunLines returns out's lines from gorun itself.
func gorunLines(out string) []string {
	var ls []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "gorun: ") {
			ls = append(ls, l)
		}
	}
	return ls
}

var nps = []int{1, 2, 3, 5, 8}

// The job's verdict in Run, end to end: success, the failing rank's code
// with one line naming it, the time limit, the caller's context.
func TestRunVerdict(t *testing.T) {
	for _, np := range nps {
		t.Run(fmt.Sprint("np=", np), func(t *testing.T) {
			t.Run("success", func(t *testing.T) {
				code, out := runJob(t, context.Background(), Job{NP: np, Program: "sh", Args: []string{"-c", "exit 0"}})
				if code != 0 || len(gorunLines(out)) != 0 {
					t.Fatalf("code %d, output:\n%s", code, out)
				}
			})
			t.Run("failure", func(t *testing.T) {
				last := np - 1
				script := fmt.Sprintf(`[ "$GORUN_RANK" = %d ] && exit 3; exec sleep 30`, last)
				code, out := runJob(t, context.Background(), Job{NP: np, Program: "sh", Args: []string{"-c", script}, Grace: 50 * time.Millisecond})
				ls := gorunLines(out)
				if code != 3 || len(ls) != 1 || !strings.HasPrefix(ls[0], fmt.Sprintf("gorun: rank %d (pid ", last)) || !strings.HasSuffix(ls[0], "exited with code 3") {
					t.Fatalf("code %d, want 3 and one line naming rank %d:\n%s", code, last, out)
				}
			})
			t.Run("timeout", func(t *testing.T) {
				code, out := runJob(t, context.Background(), Job{NP: np, Program: "sleep", Args: []string{"30"}, Timeout: 200 * time.Millisecond, Grace: 50 * time.Millisecond})
				// The verdict line first; the stall report of what the
				// ranks were doing follows it (stall.go).
				ls := gorunLines(out)
				if code != ExitTimeout || len(ls) < 1 || !strings.Contains(ls[0], "exceeded its time limit of 200ms") {
					t.Fatalf("code %d, want %d and the time-limit line first:\n%s", code, ExitTimeout, out)
				}
				for _, l := range ls[1:] {
					if !strings.HasPrefix(l, "gorun: what the ranks were doing") {
						t.Fatalf("unexpected line after the verdict: %q\n%s", l, out)
					}
				}
			})
			t.Run("context", func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				w := &lineWaiter{n: np, ready: make(chan struct{})}
				go func() { <-w.ready; cancel() }()
				code, out := runJob(t, ctx, Job{NP: np, Program: "sh", Args: []string{"-c", "echo up; exec sleep 30"}, Stdout: w})
				if code != ExitFailure {
					t.Fatalf("code %d, want %d:\n%s", code, ExitFailure, out)
				}
			})
		})
	}
}
