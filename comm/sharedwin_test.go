package comm_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
	"github.com/gorun-hpc/gorun/comm/internal/tmpfstest"
)

// windowsMapped counts the node-shared windows this process has mapped.
func windowsMapped(t *testing.T) int {
	t.Helper()
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip("no /proc/self/maps")
	}
	return strings.Count(string(maps), "gorun-win-")
}

func devShm(t *testing.T) []string {
	ents, _ := os.ReadDir("/dev/shm")
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// Every rank of a host writes its slice, fences, and reads every other
// rank's; then writes into its right neighbour's slice, fences, and finds
// its left neighbour's values in its own. Slices are aligned and of the
// sizes asked (0 included). After Free nothing stays mapped, and nothing
// appears in /dev/shm.
func TestSharedWindow(t *testing.T) {
	layouts := map[string][]string{
		"np1": make([]string, 1), "np2": make([]string, 2), "np3": make([]string, 3),
		"np5": make([]string, 5), "np8": make([]string, 8),
		"3x2": commtest.Layout(2, 2, 2), "1+2+2": commtest.Layout(1, 2, 2), "3+1": commtest.Layout(3, 1),
	}
	before := windowsMapped(t)
	shmBefore := len(devShm(t))
	size := func(r int) int { return []int{1000, 0, 7, 4096, 1, 33, 0, 100000}[r%8] }
	for name, layout := range layouts {
		t.Run(name, func(t *testing.T) {
			commtest.RunHosts(t, layout, testCfg, func(ctx context.Context, c *comm.Comm) error {
				node, err := c.SplitType(ctx, comm.TypeShared, 0)
				if err != nil {
					return err
				}
				me, p := node.Rank(), node.Size()
				w, err := node.AllocateShared(ctx, size(me))
				if err != nil {
					return err
				}
				defer w.Free()
				if w.Rank() != me || w.Size() != p {
					return fmt.Errorf("window rank %d of %d", w.Rank(), w.Size())
				}
				mine, err := w.Shared(me)
				if err != nil {
					return err
				}
				for i := range mine {
					mine[i] = byte(me*31 + i)
				}
				if err := w.Fence(ctx); err != nil {
					return err
				}
				for r := range p {
					b, err := w.Shared(r)
					if err != nil {
						return err
					}
					if len(b) != size(r) || cap(b) != size(r) {
						return fmt.Errorf("rank %d's slice: len %d cap %d, want %d", r, len(b), cap(b), size(r))
					}
					if len(b) > 0 && uintptr(unsafe.Pointer(&b[0]))%comm.SharedAlign != 0 {
						return fmt.Errorf("rank %d's slice at %p is not aligned", r, &b[0])
					}
					for i, v := range b {
						if v != byte(r*31+i) {
							return fmt.Errorf("rank %d's slice [%d] = %d, want %d", r, i, v, byte(r*31+i))
						}
					}
				}
				// A second phase through the typed view: write the right
				// neighbour's slice.
				right, left := (me+1)%p, (me+p-1)%p
				if err := w.Fence(ctx); err != nil { // everyone has read
					return err
				}
				theirs, err := comm.SharedOf[uint8](w, right)
				if err != nil {
					return err
				}
				for i := range theirs {
					theirs[i] = byte(1000 + me + i)
				}
				if err := w.Fence(ctx); err != nil {
					return err
				}
				for i, v := range mine {
					if v != byte(1000+left+i) {
						return fmt.Errorf("after the neighbour wrote: [%d] = %d, want %d", i, v, byte(1000+left+i))
					}
				}
				if f, err := comm.SharedOf[float64](w, me); err != nil || len(f) != size(me)/8 {
					return fmt.Errorf("SharedOf[float64]: %d elements, %v", len(f), err)
				}
				return w.Free()
			})
		})
	}
	if n := windowsMapped(t); n != before {
		t.Errorf("%d windows mapped after Free, want %d", n, before)
	}
	if n := len(devShm(t)); n > shmBefore {
		t.Errorf("/dev/shm has %d entries, %d before: %v", n, shmBefore, devShm(t))
	}
}

// Bad arguments are errors on every rank, before any segment is made;
// a window larger than the machine is ErrNoSharedMemory everywhere.
func TestSharedWindowArguments(t *testing.T) {
	before := windowsMapped(t)
	commtest.RunHosts(t, commtest.Layout(2, 1), testCfg, func(ctx context.Context, c *comm.Comm) error {
		// Over two hosts.
		if _, err := c.AllocateShared(ctx, 8); !errors.Is(err, comm.ErrInvalidArgument) || !strings.Contains(err.Error(), "2 hosts") {
			return fmt.Errorf("over two hosts: %v", err)
		}
		node, err := c.SplitType(ctx, comm.TypeShared, 0)
		if err != nil {
			return err
		}
		if node.Size() == 1 {
			return nil
		}
		// A negative size on one rank: every rank hears of it.
		size := 8
		if node.Rank() == 1 {
			size = -5
		}
		if _, err := node.AllocateShared(ctx, size); !errors.Is(err, comm.ErrInvalidArgument) || !strings.Contains(err.Error(), "rank 1 asked for -5 bytes") {
			return fmt.Errorf("negative size: %v", err)
		}
		// More than the machine's memory.
		if _, err := node.AllocateShared(ctx, 1<<43); !errors.Is(err, comm.ErrNoSharedMemory) {
			return fmt.Errorf("8 TiB each: %v, want ErrNoSharedMemory", err)
		}
		w, err := node.AllocateShared(ctx, 8)
		if err != nil {
			return err
		}
		for _, r := range []int{-1, node.Size()} {
			if _, err := w.Shared(r); !errors.Is(err, comm.ErrInvalidRank) {
				return fmt.Errorf("Shared(%d): %v", r, err)
			}
		}
		w.Free()
		w.Close()
		if _, err := w.Shared(0); !errors.Is(err, comm.ErrClosed) {
			return fmt.Errorf("Shared after Free: %v", err)
		}
		if err := w.Fence(ctx); !errors.Is(err, comm.ErrClosed) {
			return fmt.Errorf("Fence after Free: %v", err)
		}
		return nil
	})
	if n := windowsMapped(t); n != before {
		t.Errorf("%d windows mapped, want %d", n, before)
	}
}

// TestSharedWindowTinyTmpfs: a window that does not fit its tmpfs (a
// 1 MiB one, as a small /dev/shm) is an error wrapping ErrNoSharedMemory
// on every rank, never a SIGBUS; one that fits works. Needs root for the
// mount, in a mount namespace of its own (unshare -m).
func TestSharedWindowTinyTmpfs(t *testing.T) {
	if dir := tmpfstest.Dir(); dir != "" {
		comm.SetSharedDir(dir)
		defer comm.SetSharedDir("")
		// auto, not the suite's transport: one host even when the suite
		// runs mixed (modelled hosts), and its pairs fall back to TCP in
		// the small tmpfs.
		commtest.Run(t, 3, commtest.WithTransport(testCfg, comm.TransportAuto), func(ctx context.Context, c *comm.Comm) error {
			if _, err := c.AllocateShared(ctx, 1<<20); !errors.Is(err, comm.ErrNoSharedMemory) {
				return fmt.Errorf("3 MiB in a 1 MiB tmpfs: %v, want ErrNoSharedMemory", err)
			}
			w, err := c.AllocateShared(ctx, 64<<10)
			if err != nil {
				return err
			}
			b, _ := w.Shared(c.Rank())
			for i := range b {
				b[i] = 1
			}
			return w.Free()
		})
		return
	}
	tmpfstest.Rerun(t, "1M", time.Minute)
}
