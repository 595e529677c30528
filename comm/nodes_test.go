package comm_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// hostLayouts are the fake placements the node-aware tests run: by slot
// (equal and unequal hosts), round robin, one host, one rank per host.
var hostLayouts = map[string][]string{
	"1":       commtest.Layout(1),
	"3x2":     commtest.Layout(2, 2, 2),
	"1+2+2":   commtest.Layout(1, 2, 2),
	"3+1":     commtest.Layout(3, 1),
	"rr2x3":   {"a", "b", "a", "b", "a", "b"},
	"one5":    commtest.Layout(5),
	"8x1":     commtest.Layout(1, 1, 1, 1, 1, 1, 1, 1),
	"machine": make([]string, 3), // the real identity: one host (commtest.MixedHosts when the suite runs mixed)
}

// hostIndex numbers the hosts of layout by their lowest rank.
func hostIndex(layout []string) []int {
	idx := map[string]int{}
	out := make([]int, len(layout))
	for r, h := range layout {
		if _, ok := idx[h]; !ok {
			idx[h] = len(idx)
		}
		out[r] = idx[h]
	}
	return out
}

// SplitType(TypeShared) groups exactly the ranks of each fake host, in
// world order; Nodes agrees, and its Local and Leaders communicators
// carry messages.
func TestSplitTypeShared(t *testing.T) {
	for name, layout := range hostLayouts {
		t.Run(name, func(t *testing.T) {
			hosts := layout
			if os.Getenv("GORUN_TEST_TRANSPORT") == commtest.Mixed {
				hosts = commtest.MixedHosts(layout)
			}
			hi := hostIndex(hosts)
			commtest.RunHosts(t, layout, testCfg, func(ctx context.Context, c *comm.Comm) error {
				node, err := c.SplitType(ctx, comm.TypeShared, 0)
				if err != nil {
					return err
				}
				var want []int
				for r := range layout {
					if hi[r] == hi[c.Rank()] {
						want = append(want, r)
					}
				}
				got := make([]int, node.Size())
				for i := range got {
					got[i] = node.WorldRank(i)
				}
				if !slices.Equal(got, want) {
					return fmt.Errorf("host communicator %v, want %v", got, want)
				}
				n, err := c.Nodes(ctx)
				if err != nil {
					return err
				}
				hosts := slices.Max(hi) + 1
				counts := make([]int, hosts)
				for _, h := range hi {
					counts[h]++
				}
				if n.Hosts != hosts || n.MaxLocal != slices.Max(counts) {
					return fmt.Errorf("Nodes: %d hosts, %d at most per host; want %d, %d", n.Hosts, n.MaxLocal, hosts, slices.Max(counts))
				}
				if n2, _ := c.Nodes(ctx); n2 != n {
					return errors.New("a second Nodes call made a new value")
				}
				if n.Local.Size() != len(want) || n.Local.Rank() != slices.Index(want, c.Rank()) || n.LocalRank(c.Rank()) != n.Local.Rank() {
					return fmt.Errorf("Local: rank %d of %d", n.Local.Rank(), n.Local.Size())
				}
				if (n.Leaders != nil) != (want[0] == c.Rank()) {
					return fmt.Errorf("leader %v, want %v", n.Leaders != nil, want[0] == c.Rank())
				}
				if n.Leaders != nil && (n.Leaders.Size() != hosts || n.Leaders.Rank() != n.Host(c.Rank())) {
					return fmt.Errorf("Leaders: rank %d of %d, want %d of %d", n.Leaders.Rank(), n.Leaders.Size(), n.Host(c.Rank()), hosts)
				}
				// The node communicators carry messages of their own: a
				// ring of host names within each host and among leaders.
				for _, sub := range []*comm.Comm{node, n.Local, n.Leaders} {
					if sub == nil {
						continue
					}
					out := []int{c.Rank()}
					in := make([]int, 1)
					right, left := (sub.Rank()+1)%sub.Size(), (sub.Rank()+sub.Size()-1)%sub.Size()
					if _, err := comm.Sendrecv(ctx, sub, out, right, 7, in, left, 7); err != nil {
						return err
					}
					if in[0] != sub.WorldRank(left) {
						return fmt.Errorf("ring: got %d from %d", in[0], sub.WorldRank(left))
					}
				}
				// Blocked: every host's ranks consecutive.
				blocked := true
				for r := 1; r < len(hi); r++ {
					if hi[r] != hi[r-1] && slices.Contains(hi[:r], hi[r]) {
						blocked = false
					}
				}
				if n.Blocked != blocked {
					return fmt.Errorf("Blocked %v, want %v", n.Blocked, blocked)
				}
				return nil
			})
		})
	}
}

