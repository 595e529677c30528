package launcher

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
)

// A keeper makes sure that no process of a job outlives its agent, even
// when the agent (gorun itself in local mode) dies by SIGKILL. Each agent
// starts one: its own executable again, with keeperEnv set, in a process
// group of its own, reading a pipe whose only writer is the agent. The
// agent writes "+PGID" for every rank it starts (each rank leads its own
// process group) and "done" once it has reaped every rank and emptied
// their groups. When the pipe reaches end of file without "done" (the
// agent is gone) the keeper sends SIGKILL to every group it was told of
// and exits: a rank's children and grandchildren go with it, which the
// ranks' parent-death signal alone would not do. Processes that leave
// their rank's group (setsid) are beyond its reach.

// keeperEnv, set to "1", makes any program that links this package run as
// a keeper instead of its main function.
const keeperEnv = "GORUN_KEEPER"

func init() {
	if os.Getenv(keeperEnv) == "1" {
		os.Exit(runKeeper(os.Stdin))
	}
}

// runKeeper serves the keeper's pipe r until "done" or its end.
func runKeeper(r io.Reader) int {
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGPIPE)
	var mu sync.Mutex
	groups := map[int]bool{}
	killAll := func() {
		mu.Lock()
		defer mu.Unlock()
		// The agent is gone: nothing waits for a grace (terminate.go).
		escalate(nil, func(sig syscall.Signal) {
			for g := range groups {
				syscall.Kill(-g, sig)
			}
		}, killStep{0, syscall.SIGKILL})
		groups = map[int]bool{}
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		killAll()
		os.Exit(0)
	}()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "done" {
			return 0
		}
		if len(line) < 2 {
			continue
		}
		g, err := strconv.Atoi(line[1:])
		if err != nil || g <= 1 {
			continue
		}
		mu.Lock()
		switch line[0] {
		case '+':
			groups[g] = true
		case '-':
			delete(groups, g)
		}
		mu.Unlock()
	}
	killAll()
	return 0
}

// keeper is an agent's handle on its keeper process. Its methods are safe
// for concurrent use and do nothing on a nil keeper (none could be
// started).
type keeper struct {
	mu sync.Mutex
	w  *os.File
}

// startKeeper starts the agent's keeper.
func startKeeper() (*keeper, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := &exec.Cmd{Path: exe, Args: []string{"gorun-keeper"}, Env: append(os.Environ(), keeperEnv+"=1"), Stdin: r,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, err
	}
	go cmd.Wait()
	return &keeper{w: w}, nil
}

func (k *keeper) say(format string, args ...any) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.w != nil {
		fmt.Fprintf(k.w, format+"\n", args...)
	}
}

// add hands the keeper a rank's process group.
func (k *keeper) add(pgid int) { k.say("+%d", pgid) }

// done lets the keeper go without killing anything.
func (k *keeper) done() {
	if k == nil {
		return
	}
	k.say("done")
	k.mu.Lock()
	if k.w != nil {
		k.w.Close()
		k.w = nil
	}
	k.mu.Unlock()
}
