package shm

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Segment header, at offset 0 of the segment (4096 bytes). All integers
// are little-endian (the segment never leaves the host).
const (
	segMagic   = 0x4d4853204e55524f // "ORUN SHM" read as a little-endian u64
	segVersion = 1

	hMagic       = 0  // u64
	hVersion     = 8  // u32
	hRingSize    = 16 // u64: data bytes per ring
	hChunk       = 24 // u64: payload bytes per record at most
	hSize        = 32 // u64: the segment's size
	hToken       = 48 // [16]byte
	hCreatorPid  = 64 // u32
	hOpenerPid   = 68 // u32, written by the opener before it sets hAttached
	hCreatorAddr = 72 // u64: the creator's probe buffer (TokenSize bytes)
	hOpenerAddr  = 80 // u64: the opener's probe buffer

	hAttached      = 1 * line // u32 futex word: 1 once the opener has mapped the segment
	hCreatorClosed = 2 * line // u32: the creator closed its side
	hOpenerClosed  = 3 * line // u32: the opener closed its side
	hCreatorReads  = 4 * line // u32: 1 when the creator reads the opener's memory (process_vm_readv)
	hOpenerReads   = 5 * line // u32: 1 when the opener reads the creator's memory

	segHeaderSize = 4096

	// TokenSize is the length of a segment's random token.
	TokenSize = 16

	minRingSize = 16 << 10
	maxRingSize = 1 << 30
	minChunk    = 256
)

// Default option values.
const (
	DefaultRingSize   = 1 << 20
	DefaultChunk      = 64 << 10
	DefaultSpin       = 50 * time.Microsecond
	DefaultCheckEvery = 10 * time.Millisecond
	DefaultCMAMin     = 4 << 20
	DefaultMaxMessage = 1 << 40
)

// Options configure one side of a channel. The zero value works: every
// zero field takes its default. RingSize, Chunk and Dir are the creator's
// (the opener reads the geometry from the segment); the rest apply to the
// side that passes them.
type Options struct {
	// RingSize is the data area of each direction's ring, a power of two
	// from 16 KiB to 1 GiB (default 1 MiB).
	RingSize int
	// Chunk is the most payload one record carries, a power of two from
	// 256 bytes to RingSize/4 (default 64 KiB, capped at RingSize/4).
	// Longer payloads are pipelined through the ring in chunks.
	Chunk int
	// Dir, when set, backs the segment with an unnamed file (O_TMPFILE)
	// in that directory, a tmpfs such as /dev/shm, instead of a memfd;
	// its size limit then applies at Create.
	Dir string
	// Spin is how long a wait polls before it sleeps on the futex
	// (default 50 µs; negative: sleep at once).
	Spin time.Duration
	// Yield makes a polling wait call sched_yield(2) between polls, for
	// hosts with more ranks than CPUs.
	Yield bool
	// CheckEvery bounds one futex sleep; after each, the wait checks
	// that the peer process is alive (default 10 ms).
	CheckEvery time.Duration
	// NoCMA forces large payloads through the ring even where
	// process_vm_readv works (tests run both paths).
	NoCMA bool
	// CMAMin is the payload size from which Send lets the receiver copy
	// straight from the sender's memory, when the peer can (default
	// 4 MiB). On a 2-CPU host with both sides running, the pipelined
	// ring beats process_vm_readv at every size (BenchmarkPingPong: 2
	// MiB 76 against 238-258 µs, 256 MiB 21 against 39-44 ms), since
	// its two copies run at once on two CPUs and the ring stays in
	// cache; with more processes than CPUs the single copy wins from
	// 4 MiB. comm sets NoCMA unless its host is oversubscribed.
	CMAMin int
	// MaxMessage is the longest payload a receive accepts (default
	// 1 TiB); a longer announcement is a corrupt ring.
	MaxMessage int64
}

func (o Options) withDefaults() Options {
	if o.RingSize == 0 {
		o.RingSize = DefaultRingSize
	}
	if o.Chunk == 0 {
		o.Chunk = min(DefaultChunk, o.RingSize/4)
	}
	if o.Spin == 0 {
		o.Spin = DefaultSpin
	}
	if o.CheckEvery <= 0 {
		o.CheckEvery = DefaultCheckEvery
	}
	if o.CMAMin <= 0 {
		o.CMAMin = DefaultCMAMin
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = DefaultMaxMessage
	}
	return o
}

