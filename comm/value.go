package comm

import (
	"context"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// The value family sends arbitrary Go values, encoded with msgpack (like
// mpi4py's lowercase methods). Use the typed family (Send, Recv, ...) for
// numeric slices: it sends their memory without encoding.

// SendValue encodes v with msgpack and sends it to rank dest with tag, as
// Send does (a send to ProcNull sends nothing; a bad rank or tag is an
// error wrapping ErrInvalidRank or ErrInvalidTag).
func SendValue(ctx context.Context, c *Comm, v any, dest, tag int) error {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return fmt.Errorf("comm: SendValue: encoding %T: %w", v, err)
	}
	return c.send(ctx, "SendValue", b, dest, tag)
}

// IsendValue encodes v at once and starts sending it, as Isend does; v may
// be modified as soon as IsendValue returns. An encoding error is returned;
// other errors, a bad rank or tag among them, are reported by the request.
func IsendValue(c *Comm, v any, dest, tag int) (*Request, error) {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("comm: IsendValue: encoding %T: %w", v, err)
	}
	return c.isend("IsendValue", b, dest, tag), nil
}

// RecvValue receives a message sent by SendValue from rank source (or
// AnySource) with tag (or AnyTag) and decodes it into ptr, which must be a
// non-nil pointer. From ProcNull it returns ProcNull's empty Status at
// once and leaves *ptr as it is; a bad rank or tag is an error wrapping
// ErrInvalidRank or ErrInvalidTag.
func RecvValue(ctx context.Context, c *Comm, ptr any, source, tag int) (Status, error) {
	b, st, err := c.recvAlloc(ctx, "RecvValue", source, tag)
	if err != nil || source == ProcNull {
		return st, err
	}
	if err := msgpack.Unmarshal(b, ptr); err != nil {
		return st, fmt.Errorf("comm: RecvValue from rank %d tag %d: decoding into %T: %w", st.Source, st.Tag, ptr, err)
	}
	return st, nil
}
