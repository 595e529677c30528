package shm

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// A Region is a block of memory that several processes of one host map
// at once, with no ring in it: the backing of comm's node-shared windows
// (MPI_Win_allocate_shared). One process makes it (CreateRegion), passes
// its Handle (AppendRegionHandle) to the others over connections that
// have passed the job's authentication, and each of them maps it
// (OpenRegion); once all
// have, the creator closes its descriptor (Region.Release), and the
// memory lives only in the mappings, going away with the last of them.
// The file is a memfd (or an O_TMPFILE file in dir) exactly as for a
// channel's segment: mode 0600, never a name in any directory, reserved
// in full by fallocate (a full tmpfs or a memory limit is ErrNoSpace at
// CreateRegion, never a SIGBUS later), sealed against shrinking.
//
// Layout: a 4096-byte header (magic "ORUN WIN", version, data size,
// token; the fence counter on a line of its own; the futex word of Sleep
// and Wake and the count of sleepers on another), then the data.
//
// A Region's methods are safe for concurrent use; the memory Data returns
// is not valid after Close.
type Region struct {
	mem    []byte
	handle Handle

	mu     sync.Mutex
	fd     int // the creator's, until Release
	closed bool
}

const (
	regMagic   = 0x4e4957204e55524f // "ORUN WIN" read as a little-endian u64
	regVersion = 1

	rMagic   = 0  // u64
	rVersion = 8  // u32
	rSize    = 16 // u64: the data's size
	rToken   = 24 // [16]byte
	rCounter = 1 * line
	rWakeSeq = 2 * line     // u32: the futex word of Sleep and Wake
	rSleeper = rWakeSeq + 4 // u32: how many wait in Sleep

	regHeaderSize = 4096

	// MaxRegion is the largest data size CreateRegion accepts.
	MaxRegion = 1 << 44

	regionHandleMagic = "GWIN"
)

// CreateRegion makes a region of size data bytes (0 is allowed), its
// memory reserved in full and zeroed, in a memfd or, when dir is not
// empty, in an unnamed file in that tmpfs. Errors: ErrInvalidArgument
// (size out of [0, MaxRegion]), ErrNoSpace (more than the machine's
// memory, or the reservation failed), ErrUnsupported, or the failing
// system call's.
func CreateRegion(size int64, dir string) (*Region, error) {
	if size < 0 || size > MaxRegion {
		return nil, fmt.Errorf("%w: region of %d bytes: want 0 to %d", ErrInvalidArgument, size, int64(MaxRegion))
	}
	total := size + regHeaderSize
	// A memfd has no size limit of its own: fallocate would take pages
	// until the memory ran out. Refuse what the machine cannot hold.
	if mem := totalMemory(); mem > 0 && uint64(total) > mem {
		return nil, fmt.Errorf("%w: a region of %d bytes is more than this machine's %d bytes of memory", ErrNoSpace, size, mem)
	}
	r := &Region{fd: -1}
	if _, err := rand.Read(r.handle.Token[:]); err != nil {
		return nil, err
	}
	mem, fd, sealed, err := createFile(dir, "gorun-win-", r.handle.Token, total)
	if err != nil {
		return nil, err
	}
	r.mem, r.fd = mem, fd
	r.handle = Handle{Sealed: sealed, Pid: int32(os.Getpid()), FD: int32(fd), Size: total, Token: r.handle.Token}
	le := binary.LittleEndian
	le.PutUint32(mem[rVersion:], regVersion)
	le.PutUint64(mem[rSize:], uint64(size))
	copy(mem[rToken:], r.handle.Token[:])
	atomic.StoreUint64(u64at(mem, rMagic), regMagic)
	return r, nil
}

// Handle returns what the other processes pass to OpenRegion. Send it
// only over a connection that has authenticated the peer.
func (r *Region) Handle() Handle { return r.handle }

