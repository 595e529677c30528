package comm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestBadArgumentsAreErrors: every point-to-point call and probe reports
// a rank or tag out of range as an error wrapping the sentinel, naming
// the call, the value and the range, instead of panicking.
func TestBadArgumentsAreErrors(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprintf("np=%d", n), func(t *testing.T) {
			commtest.Run(t, n, testCfg, func(ctx context.Context, c *comm.Comm) error {
				buf := make([]int32, 4)
				wait := func(r *comm.Request) error { _, err := r.Wait(ctx); return err }
				type call struct {
					name string
					f    func(rank, tag int) error
				}
				sends := []call{
					{"Isend", func(r, g int) error { return wait(comm.Isend(c, buf, r, g)) }},
					{"IsendBytes", func(r, g int) error { return wait(c.IsendBytes([]byte{1}, r, g)) }},
					{"Send", func(r, g int) error { return comm.Send(ctx, c, buf, r, g) }},
					{"TrySend", func(r, g int) error {
						done, err := comm.TrySend(c, buf, r, g)
						if !done {
							return errors.New("not done")
						}
						return err
					}},
					{"TrySendBytes", func(r, g int) error { _, err := c.TrySendBytes([]byte{1}, r, g); return err }},
					{"Sendrecv", func(r, g int) error {
						_, err := comm.Sendrecv(ctx, c, buf, r, g, buf, comm.ProcNull, 0)
						return err
					}},
					{"SendValue", func(r, g int) error { return comm.SendValue(ctx, c, 5, r, g) }},
					{"IsendValue", func(r, g int) error {
						req, err := comm.IsendValue(c, 5, r, g)
						if err != nil {
							return err
						}
						return wait(req)
					}},
				}
				recvs := []call{
					{"Irecv", func(r, g int) error { return wait(comm.Irecv(c, buf, r, g)) }},
					{"IrecvBytes", func(r, g int) error { return wait(c.IrecvBytes([]byte{1}, r, g)) }},
					{"Recv", func(r, g int) error { _, err := comm.Recv(ctx, c, buf, r, g); return err }},
					{"RecvAlloc", func(r, g int) error { _, _, err := c.RecvAlloc(ctx, r, g); return err }},
					{"RecvValue", func(r, g int) error { var v int; _, err := comm.RecvValue(ctx, c, &v, r, g); return err }},
					{"Sendrecv", func(r, g int) error {
						_, err := comm.Sendrecv(ctx, c, buf, comm.ProcNull, 0, buf, r, g)
						return err
					}},
					{"Iprobe", func(r, g int) error { _, _, err := c.Iprobe(r, g); return err }},
					{"Probe", func(r, g int) error { _, err := c.Probe(ctx, r, g); return err }},
				}
				type bad struct {
					rank, tag int
					want      error
					value     string
				}
				badSend := []bad{
					{n, 0, comm.ErrInvalidRank, fmt.Sprintf("rank %d out of range [0,%d)", n, n)},
					{-3, 0, comm.ErrInvalidRank, "rank -3 out of range"},
					{comm.AnySource, 0, comm.ErrInvalidRank, "rank -1 out of range"},
					{0, -1, comm.ErrInvalidTag, fmt.Sprintf("tag -1 out of range [0,%d]", comm.MaxTag)},
					{0, comm.MaxTag + 1, comm.ErrInvalidTag, fmt.Sprintf("tag %d out of range", comm.MaxTag+1)},
				}
				badRecv := []bad{
					{n, 0, comm.ErrInvalidRank, fmt.Sprintf("rank %d out of range [0,%d)", n, n)},
					{-3, 0, comm.ErrInvalidRank, "rank -3 out of range"},
					{0, -2, comm.ErrInvalidTag, "tag -2 out of range"},
					{0, comm.MaxTag + 1, comm.ErrInvalidTag, fmt.Sprintf("tag %d out of range", comm.MaxTag+1)},
				}
				check := func(calls []call, bads []bad) error {
					for _, cl := range calls {
						for _, b := range bads {
							var err error
							func() {
								defer func() {
									if p := recover(); p != nil {
										err = fmt.Errorf("panicked: %v", p)
									}
								}()
								err = cl.f(b.rank, b.tag)
							}()
							if !errors.Is(err, b.want) || !errors.Is(err, comm.ErrInvalidArgument) ||
								!strings.Contains(err.Error(), cl.name+":") || !strings.Contains(err.Error(), b.value) {
								return fmt.Errorf("%s(rank %d, tag %d): %v; want %v naming the call and %q", cl.name, b.rank, b.tag, err, b.want, b.value)
							}
						}
					}
					return nil
				}
				if err := check(sends, badSend); err != nil {
					return err
				}
				if err := check(recvs, badRecv); err != nil {
					return err
				}
				for _, ranks := range [][]int{{0, n}, {0, 0}} {
					if _, err := c.Create(ctx, ranks); !errors.Is(err, comm.ErrInvalidArgument) {
						return fmt.Errorf("Create(%v): %v, want ErrInvalidArgument", ranks, err)
					}
				}
				return nil
			})
		})
	}
}

