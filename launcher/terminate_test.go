package launcher

import (
	"bufio"
	"errors"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

// startGroup starts sh -c script leading its own process group and waits
// for its first line ("ready"); done closes when it has been reaped.
func startGroup(t *testing.T, script string) (cmd *exec.Cmd, done chan struct{}, state func() syscall.WaitStatus) {
	t.Helper()
	cmd = exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("the script did not start: %q", sc.Text())
	}
	done = make(chan struct{})
	var ws syscall.WaitStatus
	go func() {
		for sc.Scan() {
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			ws = ee.Sys().(syscall.WaitStatus)
		}
		close(done)
	}()
	return cmd, done, func() syscall.WaitStatus { <-done; return ws }
}

func waitDone(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the process group did not end")
	}
}

// A group that ignores SIGTERM gets SIGKILL after the grace.
func TestEscalateKillsWhatIgnoresTerm(t *testing.T) {
	cmd, done, state := startGroup(t, `trap "" TERM; echo ready; while :; do sleep 1; done`)
	if escalate(done, signalGroup(cmd.Process.Pid), termThenKill(0, 50*time.Millisecond)...) {
		t.Fatal("escalate says the group ended before SIGKILL")
	}
	waitDone(t, done)
	if ws := state(); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("wait status %v, want killed by SIGKILL", ws)
	}
}

// A group that ends on SIGTERM gets nothing more.
func TestEscalateStopsWhenDone(t *testing.T) {
	cmd, done, state := startGroup(t, `echo ready; while :; do sleep 1; done`)
	var sent []syscall.Signal
	send := func(sig syscall.Signal) { sent = append(sent, sig); signalGroup(cmd.Process.Pid)(sig) }
	if !escalate(done, send, termThenKill(0, time.Minute)...) {
		t.Fatal("escalate ran out of steps")
	}
	if ws := state(); !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("wait status %v, want killed by SIGTERM", ws)
	}
	if !slices.Equal(sent, []syscall.Signal{syscall.SIGTERM}) {
		t.Errorf("sent %v, want only SIGTERM", sent)
	}
}

func TestEscalateSteps(t *testing.T) {
	var sent []syscall.Signal
	send := func(sig syscall.Signal) { sent = append(sent, sig) }
	// A nil done runs every step, in order.
	steps := []killStep{{0, syscall.SIGINT}, {time.Millisecond, syscall.SIGTERM}, {0, syscall.SIGKILL}}
	if escalate(nil, send, steps...) {
		t.Fatal("a nil done closed")
	}
	if want := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL}; !slices.Equal(sent, want) {
		t.Errorf("sent %v, want %v", sent, want)
	}
	// A closed done sends nothing, even for a step of no delay.
	sent = nil
	closed := make(chan struct{})
	close(closed)
	if !escalate(closed, send, killStep{0, syscall.SIGKILL}) || len(sent) != 0 {
		t.Errorf("with done closed: sent %v", sent)
	}
}
