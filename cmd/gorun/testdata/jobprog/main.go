// Command jobprog is the rank program of gorun's integration tests. -mode
// picks what it does; it prints "rank R: ok" when its part succeeded.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/rendezvous"
)

var (
	mode  = flag.String("mode", "ring", "ring | wildcard | order | big | fail | kill | killmid | abort | block | stranger | stdin | exit0 | early0 | killearly")
	size  = flag.Int("size", 1<<20, "message size in bytes for -mode big")
	count = flag.Int("count", 2000, "messages per sender for -mode order")

	waitBeforeInit = flag.Bool("wait-before-init", false, "the last rank waits for SIGUSR1 before Init, then exits 0")
	usr1Exit       = flag.Bool("usr1-exit", false, "SIGUSR1 makes the rank exit 0 without Close")
)

func main() {
	flag.Parse()
	storeAddr, secret := os.Getenv("GORUN_STORE"), os.Getenv("GORUN_SECRET")
	if *waitBeforeInit {
		// The last rank waits for SIGUSR1 (then exits 0) before Init;
		// the others wait for it there (scripts/fault-timings.sh).
		size, _ := strconv.Atoi(os.Getenv("GORUN_SIZE"))
		if os.Getenv("GORUN_RANK") == strconv.Itoa(size-1) {
			usr1 := make(chan os.Signal, 1)
			signal.Notify(usr1, syscall.SIGUSR1)
			fmt.Printf("rank %d pid %d: blocking before Init\n", size-1, os.Getpid())
			<-usr1
			os.Exit(0)
		}
	}
	if *usr1Exit {
		// SIGUSR1 makes the rank exit 0 without Close.
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		go func() { <-usr1; os.Exit(0) }()
	}
	if *mode == "early0" || *mode == "killearly" {
		// The last rank leaves before Init; the others wait for it there.
		size, _ := strconv.Atoi(os.Getenv("GORUN_SIZE"))
		if os.Getenv("GORUN_RANK") == strconv.Itoa(size-1) {
			if *mode == "killearly" {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
			os.Exit(0)
		}
	}
	c, err := comm.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	r, n := c.Rank(), c.Size()
	switch *mode {
	case "ring":
		err = ring(ctx, c)
	case "wildcard":
		err = wildcard(ctx, c)
	case "order":
		err = order(ctx, c)
	case "big":
		err = big(ctx, c)
	case "killmid":
		// Rank n-1 streams 8 MiB messages to every other rank and kills
		// itself with SIGKILL while they flow; each receiver receives
		// until a receive fails, which it must instead of hanging.
		const big = 8 << 20
		if r == n-1 {
			first := make(chan struct{})
			go func() {
				buf := make([]byte, big)
				for i := 0; ; i++ {
					var reqs []*comm.Request
					for p := 0; p < n-1; p++ {
						reqs = append(reqs, comm.Isend(c, buf, p, 0))
					}
					comm.WaitAll(ctx, reqs...)
					if i == 0 {
						close(first)
					}
				}
			}()
			<-first
			time.Sleep(2 * time.Millisecond) // somewhere in the middle of a round
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		buf := make([]byte, big)
		for {
			if _, err = comm.Recv(ctx, c, buf, n-1, 0); err != nil {
				break
			}
		}
		fmt.Printf("rank %d: streaming receive returned: %v\n", r, err)
		os.Exit(9)
	case "fail", "kill", "abort", "exit0":
		// Rank n-1 fails; the others block in a receive that can never
		// be satisfied and must get an error instead of hanging.
		if r == n-1 {
			switch *mode {
			case "fail":
				os.Exit(3)
			case "kill":
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			case "abort":
				c.Abort(5)
			case "exit0":
				os.Exit(0) // without Close
			}
		}
		_, err = comm.Recv(ctx, c, []byte{0}, n-1, 0)
		fmt.Printf("rank %d: blocked receive returned: %v\n", r, err)
		os.Exit(9)
	case "block":
		fmt.Printf("rank %d pid %d: blocking\n", r, os.Getpid())
		_, err = comm.Recv(ctx, c, []byte{0}, (r+1)%n, 0)
		fmt.Printf("rank %d: blocked receive returned: %v\n", r, err)
		os.Exit(9)
	case "stranger":
		err = stranger(ctx, c, storeAddr, secret)
	case "stdin":
		if r == 0 {
			b, _ := io.ReadAll(os.Stdin)
			fmt.Printf("rank 0 read %q\n", b)
		}
	}
	if err != nil {
		fmt.Printf("rank %d: FAIL: %v\n", r, err)
		os.Exit(1)
	}
	if err := c.Close(); err != nil {
		fmt.Printf("rank %d: close: %v\n", r, err)
		os.Exit(1)
	}
	fmt.Printf("rank %d: ok\n", r)
}

func ring(ctx context.Context, c *comm.Comm) error {
	r, n := c.Rank(), c.Size()
	for _, count := range []int{0, 1, 1000, 100000} {
		send := make([]float64, count)
		for i := range send {
			send[i] = float64(r*count + i)
		}
		recv := make([]float64, count)
		left := (r + n - 1) % n
		if _, err := comm.Sendrecv(ctx, c, send, (r+1)%n, 1, recv, left, 1); err != nil {
			return err
		}
		for i := range recv {
			if recv[i] != float64(left*count+i) {
				return fmt.Errorf("ring count %d: recv[%d]=%v", count, i, recv[i])
			}
		}
	}
	return nil
}

func wildcard(ctx context.Context, c *comm.Comm) error {
	r, n := c.Rank(), c.Size()
	if r != 0 {
		return comm.SendValue(ctx, c, map[string]int{"rank": r}, 0, 100+r)
	}
	seen := map[int]bool{}
	for range n - 1 {
		var m map[string]int
		st, err := comm.RecvValue(ctx, c, &m, comm.AnySource, comm.AnyTag)
		if err != nil {
			return err
		}
		if m["rank"] != st.Source || st.Tag != 100+st.Source || seen[st.Source] {
			return fmt.Errorf("status %+v for %v", st, m)
		}
		seen[st.Source] = true
	}
	return nil
}

// order: every rank but 0 floods rank 0 with numbered messages of mixed
// sizes (eager and rendezvous); rank 0 receives from any source and checks
// each sender's sequence.
func order(ctx context.Context, c *comm.Comm) error {
	r, n := c.Rank(), c.Size()
	if r != 0 {
		reqs := make([]*comm.Request, 0, *count)
		for i := range *count {
			buf := make([]int64, 1+(i%5)*5000)
			buf[0] = int64(i)
			reqs = append(reqs, comm.Isend(c, buf, 0, 7))
		}
		return comm.WaitAll(ctx, reqs...)
	}
	next := make([]int64, n)
	buf := make([]int64, 1+4*5000)
	for range (n - 1) * *count {
		st, err := comm.Recv(ctx, c, buf, comm.AnySource, 7)
		if err != nil {
			return err
		}
		if buf[0] != next[st.Source] {
			return fmt.Errorf("from rank %d: message %d arrived when %d was due", st.Source, buf[0], next[st.Source])
		}
		next[st.Source]++
	}
	return nil
}

func big(ctx context.Context, c *comm.Comm) error {
	r, n := c.Rank(), c.Size()
	if n < 2 {
		return nil
	}
	buf := make([]byte, *size)
	if r == 0 {
		for i := range buf {
			buf[i] = byte(i % 251)
		}
		return comm.Send(ctx, c, buf, 1, 3)
	}
	if r == 1 {
		st, err := comm.Recv(ctx, c, buf, 0, 3)
		if err != nil {
			return err
		}
		if st.Bytes != *size {
			return fmt.Errorf("got %d bytes", st.Bytes)
		}
		for i := 0; i < len(buf); i += 4093 {
			if buf[i] != byte(i%251) {
				return fmt.Errorf("byte %d is %d", i, buf[i])
			}
		}
	}
	return nil
}

// stranger: rank 1 attacks rank 0's listener and the store the way a
// stranger on the network could; then the ranks must still talk.
func stranger(ctx context.Context, c *comm.Comm, storeAddr, secret string) error {
	if c.Rank() == 1 {
		st, err := rendezvous.Dial(ctx, storeAddr, hexKey(secret), 1)
		if err != nil {
			return err
		}
		addr, err := st.Get(ctx, "addr/0")
		st.Close()
		if err != nil {
			return err
		}
		wrong := []byte("definitely not the job's secret!")
		attacks := map[string]func(net.Conn) error{
			"garbage": func(cn net.Conn) error {
				cn.Write([]byte(strings.Repeat("GET / HTTP/1.1\r\n", 20)))
				return nil
			},
			"wrong secret": func(cn net.Conn) error {
				// A well-formed hello (comm/PROTOCOL.md) with a MAC made
				// without the job secret: the listener must close on it.
				hello := make([]byte, 40)
				if _, err := io.ReadFull(cn, hello); err != nil {
					return err
				}
				ch := make([]byte, 80)
				copy(ch, "GRUN\x01")
				ch[8] = 1 // from rank 1, to rank 0
				copy(ch[48:], wrong)
				cn.Write(ch)
				if _, err := io.ReadFull(cn, make([]byte, 36)); err == nil {
					return errors.New("the listener answered a forged hello")
				}
				return errRefused
			},
			"silent": func(cn net.Conn) error { return nil },
		}
		for name, attack := range attacks {
			cn, err := net.Dial("tcp", string(addr))
			if err != nil {
				return err
			}
			cn.SetDeadline(time.Now().Add(15 * time.Second))
			aerr := attack(cn)
			if name == "wrong secret" && aerr != errRefused {
				return fmt.Errorf("wrong secret was not refused: %v", aerr)
			}
			cn.Close()
		}
		if _, err := rendezvous.Dial(ctx, storeAddr, wrong, 1); err == nil {
			return fmt.Errorf("store accepted a wrong secret: %v", err)
		}
	}
	return ring(ctx, c)
}

var errRefused = errors.New("refused")

func hexKey(s string) []byte {
	b := make([]byte, len(s)/2)
	for i := range b {
		fmt.Sscanf(s[2*i:2*i+2], "%02x", &b[i])
	}
	return b
}
