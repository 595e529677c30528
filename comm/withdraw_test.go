package comm_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// TestWithdrawnSendLeavesNoTrace withdraws a large send before any receive
// is posted, by Cancel and by Send's context running out: the receiver
// must neither probe nor receive it, and its next receive takes the next
// real message.
func TestWithdrawnSendLeavesNoTrace(t *testing.T) {
	const ghost, real = 5000, 3000 // both above testCfg's eager limit
	for _, how := range []string{"cancel", "timeout"} {
		t.Run(how, func(t *testing.T) {
			commtest.Run(t, 2, testCfg, func(ctx context.Context, c *comm.Comm) error {
				ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				if c.Rank() == 0 {
					switch how {
					case "cancel":
						r := comm.Isend(c, make([]byte, ghost), 1, 5)
						if !r.Cancel() {
							return errors.New("Cancel of an unmatched send reported false")
						}
						if _, err := r.Wait(ctx); !errors.Is(err, comm.ErrCanceled) {
							return fmt.Errorf("cancelled send: %v, want ErrCanceled", err)
						}
					case "timeout":
						tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
						err := comm.Send(tctx, c, make([]byte, ghost), 1, 5)
						cancel()
						if !errors.Is(err, context.DeadlineExceeded) {
							return fmt.Errorf("send with nobody receiving: %v, want a deadline error", err)
						}
					}
					msg := make([]byte, real)
					msg[0] = 42
					r := comm.Isend(c, msg, 1, 5)
					if err := comm.Send(ctx, c, []byte{1}, 1, 6); err != nil {
						return err
					}
					_, err := r.Wait(ctx)
					return err
				}
				// The go-ahead comes after the withdrawal and the real
				// message on the same stream.
				if _, err := comm.Recv(ctx, c, make([]byte, 1), 0, 6); err != nil {
					return err
				}
				st, ok, err := c.Iprobe(0, 5)
				if err != nil || !ok || st.Bytes != real {
					return fmt.Errorf("Iprobe: %+v %v %v, want the real message of %d bytes", st, ok, err, real)
				}
				buf := make([]byte, ghost)
				st, err = comm.Recv(ctx, c, buf, 0, 5)
				if err != nil || st.Bytes != real || buf[0] != 42 {
					return fmt.Errorf("Recv: %+v %v, want the real message", st, err)
				}
				if _, ok, _ := c.Iprobe(0, comm.AnyTag); ok {
					return errors.New("a message is left over")
				}
				return nil
			})
		})
	}
}

// TestCancelAfterMatchFails cancels a large send whose receive is already
// posted: the receiver matches the announcement at once, so the cancel
// must fail and the message be delivered.
func TestCancelAfterMatchFails(t *testing.T) {
	commtest.Run(t, 2, testCfg, func(ctx context.Context, c *comm.Comm) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		const size = 20000
		for i := range 20 {
			if c.Rank() == 1 {
				buf := make([]byte, size)
				r := comm.Irecv(c, buf, 0, i)
				if err := comm.Send(ctx, c, []byte{1}, 0, 1000); err != nil {
					return err
				}
				if _, err := r.Wait(ctx); err != nil {
					return fmt.Errorf("round %d: receive: %w", i, err)
				}
				if buf[size-1] != byte(i) {
					return fmt.Errorf("round %d: wrong data", i)
				}
				continue
			}
			if _, err := comm.Recv(ctx, c, make([]byte, 1), 1, 1000); err != nil {
				return err
			}
			msg := make([]byte, size)
			msg[size-1] = byte(i)
			s := comm.Isend(c, msg, 1, i)
			if s.Cancel() {
				return fmt.Errorf("round %d: Cancel of a send whose receive was posted reported true", i)
			}
			if _, err := s.Wait(ctx); err != nil {
				return fmt.Errorf("round %d: send: %w", i, err)
			}
		}
		return nil
	})
}
