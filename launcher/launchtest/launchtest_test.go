package launchtest

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	r := Run(t, 30*time.Second, Cmd{Path: "sh", Args: []string{"-c", `read x; echo "out $x $LT_VAR"; echo err >&2; exit 3`}, Env: []string{"LT_VAR=v"}, Stdin: "in\n"})
	if r.Code != 3 || r.Out != "out in v\nerr\n" {
		t.Fatalf("code %d, output %q", r.Code, r.Out)
	}
}

func TestProcRanksAndWait(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprint("n=", n), func(t *testing.T) {
			script := fmt.Sprintf(`for r in $(seq 0 %d); do echo "noise"; echo "rank $r pid $((1000+r)): blocking"; done; read x; echo "after $x"`, n-1)
			c := Cmd{Path: "sh", Args: []string{"-c", script}}
			p := Start(t, 30*time.Second, c)
			pids := p.Ranks(n, func(line string) (int, int, bool) {
				var r, pid int
				k, _ := fmt.Sscanf(line, "rank %d pid %d: blocking", &r, &pid)
				return r, pid, k == 2
			})
			for r := range n {
				if pids[r] != 1000+r {
					t.Errorf("rank %d: pid %d", r, pids[r])
				}
			}
			res := p.Wait()
			if res.Code != 0 || !strings.HasSuffix(res.Out, "after \n") || strings.Count(res.Out, "noise\n") != n {
				t.Errorf("code %d output %q", res.Code, res.Out)
			}
		})
	}
}

// WaitGone sees processes that are not this process's children end: here
// grandchildren, orphaned to init (or a subreaper) once their shell exits.
func TestWaitGone(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprint("n=", n), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, "sh", "-c", fmt.Sprintf(`for i in $(seq %d); do sleep 30 >/dev/null 2>&1 & echo $!; done`, n)).Output()
			if err != nil {
				t.Fatal(err)
			}
			var pids []int
			for _, f := range strings.Fields(string(out)) {
				pid, _ := strconv.Atoi(f)
				pids = append(pids, pid)
			}
			t.Cleanup(func() {
				for _, pid := range pids {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			if left := WaitGone(pids, 0); len(left) != n {
				t.Fatalf("%d of %d running, want all", len(left), n)
			}
			// All but the last are killed: WaitGone returns the last one
			// once its limit passes.
			for _, pid := range pids[:n-1] {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			if left := WaitGone(pids, 50*time.Millisecond); len(left) != 1 || left[0] != pids[n-1] {
				t.Fatalf("left %v, want [%d]", left, pids[n-1])
			}
			syscall.Kill(pids[n-1], syscall.SIGKILL)
			if left := WaitGone(pids, 30*time.Second); len(left) != 0 {
				t.Fatalf("left %v after SIGKILL", left)
			}
		})
	}
}

// A child that has exited but is not reaped counts as gone.
func TestWaitGoneZombie(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	cmd.Process.Kill()
	if left := WaitGone([]int{cmd.Process.Pid}, 30*time.Second); len(left) != 0 {
		t.Fatalf("the unreaped child counts as running")
	}
}
