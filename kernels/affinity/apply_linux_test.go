package affinity_test

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/gorun-hpc/gorun/kernels/affinity"
)

// taskAllowed reads Cpus_allowed_list of a task from /proc.
func taskAllowed(t *testing.T, pid, tid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("no Cpus_allowed_list")
	return ""
}

func tasks(t *testing.T, pid int) []int {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, e := range ents {
		if id, err := strconv.Atoi(e.Name()); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

func TestApplyProcess(t *testing.T) {
	orig, err := affinity.Current()
	if err != nil {
		t.Skip(err)
	}
	if orig.Len() < 2 {
		t.Skip("needs two allowed CPUs")
	}
	target := orig[len(orig)-1:]
	defer func() {
		if err := affinity.Apply(orig); err != nil {
			t.Fatal(err)
		}
	}()
	if err := affinity.Apply(target); err != nil {
		t.Fatal(err)
	}
	for _, tid := range tasks(t, os.Getpid()) {
		if got := taskAllowed(t, os.Getpid(), tid); got != target.String() {
			t.Errorf("task %d allowed %s, want %s", tid, got, target)
		}
	}
	runtime.LockOSThread()
	cur, err := affinity.Current()
	runtime.UnlockOSThread()
	if err != nil || !cur.Equal(target) {
		t.Errorf("Current = %s, %v; want %s", cur, err, target)
	}
}

func TestApplyPIDChild(t *testing.T) {
	orig, err := affinity.Current()
	if err != nil || orig.Len() < 2 {
		t.Skip("needs two allowed CPUs")
	}
	cmd := exec.Command("cat") // blocks on its stdin until we close it
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer func() { in.Close(); cmd.Wait() }()
	target := orig[:1]
	if err := affinity.ApplyPID(cmd.Process.Pid, target); err != nil {
		t.Fatal(err)
	}
	for _, tid := range tasks(t, cmd.Process.Pid) {
		if got := taskAllowed(t, cmd.Process.Pid, tid); got != target.String() {
			t.Errorf("child task %d allowed %s, want %s", tid, got, target)
		}
	}
}

func TestApplyThread(t *testing.T) {
	orig, err := affinity.Current()
	if err != nil || orig.Len() < 2 {
		t.Skip("needs two allowed CPUs")
	}
	done := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := affinity.ApplyThread(orig[1:2]); err != nil {
			done <- err
			return
		}
		cur, err := affinity.Current()
		if err == nil && !cur.Equal(orig[1:2]) {
			err = os.ErrInvalid
		}
		if err == nil && taskAllowed(t, os.Getpid(), gettid()) != orig[1:2].String() {
			err = os.ErrInvalid
		}
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
