package wire

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Handshake message sizes.
const (
	ServerHelloSize = 40
	ClientHelloSize = 80
	ServerProofSize = 36
	NonceSize       = 32
)

// Well-known identities that are not ranks.
const (
	IDStore    uint32 = 0xFFFFFFFE // the rendezvous store
	IDLauncher uint32 = 0xFFFFFFFD // gorun itself, an agent, or a tool
)

var magic = [4]byte{'G', 'R', 'U', 'N'}

// ErrAuth is wrapped by every handshake failure: a wrong secret, a bad
// version, a malformed hello or an unexpected identity.
var ErrAuth = errors.New("handshake refused")

func mac(key []byte, label string, nonceS, nonceC []byte, from, to uint32) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	m.Write(nonceS)
	m.Write(nonceC)
	var ids [8]byte
	binary.LittleEndian.PutUint32(ids[0:], from)
	binary.LittleEndian.PutUint32(ids[4:], to)
	m.Write(ids[:])
	return m.Sum(nil)
}

const (
	clientLabel = "gorun client v1"
	serverLabel = "gorun server v1"
)

// ClientHello is the dialer's authenticated introduction.
type ClientHello struct {
	From, To uint32
	Nonce    [NonceSize]byte
	MAC      [32]byte
}

// ParseServerHello checks the listener's hello and returns its nonce.
func ParseServerHello(b []byte) ([NonceSize]byte, error) {
	var n [NonceSize]byte
	if len(b) != ServerHelloSize {
		return n, fmt.Errorf("%w: server hello of %d bytes", ErrAuth, len(b))
	}
	if [4]byte(b[0:4]) != magic {
		return n, fmt.Errorf("%w: not a gorun endpoint (magic %q)", ErrAuth, b[0:4])
	}
	if b[4] != Version {
		return n, fmt.Errorf("%w: peer speaks protocol version %d, we speak %d", ErrAuth, b[4], Version)
	}
	if b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return n, fmt.Errorf("%w: reserved bytes set in server hello", ErrAuth)
	}
	copy(n[:], b[8:])
	return n, nil
}

// ParseClientHello decodes a dialer's hello without verifying its MAC.
func ParseClientHello(b []byte) (ClientHello, error) {
	var c ClientHello
	if len(b) != ClientHelloSize {
		return c, fmt.Errorf("%w: client hello of %d bytes", ErrAuth, len(b))
	}
	if [4]byte(b[0:4]) != magic {
		return c, fmt.Errorf("%w: not a gorun client (magic %q)", ErrAuth, b[0:4])
	}
	if b[4] != Version {
		return c, fmt.Errorf("%w: client speaks protocol version %d, we speak %d", ErrAuth, b[4], Version)
	}
	if b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return c, fmt.Errorf("%w: reserved bytes set in client hello", ErrAuth)
	}
	c.From = binary.LittleEndian.Uint32(b[8:])
	c.To = binary.LittleEndian.Uint32(b[12:])
	copy(c.Nonce[:], b[16:48])
	copy(c.MAC[:], b[48:80])
	return c, nil
}

// Encode renders c as ClientHelloSize bytes.
func (c *ClientHello) Encode() []byte {
	b := make([]byte, ClientHelloSize)
	copy(b, magic[:])
	b[4] = Version
	binary.LittleEndian.PutUint32(b[8:], c.From)
	binary.LittleEndian.PutUint32(b[12:], c.To)
	copy(b[16:], c.Nonce[:])
	copy(b[48:], c.MAC[:])
	return b
}

// ClientHandshake runs the dialer's side over rw: it proves knowledge of key,
// introduces itself as from, and checks that the listener knows key too and is
// who the dialer meant (to). The caller sets deadlines on the connection.
func ClientHandshake(rw io.ReadWriter, key []byte, from, to uint32) error {
	var sh [ServerHelloSize]byte
	if _, err := io.ReadFull(rw, sh[:]); err != nil {
		return fmt.Errorf("%w: reading server hello: %v", ErrAuth, err)
	}
	nonceS, err := ParseServerHello(sh[:])
	if err != nil {
		return err
	}
	c := ClientHello{From: from, To: to}
	if _, err := rand.Read(c.Nonce[:]); err != nil {
		return err
	}
	copy(c.MAC[:], mac(key, clientLabel, nonceS[:], c.Nonce[:], from, to))
	if _, err := rw.Write(c.Encode()); err != nil {
		return fmt.Errorf("%w: sending hello: %v", ErrAuth, err)
	}
	var proof [ServerProofSize]byte
	if _, err := io.ReadFull(rw, proof[:]); err != nil {
		return fmt.Errorf("%w: the peer closed the connection (wrong secret or identity?): %v", ErrAuth, err)
	}
	if proof[0] != 0 || proof[1] != 0 || proof[2] != 0 || proof[3] != 0 {
		return fmt.Errorf("%w: peer refused with status %d", ErrAuth, proof[0])
	}
	want := mac(key, serverLabel, nonceS[:], c.Nonce[:], from, to)
	if !hmac.Equal(proof[4:], want) {
		return fmt.Errorf("%w: the peer does not know the job secret", ErrAuth)
	}
	return nil
}

// ServerHandshake runs the listener's side over rw as identity self. It
// returns the dialer's authenticated identity. On any failure it writes
// nothing more and the caller must close the connection; the error says why,
// for the log line.
func ServerHandshake(rw io.ReadWriter, key []byte, self uint32) (uint32, error) {
	var sh [ServerHelloSize]byte
	copy(sh[:], magic[:])
	sh[4] = Version
	if _, err := rand.Read(sh[8:]); err != nil {
		return 0, err
	}
	if _, err := rw.Write(sh[:]); err != nil {
		return 0, fmt.Errorf("%w: sending hello: %v", ErrAuth, err)
	}
	var ch [ClientHelloSize]byte
	if _, err := io.ReadFull(rw, ch[:]); err != nil {
		return 0, fmt.Errorf("%w: reading client hello: %v", ErrAuth, err)
	}
	c, err := ParseClientHello(ch[:])
	if err != nil {
		return 0, err
	}
	want := mac(key, clientLabel, sh[8:], c.Nonce[:], c.From, c.To)
	if !hmac.Equal(c.MAC[:], want) {
		return 0, fmt.Errorf("%w: wrong job secret", ErrAuth)
	}
	if c.To != self {
		return 0, fmt.Errorf("%w: client %d meant to reach %d, this is %d", ErrAuth, c.From, c.To, self)
	}
	var proof [ServerProofSize]byte
	copy(proof[4:], mac(key, serverLabel, sh[8:], c.Nonce[:], c.From, c.To))
	if _, err := rw.Write(proof[:]); err != nil {
		return 0, fmt.Errorf("%w: sending proof: %v", ErrAuth, err)
	}
	return c.From, nil
}
