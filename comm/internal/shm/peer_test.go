package shm

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test binary re-executes itself as the peer process: SHM_PEER names
// the role, SHM_HANDLE the segment (hex of Handle.AppendBinary) when the
// parent created it, SHM_OPTS the options (see encodeOpts).

func TestMain(m *testing.M) {
	if role := os.Getenv("SHM_PEER"); role != "" {
		if err := runPeer(role); err != nil {
			fmt.Fprintln(os.Stderr, "peer:", role+":", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if unsupportedMain != nil {
		os.Exit(unsupportedMain())
	}
	os.Exit(m.Run())
}

// unsupportedMain, set on systems without shared-memory channels, replaces
// the tests: it checks that Create and Open refuse with ErrUnsupported.
var unsupportedMain func() int

const (
	opStop = 0xFF // header[0] of a message that ends the peer's loop
)

func encodeOpts(o Options) string {
	return fmt.Sprintf("%d,%d,%t,%d,%d", o.RingSize, o.Chunk, o.NoCMA, o.Spin, o.CMAMin)
}

func decodeOpts(s string) (o Options) {
	if s == "" {
		return
	}
	f := strings.Split(s, ",")
	o.RingSize, _ = strconv.Atoi(f[0])
	o.Chunk, _ = strconv.Atoi(f[1])
	o.NoCMA = f[2] == "true"
	spin, _ := strconv.ParseInt(f[3], 10, 64)
	o.Spin = time.Duration(spin)
	o.CMAMin, _ = strconv.Atoi(f[4])
	return
}

func peerChannel() (*Channel, error) {
	opts := decodeOpts(os.Getenv("SHM_OPTS"))
	if hs := os.Getenv("SHM_HANDLE"); hs != "" {
		b, err := hex.DecodeString(hs)
		if err != nil {
			return nil, err
		}
		h, err := ParseHandle(b)
		if err != nil {
			return nil, err
		}
		return Open(h, opts)
	}
	seg, err := Create(opts)
	if err != nil {
		return nil, err
	}
	hb, _ := seg.Handle().AppendBinary(nil)
	fmt.Printf("handle %x\n", hb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return seg.Accept(ctx, opts)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func runPeer(role string) error {
	if cpu := envInt("SHM_CPU", -1); cpu >= 0 {
		pin(cpu)
	}
	ch, err := peerChannel()
	if err != nil {
		return err
	}
	defer ch.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	switch role {
	case "echo":
		buf := make([]byte, 0, 1<<20)
		for {
			m, err := ch.Recv(ctx)
			if err != nil {
				return err
			}
			hdr := m.Header()
			if hdr[0] == opStop {
				return nil
			}
			if int64(cap(buf)) < m.Len() {
				buf = make([]byte, m.Len())
			}
			buf = buf[:m.Len()]
			if _, err := io.ReadFull(m, buf); err != nil {
				return err
			}
			if err := ch.Send(ctx, &hdr, buf); err != nil {
				return err
			}
		}
	case "send-random":
		return sendRandom(ctx, ch, uint64(envInt("SHM_SEED", 1)), envInt("SHM_COUNT", 1000), envInt("SHM_MAXLEN", 4096))
	case "send-huge":
		// One message of SHM_COUNT bytes, then wait to be killed.
		payload := make([]byte, envInt("SHM_COUNT", 1<<28))
		fmt.Println("sending")
		var hdr [HeaderSize]byte
		if err := ch.Send(ctx, &hdr, payload); err != nil {
			return err
		}
		select {}
	case "sink":
		// Receive windows of SHM_COUNT messages; answer each with 4 bytes.
		w := envInt("SHM_COUNT", 64)
		buf := make([]byte, 4<<20)
		var ack [HeaderSize]byte
		for i := 1; ; i++ {
			m, err := ch.Recv(ctx)
			if err != nil {
				return err
			}
			if h := m.Header(); h[0] == opStop {
				return nil
			}
			if _, err := io.ReadFull(m, buf[:m.Len()]); err != nil {
				return err
			}
			if i%w == 0 {
				if err := ch.Send(ctx, &ack, buf[:4]); err != nil {
					return err
				}
			}
		}
	case "hold":
		// Say so, then wait for stdin to close (or to be killed).
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
		return nil
	}
	return fmt.Errorf("unknown role %q", role)
}

// record i of a random stream: its header and payload, from seed.
func randomRecord(r *rand.Rand, i uint64, maxLen int, buf []byte) ([HeaderSize]byte, []byte) {
	var hdr [HeaderSize]byte
	binary.LittleEndian.PutUint64(hdr[8:], i)
	var n int
	switch x := r.IntN(100); {
	case x < 90:
		n = r.IntN(257)
	case x < 99:
		n = r.IntN(min(maxLen, 64<<10) + 1)
	default:
		n = r.IntN(maxLen + 1)
	}
	binary.LittleEndian.PutUint64(hdr[16:], uint64(n))
	buf = buf[:n]
	fill := r.Uint64()
	binary.LittleEndian.PutUint64(hdr[24:], fill)
	for j := range buf {
		buf[j] = byte(fill>>(8*(j&7))) ^ byte(j>>3)
	}
	return hdr, buf
}

func sendRandom(ctx context.Context, ch *Channel, seed uint64, count, maxLen int) error {
	r := rand.New(rand.NewPCG(seed, 0))
	buf := make([]byte, maxLen)
	for i := range uint64(count) {
		hdr, p := randomRecord(r, i, maxLen, buf)
		if err := ch.Send(ctx, &hdr, p); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
	}
	var stop [HeaderSize]byte
	stop[0] = opStop
	return ch.Send(ctx, &stop, nil)
}

// checkRandom receives what sendRandom sent and checks every byte.
func checkRandom(ctx context.Context, ch *Channel, seed uint64, count, maxLen int) error {
	r := rand.New(rand.NewPCG(seed, 0))
	want := make([]byte, maxLen)
	got := make([]byte, maxLen)
	for i := range uint64(count) {
		hdr, p := randomRecord(r, i, maxLen, want)
		m, err := ch.Recv(ctx)
		if err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		if m.Header() != hdr || m.Len() != int64(len(p)) {
			return fmt.Errorf("record %d: header %x len %d, want %x len %d", i, m.Header(), m.Len(), hdr, len(p))
		}
		g := got[:len(p)]
		if _, err := io.ReadFull(m, g); err != nil {
			return fmt.Errorf("record %d: read: %w", i, err)
		}
		if string(g) != string(p) {
			return fmt.Errorf("record %d (%d bytes): payload differs", i, len(p))
		}
		if n, err := m.Read(g[:min(1, len(g))]); n != 0 || (len(g) > 0 && err != io.EOF) {
			return fmt.Errorf("record %d: read past the end: %d, %v", i, n, err)
		}
	}
	m, err := ch.Recv(ctx)
	if err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	if h := m.Header(); h[0] != opStop {
		return fmt.Errorf("stop: header %x", h)
	}
	return nil
}

// peer is a peer process and this side's channel to it.
type peer struct {
	t     testing.TB
	cmd   *exec.Cmd
	ch    *Channel
	out   *bufio.Reader
	stdin io.WriteCloser
	done  chan error
}

// startPeer starts the test binary in role. When parentCreates, this
// process creates the segment and the child opens it; otherwise the child
// creates it and prints its handle.
func startPeer(t testing.TB, ctx context.Context, role string, parentCreates bool, mine, theirs Options, env ...string) *peer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SHM_PEER="+role, "SHM_OPTS="+encodeOpts(theirs))
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	var seg *Segment
	if parentCreates {
		var err error
		if seg, err = Create(mine); err != nil {
			t.Fatal(err)
		}
		hb, _ := seg.Handle().AppendBinary(nil)
		cmd.Env = append(cmd.Env, "SHM_HANDLE="+hex.EncodeToString(hb))
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, cmd: cmd, out: bufio.NewReader(stdout), stdin: stdin, done: make(chan error, 1)}
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.wait()
		if p.ch != nil {
			p.ch.Close()
		}
	})
	if parentCreates {
		p.ch, err = seg.Accept(ctx, mine)
	} else {
		line := p.line("handle ")
		var hb []byte
		if hb, err = hex.DecodeString(line); err == nil {
			var h Handle
			if h, err = ParseHandle(hb); err == nil {
				p.ch, err = Open(h, mine)
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// line reads the peer's next line of output, which must start with prefix,
// and returns the rest.
func (p *peer) line(prefix string) string {
	p.t.Helper()
	s, err := p.out.ReadString('\n')
	if err != nil || !strings.HasPrefix(s, prefix) {
		p.t.Fatalf("peer said %q (%v), want %q…", s, err, prefix)
	}
	return strings.TrimSpace(s[len(prefix):])
}

func (p *peer) wait() error {
	select {
	case err := <-p.done:
		p.done <- err
		return err
	default:
	}
	io.Copy(io.Discard, p.out)
	err := p.cmd.Wait()
	p.done <- err
	return err
}

// kill sends SIGKILL to the peer and reaps it.
func (p *peer) kill() {
	p.cmd.Process.Kill()
	p.wait()
}

func testCtx(t *testing.T, d time.Duration) context.Context { return testCtx2(t, d) }

func testCtx2(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func isDeadline(err error) bool { return errors.Is(err, context.DeadlineExceeded) }