// A split communicator's Nodes counts only its own ranks; a Dup's matches
// its parent's and has communicators of its own.
func TestNodesOfSubcommunicators(t *testing.T) {
	layout := commtest.Layout(2, 2, 2)
	commtest.RunHosts(t, layout, testCfg, func(ctx context.Context, c *comm.Comm) error {
		even, err := c.Split(ctx, c.Rank()%2, 0) // one rank per host
		if err != nil {
			return err
		}
		n, err := even.Nodes(ctx)
		if err != nil {
			return err
		}
		if n.Hosts != 3 || n.MaxLocal != 1 || n.Local.Size() != 1 || n.Leaders == nil {
			return fmt.Errorf("split: %d hosts, %d per host", n.Hosts, n.MaxLocal)
		}
		d := c.Dup()
		dn, err := d.Nodes(ctx)
		if err != nil {
			return err
		}
		cn, err := c.Nodes(ctx)
		if err != nil {
			return err
		}
		if dn.Hosts != cn.Hosts || dn.Local == cn.Local {
			return errors.New("Dup's Nodes: same communicators as its parent's")
		}
		// Both Local communicators work side by side.
		r := cn.Local.Rank()
		a, b := make([]int, 1), make([]int, 1)
		if _, err := comm.Sendrecv(ctx, dn.Local, []int{1}, 1-r, 0, a, 1-r, 0); err != nil {
			return err
		}
		if _, err := comm.Sendrecv(ctx, cn.Local, []int{2}, 1-r, 0, b, 1-r, 0); err != nil {
			return err
		}
		if a[0] != 1 || b[0] != 2 {
			return fmt.Errorf("crossed: %d %d", a[0], b[0])
		}
		return nil
	})
}

// A bad split kind is an error wrapping ErrInvalidArgument on the rank
// that passed it, the others unaffected; Undefined gets nil.
func TestSplitTypeArguments(t *testing.T) {
	commtest.RunHosts(t, commtest.Layout(2, 1), testCfg, func(ctx context.Context, c *comm.Comm) error {
		kind := comm.TypeShared
		switch c.Rank() {
		case 1:
			kind = comm.SplitKind(comm.Undefined)
		case 2:
			kind = 42
		}
		sub, err := c.SplitType(ctx, kind, 0)
		switch c.Rank() {
		case 0:
			if err != nil || sub == nil || sub.Size() != 1 {
				return fmt.Errorf("rank 0: %v, %v", sub, err)
			}
		case 1:
			if err != nil || sub != nil {
				return fmt.Errorf("Undefined: %v, %v", sub, err)
			}
		case 2:
			if !errors.Is(err, comm.ErrInvalidArgument) || sub != nil || !strings.Contains(err.Error(), strconv.Itoa(42)) {
				return fmt.Errorf("kind 42: %v, %v", sub, err)
			}
		}
		return nil
	})
}

// TestNodesReadTheHostEntries: the node table is built from the one host
// entry each rank publishes (host/<rank>, written by the transports), on
// every transport and rank count: no other key carries the identity, and
// Nodes counts the hosts the entries name.
func TestNodesReadTheHostEntries(t *testing.T) {
	for _, transport := range []string{comm.TransportTCP, comm.TransportAuto, commtest.Mixed} {
		for _, n := range []int{1, 2, 3, 5, 8} {
			t.Run(fmt.Sprintf("%s/np=%d", transport, n), func(t *testing.T) {
				hosts := make([]string, n) // mixed: commtest puts ranks 2r, 2r+1 on one host
				want := (n + 1) / 2
				if transport != commtest.Mixed {
					for r := range hosts {
						hosts[r] = "h" + strconv.Itoa(r%3)
					}
					want = min(n, 3)
				}
				cfg := testCfg
				cfg.Transport = transport
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				w, err := commtest.StartHosts(ctx, hosts, cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				errs := make(chan error, n)
				for _, c := range w.Comms {
					go func() {
						nodes, err := c.Nodes(ctx)
						if err == nil && nodes.Hosts != want {
							err = fmt.Errorf("rank %d: %d hosts, want %d", c.Rank(), nodes.Hosts, want)
						}
						errs <- err
					}()
				}
				for range n {
					if err := <-errs; err != nil {
						t.Fatal(err)
					}
				}
				for r := range n {
					if v, ok := w.Store.Lookup("node/" + strconv.Itoa(r)); ok {
						t.Errorf("node/%d = %q: the identity is published twice", r, v)
					}
					v, ok := w.Store.Lookup("host/" + strconv.Itoa(r))
					if n > 1 && (!ok || !strings.Contains(string(v), " ")) {
						t.Errorf("host/%d = %q, %v: want \"<transport> <host>\"", r, v, ok)
					}
				}
			})
		}
	}
}
