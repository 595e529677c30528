package parallel

import (
	"bytes"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// The executor's msgpack codec: pooled encoders and decoders over buffers
// the caller owns, so that a task's argument and result cost no
// allocation beyond what the value itself needs (msgpack.Marshal and
// Unmarshal allocate a buffer, a reader and the result on every call).
// The settings are msgpack.Marshal's and Unmarshal's.

// appendBuf is the encoder's writer: it appends to b.
type appendBuf struct{ b []byte }

func (w *appendBuf) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
func (w *appendBuf) WriteByte(c byte) error      { w.b = append(w.b, c); return nil }

type codec struct {
	enc     *msgpack.Encoder
	w       appendBuf
	scratch []byte
	dec     *msgpack.Decoder
	r       bytes.Reader
}

var codecs = sync.Pool{New: func() any {
	c := &codec{}
	c.enc = msgpack.NewEncoder(&c.w)
	c.dec = msgpack.NewDecoder(&c.r)
	return c
}}

// appendValue appends v's msgpack encoding to dst. On an error dst comes
// back as it was.
func appendValue(dst []byte, v any) ([]byte, error) {
	c := codecs.Get().(*codec)
	c.w.b = dst
	err := c.enc.Encode(v)
	out := c.w.b
	c.w.b = nil
	codecs.Put(c)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// marshalValue is v's msgpack encoding in a slice of its own, of its
// length.
func marshalValue(v any) ([]byte, error) {
	c := codecs.Get().(*codec)
	c.w.b = c.scratch[:0]
	err := c.enc.Encode(v)
	var out []byte
	if err == nil {
		out = bytes.Clone(c.w.b)
		if out == nil {
			out = []byte{}
		}
	}
	c.scratch, c.w.b = c.w.b, nil
	if cap(c.scratch) > maxPooledBuf {
		c.scratch = nil // one large value must not stay pinned in the pool
	}
	codecs.Put(c)
	return out, err
}

// maxPooledBuf is the largest buffer the codecs and the workers' result
// buffers keep for reuse.
const maxPooledBuf = 64 << 10

// unmarshalValue decodes b into v (a pointer), as msgpack.Unmarshal does.
func unmarshalValue(b []byte, v any) error {
	c := codecs.Get().(*codec)
	c.r.Reset(b)
	c.dec.Reset(&c.r)
	c.dec.UsePreallocateValues(true)
	err := c.dec.Decode(v)
	c.r.Reset(nil)
	c.dec.Reset(&c.r)
	codecs.Put(c)
	return err
}