func pow2(n uint64) bool { return n != 0 && n&(n-1) == 0 }

func checkGeometry(ring, chunk uint64) error {
	if !pow2(ring) || ring < minRingSize || ring > maxRingSize {
		return fmt.Errorf("%w: ring size %d: want a power of two in [%d, %d]", ErrInvalidArgument, ring, minRingSize, maxRingSize)
	}
	if !pow2(chunk) || chunk < minChunk || chunk > ring/4 {
		return fmt.Errorf("%w: chunk %d: want a power of two in [%d, %d]", ErrInvalidArgument, chunk, minChunk, ring/4)
	}
	return nil
}

func segSize(ring uint64) uint64 { return segHeaderSize + 2*(ctlSize+ring) }

// Handle is what the opener needs to reach a segment: the creator's pid
// and descriptor (opened through /proc), the size, and the segment's
// random token, which Open checks in the segment itself. Send it only over
// a channel that has authenticated the peer (the job's TCP handshake).
type Handle struct {
	// Sealed says the file is a memfd sealed against shrinking and
	// growing: Open then insists on the seals.
	Sealed bool
	Pid    int32
	FD     int32
	Size   int64
	Token  [TokenSize]byte
}

// HandleSize is the length of an encoded Handle.
const HandleSize = 40

const handleMagic = "GSHM"

// handleVersion is the version byte of a segment's and of a region's
// encoded handle.
const handleVersion = 1

// AppendBinary appends the Handle's 40-byte encoding: magic "GSHM",
// version 1, flags (bit 0: Sealed), 2 zero bytes, pid u32, fd u32, size u64, token (little-endian).
func (h Handle) AppendBinary(b []byte) ([]byte, error) {
	return appendHandle(b, handleMagic, h), nil
}

// ParseHandle decodes a Handle made by AppendBinary. A wrong length,
// magic, version, non-zero reserved byte, or an out-of-range pid, fd or
// size is an error wrapping ErrInvalidArgument.
func ParseHandle(b []byte) (Handle, error) {
	h, err := parseHandle(b, handleMagic, "shm")
	if err != nil {
		return Handle{}, err
	}
	if err := checkHandle(h); err != nil {
		return Handle{}, err
	}
	return h, nil
}

func checkHandle(h Handle) error {
	if h.Pid <= 0 || h.FD < 0 || h.Size < int64(segSize(minRingSize)) || h.Size > int64(segSize(maxRingSize)) {
		return fmt.Errorf("%w: shm handle: pid %d, fd %d, size %d", ErrInvalidArgument, h.Pid, h.FD, h.Size)
	}
	return nil
}

// appendHandle appends h's 40-byte encoding under magic (4 bytes): the
// format of a segment's and of a region's handle (version 1 of both).
func appendHandle(b []byte, magic string, h Handle) []byte {
	b = append(b, magic...)
	var flags byte
	if h.Sealed {
		flags = 1
	}
	b = append(b, handleVersion, flags, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(h.Pid))
	b = binary.LittleEndian.AppendUint32(b, uint32(h.FD))
	b = binary.LittleEndian.AppendUint64(b, uint64(h.Size))
	return append(b, h.Token[:]...)
}

// parseHandle decodes what appendHandle made under magic, checking the
// length, magic, version and reserved bits (what names the handle in
// errors, which wrap ErrInvalidArgument); the caller checks the ranges.
func parseHandle(b []byte, magic, what string) (Handle, error) {
	var h Handle
	if len(b) != HandleSize {
		return h, fmt.Errorf("%w: %s handle of %d bytes, want %d", ErrInvalidArgument, what, len(b), HandleSize)
	}
	if string(b[:4]) != magic || b[4] != handleVersion || b[5]&^1|b[6]|b[7] != 0 {
		return h, fmt.Errorf("%w: %s handle: bad magic or version %x", ErrInvalidArgument, what, b[:8])
	}
	h.Sealed = b[5]&1 != 0
	h.Pid = int32(binary.LittleEndian.Uint32(b[8:]))
	h.FD = int32(binary.LittleEndian.Uint32(b[12:]))
	h.Size = int64(binary.LittleEndian.Uint64(b[16:]))
	copy(h.Token[:], b[24:])
	return h, nil
}

