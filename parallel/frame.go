package parallel

import (
	"encoding/binary"
	"math/bits"
)

// The executor's messages, one per comm message, all with tag tagExec on
// the executor's own communicator (a Dup of the caller's):
//
//	task    0x01 uvarint(id) uvarint(len(name)) name args   client → worker
//	result  0x02 uvarint(id) status payload                 worker → client
//	stop    0x03 mode                                        client → worker
//	bye     0x04                                             worker → client
//
// args and a result's payload are msgpack; an error result's payload is
// the error's text. status is one of the result* constants, mode one of
// Drain, Cancel. A worker sends bye after its last result; a client sends
// nothing after stop.

const (
	kindTask   = 0x01
	kindResult = 0x02
	kindStop   = 0x03
	kindBye    = 0x04
)

const (
	resultOK      = 0
	resultErr     = 1
	resultUnknown = 2 // the worker has no function of that name
)

// maxNameLen bounds a task's function name.
const maxNameLen = 1 << 10

type frame struct {
	kind    byte
	id      uint64
	name    string
	status  byte // result
	mode    byte // stop
	payload []byte
}

func (f *frame) encode(dst []byte) []byte {
	dst = append(dst, f.kind)
	switch f.kind {
	case kindTask:
		dst = binary.AppendUvarint(dst, f.id)
		dst = binary.AppendUvarint(dst, uint64(len(f.name)))
		dst = append(dst, f.name...)
		dst = append(dst, f.payload...)
	case kindResult:
		dst = binary.AppendUvarint(dst, f.id)
		dst = append(dst, f.status)
		dst = append(dst, f.payload...)
	case kindStop:
		dst = append(dst, f.mode)
	}
	return dst
}

// decodeFrame parses one message. It refuses (ErrMalformed) anything that
// encode would not produce; payload aliases b.
func decodeFrame(b []byte) (frame, error) { return decodeFrameNames(b, nil) }

// uvarintLen is the length of v's minimal uvarint encoding.
func uvarintLen(v uint64) int { return max(1, (bits.Len64(v)+6)/7) }

// decodeFrameNames is decodeFrame where names, if not nil, gives a task's
// function name as a string (the registry's own, with no allocation), or
// "" for a name it does not know.
func decodeFrameNames(b []byte, names func([]byte) string) (frame, error) {
	var f frame
	if len(b) == 0 {
		return f, errMalformedf("empty executor message")
	}
	f.kind, b = b[0], b[1:]
	uvarint := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 || n != uvarintLen(v) {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	switch f.kind {
	case kindTask:
		id, ok := uvarint()
		if !ok {
			return f, errMalformedf("task id")
		}
		n, ok := uvarint()
		if !ok || n > maxNameLen || n > uint64(len(b)) {
			return f, errMalformedf("task name length")
		}
		if names != nil {
			f.name = names(b[:n])
		}
		if f.name == "" {
			f.name = string(b[:n])
		}
		f.id, f.payload = id, b[n:]
	case kindResult:
		id, ok := uvarint()
		if !ok || len(b) < 1 || b[0] > resultUnknown {
			return f, errMalformedf("result header")
		}
		f.id, f.status, f.payload = id, b[0], b[1:]
	case kindStop:
		if len(b) != 1 || (b[0] != byte(Drain) && b[0] != byte(Cancel)) {
			return f, errMalformedf("stop message")
		}
		f.mode = b[0]
	case kindBye:
		if len(b) != 0 {
			return f, errMalformedf("bye message of %d bytes", len(b)+1)
		}
	default:
		return f, errMalformedf("message kind %#x", f.kind)
	}
	return f, nil
}

// A message of the executor carries one or more frames (a batch: the
// tasks queued for one worker, the results one worker has ready), each
// preceded by its length as a minimal uvarint.

// appendFramed appends f, length first, to dst; scratch is reused for
// the encoding and returned.
func appendFramed(dst, scratch []byte, f *frame) ([]byte, []byte) {
	scratch = f.encode(scratch[:0])
	dst = binary.AppendUvarint(dst, uint64(len(scratch)))
	return append(dst, scratch...), scratch
}

// decodeBatch parses a message into its frames, appended to dst[:0],
// refusing (ErrMalformed) an empty message, a bad length or a bad frame;
// payloads alias b. names is decodeFrameNames'.
func decodeBatch(dst []frame, b []byte, names func([]byte) string) ([]frame, error) {
	if len(b) == 0 {
		return nil, errMalformedf("empty executor message")
	}
	out := dst[:0]
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || k != uvarintLen(n) || n == 0 || n > uint64(len(b)-k) {
			return nil, errMalformedf("frame length in a batch")
		}
		f, err := decodeFrameNames(b[k:k+int(n)], names)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
		b = b[k+int(n):]
	}
	return out, nil
}
