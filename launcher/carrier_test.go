package launcher

import (
	"bytes"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The agent's command line reaches the remote shell intact: sshCommand's
// last word, run by sh, gives back agentArgs word for word.
func TestSSHCommandQuoting(t *testing.T) {
	r := &Remote{Exec: []string{"ssh", "-x"}, Gorun: "/opt/my gorun/it's", Heartbeat: time.Second, HeartbeatTimeout: 6 * time.Second}
	argv := r.sshCommand("h1")
	if !slices.Equal(argv[:3], []string{"ssh", "-x", "h1"}) || len(argv) != 4 {
		t.Fatalf("argv %q", argv)
	}
	script, ok := strings.CutPrefix(argv[3], "exec ")
	if !ok {
		t.Fatalf("remote command %q does not exec the agent", argv[3])
	}
	out, err := exec.Command("sh", "-c", `printf '%s\n' `+script).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"), r.agentArgs("h1"); !slices.Equal(got, want) {
		t.Errorf("the remote shell sees %q, want %q", got, want)
	}
}

func TestSrunCommand(t *testing.T) {
	r := &Remote{Srun: []string{"srun", "--extra"}, Gorun: "/g", Heartbeat: time.Second, HeartbeatTimeout: 6 * time.Second}
	argv := r.srunCommand([]string{"n1", "n2", "n3"}, "10.0.0.1:5000")
	for _, want := range []string{"--nodes=3", "--ntasks=3", "--nodelist=n1,n2,n3", "--extra"} {
		if !slices.Contains(argv, want) {
			t.Errorf("argv lacks %q: %q", want, argv)
		}
	}
	if !slices.Equal(argv[:2], []string{"srun", "--extra"}) || !slices.Equal(argv[len(argv)-2:], []string{"--connect", "10.0.0.1:5000"}) {
		t.Errorf("argv %q", argv)
	}
	if i := slices.Index(argv, "/g"); i < 0 || !slices.Equal(argv[i:i+4], []string{"/g", "agent", "--host", ""}) {
		t.Errorf("no agent command line in %q", argv)
	}
}

// syncBuffer is a bytes.Buffer for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// A carrier's stderr: skipped lines are dropped, the others held until
// release (then printed with the prefix), the last one kept for the exit
// status; its exit is reported once its stderr is read to the end.
func TestCarrierStderr(t *testing.T) {
	var log syncBuffer
	h, err := newHead(Job{NP: 1, Stderr: &log})
	if err != nil {
		t.Fatal(err)
	}
	for _, hold := range []bool{false, true} {
		log.mu.Lock()
		log.b.Reset()
		log.mu.Unlock()
		cr, err := h.startCarrier(carrierSpec{
			argv:   []string{"sh", "-c", `echo one >&2; echo noise >&2; echo two >&2; echo out; exit 3`},
			prefix: "gorun: test: ", hold: hold,
			skip: func(l string) bool { return l == "noise" },
		})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-cr.exited:
		case <-time.After(30 * time.Second):
			t.Fatal("the carrier was not reaped")
		}
		var ee *exec.ExitError
		if !errors.As(cr.err, &ee) || ee.ExitCode() != 3 {
			t.Errorf("hold %v: exit %v, want status 3", hold, cr.err)
		}
		// Its stdout joins its stderr (an srun carrier).
		if got := cr.lastLine(); got != "out" {
			t.Errorf("hold %v: last line %q, want %q", hold, got, "out")
		}
		if hold && log.String() != "" {
			t.Errorf("held lines were printed: %q", log.String())
		}
		cr.release()
		if want := "gorun: test: one\ngorun: test: two\ngorun: test: out\n"; log.String() != want {
			t.Errorf("hold %v: printed %q, want %q", hold, log.String(), want)
		}
	}
}
