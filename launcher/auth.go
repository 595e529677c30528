package launcher

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"time"
)

// Agents started by srun dial back to gorun over TCP. Both ends prove that
// they know the job's agent key before anything else is said:
//
//	head  → agent: nonceH (32 bytes)
//	agent → head:  nonceA (32 bytes), HMAC-SHA256(key, "gorun-agent"|nonceH|nonceA)
//	head  → agent: HMAC-SHA256(key, "gorun-head"|nonceH|nonceA)
//
// The key itself never crosses the wire.

const authTimeout = 10 * time.Second

var errAuth = errors.New("launcher: agent authentication failed")

func authMAC(key []byte, label string, nh, na []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	m.Write(nh)
	m.Write(na)
	return m.Sum(nil)
}

// authServer authenticates an agent that connected to the head.
func authServer(c net.Conn, key []byte) error {
	c.SetDeadline(time.Now().Add(authTimeout))
	defer c.SetDeadline(time.Time{})
	nh := make([]byte, 32)
	rand.Read(nh)
	if _, err := c.Write(nh); err != nil {
		return err
	}
	buf := make([]byte, 64)
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	na := buf[:32]
	if !hmac.Equal(buf[32:], authMAC(key, "gorun-agent", nh, na)) {
		return errAuth
	}
	_, err := c.Write(authMAC(key, "gorun-head", nh, na))
	return err
}

// authClient authenticates the head an agent connected to.
func authClient(c net.Conn, key []byte) error {
	c.SetDeadline(time.Now().Add(authTimeout))
	defer c.SetDeadline(time.Time{})
	nh := make([]byte, 32)
	if _, err := io.ReadFull(c, nh); err != nil {
		return err
	}
	na := make([]byte, 32)
	rand.Read(na)
	if _, err := c.Write(append(append([]byte{}, na...), authMAC(key, "gorun-agent", nh, na)...)); err != nil {
		return err
	}
	got := make([]byte, 32)
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if !hmac.Equal(got, authMAC(key, "gorun-head", nh, na)) {
		return errAuth
	}
	return nil
}

// DialHead connects an agent to the head at addr and authenticates both
// ends with key.
func DialHead(addr string, key []byte) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, authTimeout)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	if err := authClient(c, key); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
