package comm

import (
	"context"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// The value family sends arbitrary Go values, encoded with msgpack (like
// mpi4py's lowercase methods). Use the typed family (Send, Recv, ...) for
// numeric slices: it sends their memory without encoding.

// SendValue encodes v with msgpack and sends it to rank dest with tag.
func SendValue(ctx context.Context, c *Comm, v any, dest, tag int) error {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return fmt.Errorf("comm: SendValue: encoding %T: %w", v, err)
	}
	return Send(ctx, c, b, dest, tag)
}

// IsendValue encodes v at once and starts sending it; v may be modified
// as soon as IsendValue returns.
func IsendValue(c *Comm, v any, dest, tag int) (*Request, error) {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("comm: IsendValue: encoding %T: %w", v, err)
	}
	return Isend(c, b, dest, tag), nil
}

// RecvValue receives a message sent by SendValue from rank source (or
// AnySource) with tag (or AnyTag) and decodes it into ptr, which must be a
// non-nil pointer.
func RecvValue(ctx context.Context, c *Comm, ptr any, source, tag int) (Status, error) {
	b, st, err := c.RecvAlloc(ctx, source, tag)
	if err != nil {
		return st, err
	}
	if err := msgpack.Unmarshal(b, ptr); err != nil {
		return st, fmt.Errorf("comm: RecvValue from rank %d tag %d: decoding into %T: %w", st.Source, st.Tag, ptr, err)
	}
	return st, nil
}