// Segment is the creator's side of a channel before the peer has mapped
// it. Its methods may be called from one goroutine at a time, except
// Close, which may be called from any goroutine at any time.
type Segment struct {
	mem    []byte
	fd     int
	handle Handle
	opts   Options
	probe  *[TokenSize]byte

	closing atomic.Bool // Close was called
	mu      sync.Mutex  // held by Accept; guards done
	done    bool        // accepted, or unmapped by Close
}

// Create makes a segment for one pair of ranks: its memory reserved in
// full (a memfd, or an unnamed file in opts.Dir; mode 0600), mapped, its
// rings empty. Pass Handle() to the peer over the authenticated
// connection, and call Accept. Errors: ErrInvalidArgument (geometry),
// ErrNoSpace (the memory cannot be reserved: fall back to TCP),
// ErrUnsupported, or the failing system call's.
func Create(opts Options) (*Segment, error) {
	opts = opts.withDefaults()
	ring, chunk := uint64(opts.RingSize), uint64(opts.Chunk)
	if opts.RingSize < 0 || opts.Chunk < 0 {
		return nil, fmt.Errorf("%w: ring size %d, chunk %d", ErrInvalidArgument, opts.RingSize, opts.Chunk)
	}
	if err := checkGeometry(ring, chunk); err != nil {
		return nil, err
	}
	s := &Segment{opts: opts, probe: new([TokenSize]byte)}
	if _, err := rand.Read(s.handle.Token[:]); err != nil {
		return nil, err
	}
	*s.probe = s.handle.Token
	size := int64(segSize(ring))
	mem, fd, sealed, err := createFile(opts.Dir, "gorun-shm-", s.handle.Token, size)
	if err != nil {
		return nil, err
	}
	s.mem, s.fd = mem, fd
	s.handle.Pid, s.handle.FD, s.handle.Size, s.handle.Sealed = int32(os.Getpid()), int32(fd), size, sealed
	le := binary.LittleEndian
	le.PutUint32(mem[hVersion:], segVersion)
	le.PutUint64(mem[hRingSize:], ring)
	le.PutUint64(mem[hChunk:], chunk)
	le.PutUint64(mem[hSize:], uint64(size))
	copy(mem[hToken:], s.handle.Token[:])
	le.PutUint32(mem[hCreatorPid:], uint32(os.Getpid()))
	le.PutUint64(mem[hCreatorAddr:], uint64(uintptr(unsafe.Pointer(s.probe))))
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&mem[hMagic])), segMagic)
	return s, nil
}

// createFile makes the file behind a segment or a region: size bytes,
// reserved in full and mapped, in a memfd named prefix and the token's
// first 4 bytes in hex or, when dir is not empty, in an unnamed file in
// that tmpfs (newBacking, reserveFile). On error nothing is left open.
func createFile(dir, prefix string, token [TokenSize]byte, size int64) (mem []byte, fd int, sealed bool, err error) {
	fd, sealed, err = newBacking(dir, prefix+hex.EncodeToString(token[:4]))
	if err != nil {
		return nil, -1, false, err
	}
	if err := reserveFile(fd, size, sealed); err != nil {
		closeFD(fd)
		return nil, -1, false, err
	}
	mem, err = mapFile(fd, size)
	if err != nil {
		closeFD(fd)
		return nil, -1, false, err
	}
	return mem, fd, sealed, nil
}

// mapPeerFile maps the file h names, after checking it (regular, this
// user's, mode 0600, of h.Size bytes, sealed if h.Sealed), through a
// descriptor of its own that it closes again.
func mapPeerFile(h Handle) ([]byte, error) {
	fd, err := openPeerFile(h.Pid, h.FD)
	if err != nil {
		return nil, err
	}
	defer closeFD(fd)
	if err := checkFile(fd, h.Size, h.Sealed); err != nil {
		return nil, err
	}
	return mapFile(fd, h.Size)
}

// Handle returns what the peer passes to Open.
func (s *Segment) Handle() Handle { return s.handle }

func u32at(mem []byte, off int) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }
func u64at(mem []byte, off int) *uint64 { return (*uint64)(unsafe.Pointer(&mem[off])) }

