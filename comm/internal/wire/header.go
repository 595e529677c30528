package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Version is the frame and handshake protocol version. It is the first byte
// of every frame header and is checked by the handshake.
const Version = 1

// HeaderSize is the fixed size of a frame header in bytes.
const HeaderSize = 40

// Type is the kind of a frame.
type Type uint8

// Frame types. See comm/PROTOCOL.md for what each field means per type.
const (
	// Eager carries a whole message: Ctx, Tag, Len = payload size; the
	// payload follows the header.
	Eager Type = 1
	// RTS (ready to send) announces a large message: Ctx, Tag, Len = total
	// size, A = sender's request id. No payload.
	RTS Type = 2
	// CTS (clear to send) answers an RTS once a receive matched it:
	// A = sender's request id, B = receiver's request id. No payload.
	CTS Type = 3
	// Data carries one chunk of a large message: B = receiver's request id,
	// Len = chunk size; the payload follows. Chunks arrive in order.
	Data Type = 4
	// Cancel tells the receiver that the send behind a CTS was cancelled:
	// B = receiver's request id. No payload.
	Cancel Type = 5
	// Bye is the last frame a rank sends on a link before closing it.
	Bye Type = 6
	// Credit returns eager buffer space: A = bytes (payloads plus
	// EagerOverhead per message) of the peer's eager messages that this
	// side has delivered since its last Credit. No payload.
	Credit Type = 7
	// Withdraw asks the receiver to drop the RTS of a send that is being
	// cancelled: A = sender's request id. No payload. The receiver
	// answers with Withdrawn if the RTS was still unmatched, and with
	// nothing otherwise (its CTS is then on the way).
	Withdraw Type = 8
	// Withdrawn tells the sender that the RTS named by A (the sender's
	// request id) was dropped unmatched: the send is cancelled. No
	// payload.
	Withdrawn Type = 9
)

// EagerOverhead is what an eager message costs against the sender's eager
// window on top of its payload (the receiver's bookkeeping of a queued
// message), so that empty messages are bounded too.
const EagerOverhead = 64

func (t Type) String() string {
	switch t {
	case Eager:
		return "EAGER"
	case RTS:
		return "RTS"
	case CTS:
		return "CTS"
	case Data:
		return "DATA"
	case Cancel:
		return "CANCEL"
	case Bye:
		return "BYE"
	case Credit:
		return "CREDIT"
	case Withdraw:
		return "WITHDRAW"
	case Withdrawn:
		return "WITHDRAWN"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Header is a decoded frame header. Its zero value is not a valid frame.
type Header struct {
	Type  Type
	Flags uint16 // reserved: always zero in version 1
	Tag   int32
	Ctx   uint64 // communicator context id (bit 0 set: collective traffic)
	Len   uint64
	A     uint64
	B     uint64
}

// Limits bound what a decoder accepts. A frame whose payload exceeds them is
// malformed (the peer would make the receiver allocate without bound).
type Limits struct {
	MaxEager uint64 // largest Eager payload
	MaxChunk uint64 // largest Data payload
}

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed frame")

// Encode writes h into b, which must be at least HeaderSize long.
func (h *Header) Encode(b []byte) {
	_ = b[HeaderSize-1]
	b[0] = Version
	b[1] = byte(h.Type)
	binary.LittleEndian.PutUint16(b[2:], h.Flags)
	binary.LittleEndian.PutUint32(b[4:], uint32(h.Tag))
	binary.LittleEndian.PutUint64(b[8:], h.Ctx)
	binary.LittleEndian.PutUint64(b[16:], h.Len)
	binary.LittleEndian.PutUint64(b[24:], h.A)
	binary.LittleEndian.PutUint64(b[32:], h.B)
}

// Decode parses and validates a header from b (at least HeaderSize bytes)
// against lim. Errors wrap ErrMalformed.
func Decode(b []byte, lim Limits) (Header, error) {
	var h Header
	if len(b) < HeaderSize {
		return h, fmt.Errorf("%w: short header (%d bytes)", ErrMalformed, len(b))
	}
	if b[0] != Version {
		return h, fmt.Errorf("%w: version %d, want %d", ErrMalformed, b[0], Version)
	}
	h.Type = Type(b[1])
	h.Flags = binary.LittleEndian.Uint16(b[2:])
	h.Tag = int32(binary.LittleEndian.Uint32(b[4:]))
	h.Ctx = binary.LittleEndian.Uint64(b[8:])
	h.Len = binary.LittleEndian.Uint64(b[16:])
	h.A = binary.LittleEndian.Uint64(b[24:])
	h.B = binary.LittleEndian.Uint64(b[32:])
	if h.Flags != 0 {
		return h, fmt.Errorf("%w: reserved flags %#x set", ErrMalformed, h.Flags)
	}
	switch h.Type {
	case Eager:
		if h.Len > lim.MaxEager {
			return h, fmt.Errorf("%w: eager payload %d exceeds limit %d", ErrMalformed, h.Len, lim.MaxEager)
		}
		if h.A != 0 || h.B != 0 {
			return h, fmt.Errorf("%w: eager frame with request ids", ErrMalformed)
		}
	case RTS:
		if h.Len > 1<<62 {
			return h, fmt.Errorf("%w: message size %d", ErrMalformed, h.Len)
		}
		if h.B != 0 {
			return h, fmt.Errorf("%w: RTS with receiver id", ErrMalformed)
		}
	case CTS:
		if h.Len != 0 || h.Tag != 0 || h.Ctx != 0 {
			return h, fmt.Errorf("%w: CTS with message fields", ErrMalformed)
		}
	case Data:
		if h.Len == 0 || h.Len > lim.MaxChunk {
			return h, fmt.Errorf("%w: data chunk of %d bytes (limit %d)", ErrMalformed, h.Len, lim.MaxChunk)
		}
		if h.Tag != 0 || h.Ctx != 0 || h.A != 0 {
			return h, fmt.Errorf("%w: data frame with message fields", ErrMalformed)
		}
	case Cancel:
		if h.Len != 0 || h.Tag != 0 || h.Ctx != 0 || h.A != 0 {
			return h, fmt.Errorf("%w: cancel frame with message fields", ErrMalformed)
		}
	case Bye:
		if h.Len != 0 || h.Tag != 0 || h.Ctx != 0 || h.A != 0 || h.B != 0 {
			return h, fmt.Errorf("%w: bye frame with fields", ErrMalformed)
		}
	case Credit:
		if h.Len != 0 || h.Tag != 0 || h.Ctx != 0 || h.B != 0 || h.A == 0 || h.A > 1<<62 {
			return h, fmt.Errorf("%w: credit frame with bad fields", ErrMalformed)
		}
	case Withdraw, Withdrawn:
		if h.Len != 0 || h.Tag != 0 || h.Ctx != 0 || h.B != 0 || h.A == 0 {
			return h, fmt.Errorf("%w: %v frame with bad fields", ErrMalformed, h.Type)
		}
	default:
		return h, fmt.Errorf("%w: unknown type %d", ErrMalformed, b[1])
	}
	return h, nil
}

// PayloadLen is the number of payload bytes that follow the header on the
// wire.
func (h *Header) PayloadLen() uint64 {
	if h.Type == Eager || h.Type == Data {
		return h.Len
	}
	return 0
}