// TestProcNull: as MPI_PROC_NULL, sends to ProcNull complete at once and
// send nothing, receives and probes of it complete at once with an empty
// Status from ProcNull, and a non-periodic shift with Sendrecv works at
// both edges.
func TestProcNull(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprintf("np=%d", n), func(t *testing.T) {
			commtest.Run(t, n, testCfg, func(ctx context.Context, c *comm.Comm) error {
				want := comm.Status{Source: comm.ProcNull, Tag: comm.AnyTag}
				for _, size := range []int{1, 5000} { // eager and above the eager limit
					buf := make([]byte, size)
					if err := comm.Send(ctx, c, buf, comm.ProcNull, 3); err != nil {
						return fmt.Errorf("Send to ProcNull: %v", err)
					}
					r := comm.Isend(c, buf, comm.ProcNull, 3)
					if done, _, err := r.Test(); !done || err != nil {
						return fmt.Errorf("Isend to ProcNull: done %v, %v", done, err)
					}
					buf[0] = 9
					st, err := comm.Recv(ctx, c, buf, comm.ProcNull, 3)
					if err != nil || st != want || buf[0] != 9 {
						return fmt.Errorf("Recv from ProcNull: %+v %v, buffer touched %v", st, err, buf[0] != 9)
					}
					rr := comm.Irecv(c, buf, comm.ProcNull, comm.AnyTag)
					if done, st, err := rr.Test(); !done || err != nil || st != want {
						return fmt.Errorf("Irecv from ProcNull: %v %+v %v", done, st, err)
					}
				}
				if st, ok, err := c.Iprobe(comm.ProcNull, 0); !ok || err != nil || st != want {
					return fmt.Errorf("Iprobe(ProcNull): %+v %v %v", st, ok, err)
				}
				if st, err := c.Probe(ctx, comm.ProcNull, comm.AnyTag); err != nil || st != want {
					return fmt.Errorf("Probe(ProcNull): %+v %v", st, err)
				}
				if b, st, err := c.RecvAlloc(ctx, comm.ProcNull, 1); err != nil || st != want || len(b) != 0 {
					return fmt.Errorf("RecvAlloc(ProcNull): %d bytes %+v %v", len(b), st, err)
				}
				v := 7
				if st, err := comm.RecvValue(ctx, c, &v, comm.ProcNull, 1); err != nil || st != want || v != 7 {
					return fmt.Errorf("RecvValue(ProcNull): %+v %v, value %d", st, err, v)
				}
				// A shift towards higher ranks on a line: rank 0 receives
				// from ProcNull, the last rank sends to it.
				me := c.Rank()
				right, left := me+1, me-1
				if right == n {
					right = comm.ProcNull
				}
				if left < 0 {
					left = comm.ProcNull
				}
				for _, count := range []int{1, 3000} {
					send := make([]int32, count)
					send[0] = int32(me)
					recv := []int32{-5}
					recv = append(recv, make([]int32, count-1)...)
					st, err := comm.Sendrecv(ctx, c, send, right, 4, recv, left, 4)
					if err != nil {
						return err
					}
					switch {
					case left == comm.ProcNull && (st != want || recv[0] != -5):
						return fmt.Errorf("shift at the left edge: %+v, %d", st, recv[0])
					case left != comm.ProcNull && (st.Source != left || recv[0] != int32(left)):
						return fmt.Errorf("shift: %+v, %d", st, recv[0])
					}
				}
				return nil
			})
		})
	}
}