// OpenRegion maps the region h names. It checks the file (regular, this
// user's, mode 0600, of h.Size bytes, sealed if h.Sealed) and the header
// (magic, version, size, token) before anything else. Errors:
// ErrInvalidArgument (a bad handle), ErrBadSegment, ErrUnsupported, or
// the failing system call's (the creator is gone, /proc refused).
func OpenRegion(h Handle) (*Region, error) {
	if err := checkRegionHandle(h); err != nil {
		return nil, err
	}
	mem, err := mapPeerFile(h)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	bad := func(format string, args ...any) (*Region, error) {
		unmapFile(mem)
		return nil, fmt.Errorf("%w: %s", ErrBadSegment, fmt.Sprintf(format, args...))
	}
	if m := atomic.LoadUint64(u64at(mem, rMagic)); m != regMagic || le.Uint32(mem[rVersion:]) != regVersion {
		return bad("magic %#x, version %d", m, le.Uint32(mem[rVersion:]))
	}
	if subtle.ConstantTimeCompare(mem[rToken:rToken+TokenSize], h.Token[:]) != 1 {
		return bad("token differs")
	}
	if n := le.Uint64(mem[rSize:]); n != uint64(h.Size-regHeaderSize) {
		return bad("%d data bytes in a file of %d", n, h.Size)
	}
	return &Region{mem: mem, handle: h, fd: -1}, nil
}

func checkRegionHandle(h Handle) error {
	if h.Pid <= 0 || h.FD < 0 || h.Size < regHeaderSize || h.Size > MaxRegion+regHeaderSize {
		return fmt.Errorf("%w: region handle: pid %d, fd %d, size %d", ErrInvalidArgument, h.Pid, h.FD, h.Size)
	}
	return nil
}

// Data returns the region's data bytes. They are valid until Close.
func (r *Region) Data() []byte { return r.mem[regHeaderSize:] }

// Counter returns the region's fence counter, a word on a cache line of
// its own in the header, for atomic operations of every process.
func (r *Region) Counter() *uint64 { return u64at(r.mem, rCounter) }

// Sleep sleeps until a process calls Wake on the region, d passes or a
// signal interrupts the sleep, unless cond reports true (it is called once,
// after this process is counted among the sleepers, so that a Wake that
// follows the store cond looks at cannot be missed). It may return early;
// the caller looks at its condition again. Values a hostile process writes
// into the header cost at most spurious wake-ups or a sleep of d.
func (r *Region) Sleep(cond func() bool, d time.Duration) {
	seq, n := u32at(r.mem, rWakeSeq), u32at(r.mem, rSleeper)
	atomic.AddUint32(n, 1)
	v := atomic.LoadUint32(seq)
	if !cond() {
		futexWait(seq, v, d)
	}
	atomic.AddUint32(n, ^uint32(0))
}

// Wake wakes every process sleeping in Sleep on the region. Call it after
// the stores that their conditions look at. When nobody sleeps it costs
// one load.
func (r *Region) Wake() {
	if atomic.LoadUint32(u32at(r.mem, rSleeper)) != 0 {
		r.Kick()
	}
}

// Kick wakes every process sleeping in Sleep on the region whatever the
// count of sleepers says (a waiter of this process whose context ended, a
// peer lost): each looks at its condition again.
func (r *Region) Kick() {
	seq := u32at(r.mem, rWakeSeq)
	atomic.AddUint32(seq, 1)
	futexWake(seq)
}

// Release closes the creator's descriptor, once every process has mapped
// the region: from then on no other process can open it. It does nothing
// on an opener's Region, and is idempotent.
func (r *Region) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	closeFD(r.fd)
	r.fd = -1
}

// Close unmaps the region (and releases the creator's descriptor). It is
// idempotent; the memory goes away once every process has closed it or
// exited.
func (r *Region) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	closeFD(r.fd)
	r.fd = -1
	unmapFile(r.mem)
	return nil
}

// RegionHandleSize is the length of an encoded region handle.
const RegionHandleSize = HandleSize

// AppendRegionHandle appends h's 40-byte encoding as a region's handle:
// magic "GWIN", version 1, flags (bit 0: Sealed), 2 zero bytes, pid u32,
// fd u32, size u64, token (little-endian).
func AppendRegionHandle(b []byte, h Handle) []byte {
	return appendHandle(b, regionHandleMagic, h)
}

// ParseRegionHandle decodes what AppendRegionHandle made. A wrong length,
// magic or version, a non-zero reserved bit or byte, or a pid, fd or size
// out of range is an error wrapping ErrInvalidArgument.
func ParseRegionHandle(b []byte) (Handle, error) {
	h, err := parseHandle(b, regionHandleMagic, "region")
	if err != nil {
		return Handle{}, err
	}
	if err := checkRegionHandle(h); err != nil {
		return Handle{}, err
	}
	return h, nil
}
