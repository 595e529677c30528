package rendezvous

import (
	"context"
	"encoding/binary"
	"errors"
	"strconv"
	"sync"
)

// Limits on keys and values, enforced by the server and the client.
const (
	MaxKey   = 1024
	MaxValue = 1 << 20
)

// ErrClosed is returned by operations on a closed store.
var ErrClosed = errors.New("rendezvous: store closed")

// Store is a key/value store whose Get waits for the key to appear.
//
// Implementations in this package are safe for concurrent use, except that a
// Client serialises its callers (one request on the wire at a time).
type Store interface {
	// Set stores value under key, replacing any earlier value, and wakes
	// every Get waiting for key.
	Set(ctx context.Context, key string, value []byte) error
	// Get returns the value of key, waiting until it is set or ctx is done.
	Get(ctx context.Context, key string) ([]byte, error)
	// Add adds delta to the integer counter under key (created at 0) and
	// returns the new value.
	Add(ctx context.Context, key string, delta int64) (int64, error)
	// Close releases the store; pending Gets return ErrClosed.
	Close() error
}

// Mem is an in-memory Store. The zero value is not usable: call NewMem.
type Mem struct {
	mu      sync.Mutex
	m       map[string][]byte
	changed chan struct{} // closed and replaced on every Set
	closed  bool
}

// NewMem returns an empty in-memory store.
func NewMem() *Mem {
	return &Mem{m: map[string][]byte{}, changed: make(chan struct{})}
}

func (s *Mem) Set(ctx context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.m[key] = append([]byte(nil), value...)
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

func (s *Mem) Get(ctx context.Context, key string) ([]byte, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		if v, ok := s.m[key]; ok {
			s.mu.Unlock()
			return append([]byte(nil), v...), nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Lookup returns the value of key without waiting.
func (s *Mem) Lookup(key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return append([]byte(nil), v...), ok
}

func (s *Mem) Add(ctx context.Context, key string, delta int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	var n int64
	if v, ok := s.m[key]; ok {
		n, _ = strconv.ParseInt(string(v), 10, 64)
	}
	n += delta
	s.m[key] = []byte(strconv.FormatInt(n, 10))
	close(s.changed)
	s.changed = make(chan struct{})
	return n, nil
}

func (s *Mem) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.changed)
	}
	return nil
}

// Prefix returns a Store that stores every key of s under prefix.
func Prefix(s Store, prefix string) Store { return prefixStore{s, prefix} }

type prefixStore struct {
	s Store
	p string
}

func (p prefixStore) Set(ctx context.Context, k string, v []byte) error {
	return p.s.Set(ctx, p.p+k, v)
}
func (p prefixStore) Get(ctx context.Context, k string) ([]byte, error) { return p.s.Get(ctx, p.p+k) }
func (p prefixStore) Add(ctx context.Context, k string, d int64) (int64, error) {
	return p.s.Add(ctx, p.p+k, d)
}
func (p prefixStore) Close() error { return p.s.Close() }

// Wire format of a request after the handshake: op (1 byte), key length
// (uint16 LE), value length (uint32 LE), key, value. A response: status
// (1 byte, 0 = ok), value length (uint32 LE), value (the error text when the
// status is not 0).
const (
	opSet = 1
	opGet = 2
	opAdd = 3
)

func encodeRequest(op byte, key string, val []byte) []byte {
	b := make([]byte, 7+len(key)+len(val))
	b[0] = op
	binary.LittleEndian.PutUint16(b[1:], uint16(len(key)))
	binary.LittleEndian.PutUint32(b[3:], uint32(len(val)))
	copy(b[7:], key)
	copy(b[7+len(key):], val)
	return b
}