// Accept waits until the peer has opened and mapped the segment, then
// closes the segment's descriptor (from then on the memory lives only in
// the two mappings, and goes away with the last of them) and returns the
// creator's Channel. It fails when ctx ends first (the error wraps ctx's),
// or with ErrClosed after Close; the segment is closed then.
func (s *Segment) Accept(ctx context.Context, opts Options) (*Channel, error) {
	s.mu.Lock()
	if s.done || s.closing.Load() {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	attached := u32at(s.mem, hAttached)
	for atomic.LoadUint32(attached) == 0 {
		if err := ctx.Err(); err != nil {
			s.mu.Unlock()
			s.Close()
			return nil, fmt.Errorf("shm: waiting for the peer to map the segment: %w", err)
		}
		if s.closing.Load() {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		d := DefaultCheckEvery
		if dl, ok := ctx.Deadline(); ok {
			d = min(d, time.Until(dl)+time.Microsecond)
		}
		futexWait(attached, 0, d)
	}
	s.done = true
	s.mu.Unlock()
	closeFD(s.fd)
	pid := int(atomic.LoadUint32(u32at(s.mem, hOpenerPid)))
	peerAddr := atomic.LoadUint64(u64at(s.mem, hOpenerAddr))
	return newChannel(s.mem, true, pid, peerAddr, s.probe, opts), nil
}

// Close abandons a segment that was not accepted: it unmaps it and
// closes its descriptor. It is idempotent and safe from any goroutine; an
// Accept in progress returns ErrClosed.
func (s *Segment) Close() error {
	if !s.closing.CompareAndSwap(false, true) {
		return nil
	}
	futexWake(u32at(s.mem, hAttached)) // an Accept in progress returns
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		s.done = true
		atomic.StoreUint32(u32at(s.mem, hCreatorClosed), 1)
		closeFD(s.fd)
		unmapFile(s.mem)
	}
	return nil
}

// Open maps the segment h names (made by the peer's Create) and returns
// the opener's Channel. It checks the file (regular, this user's, mode
// 0600, of h.Size bytes, sealed if h.Sealed) and the segment's header (magic,
// version, geometry, token) before anything else is read. Errors:
// ErrInvalidArgument for a bad handle, ErrBadSegment, ErrUnsupported, or
// the failing system call's (the creator is gone, or /proc refused).
func Open(h Handle, opts Options) (*Channel, error) {
	if err := checkHandle(h); err != nil {
		return nil, err
	}
	mem, err := mapPeerFile(h)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	ring, chunk := le.Uint64(mem[hRingSize:]), le.Uint64(mem[hChunk:])
	bad := func(format string, args ...any) (*Channel, error) {
		unmapFile(mem)
		return nil, fmt.Errorf("%w: %s", ErrBadSegment, fmt.Sprintf(format, args...))
	}
	if m := atomic.LoadUint64(u64at(mem, hMagic)); m != segMagic || le.Uint32(mem[hVersion:]) != segVersion {
		return bad("magic %#x, version %d", m, le.Uint32(mem[hVersion:]))
	}
	if subtle.ConstantTimeCompare(mem[hToken:hToken+TokenSize], h.Token[:]) != 1 {
		return bad("token differs")
	}
	if err := checkGeometry(ring, chunk); err != nil || segSize(ring) != uint64(h.Size) || le.Uint64(mem[hSize:]) != uint64(h.Size) {
		return bad("ring %d, chunk %d, size %d for a file of %d bytes", ring, chunk, le.Uint64(mem[hSize:]), h.Size)
	}
	if pid := int32(le.Uint32(mem[hCreatorPid:])); pid != h.Pid {
		return bad("creator pid %d, the handle says %d", pid, h.Pid)
	}
	probe := new([TokenSize]byte)
	*probe = h.Token
	peerAddr := le.Uint64(mem[hCreatorAddr:])
	atomic.StoreUint32(u32at(mem, hOpenerPid), uint32(os.Getpid()))
	atomic.StoreUint64(u64at(mem, hOpenerAddr), uint64(uintptr(unsafe.Pointer(probe))))
	atomic.StoreUint32(u32at(mem, hAttached), 1)
	futexWake(u32at(mem, hAttached))
	return newChannel(mem, false, int(h.Pid), peerAddr, probe, opts), nil
}
