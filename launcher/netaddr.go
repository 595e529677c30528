package launcher

import (
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
)

// LocalAddr picks the IP address this machine should listen on and
// advertise: the first address of interface iface (if given), else the
// first local address inside the subnet cidr (if given), else the source
// address of the route toward (if given), else "".
func LocalAddr(iface, cidr, toward string) (string, error) {
	if iface != "" {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return "", fmt.Errorf("--iface %s: %v", iface, err)
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return "", fmt.Errorf("--iface %s: %v", iface, err)
		}
		var v6 string
		for _, a := range addrs {
			ip := ipOf(a)
			if ip == nil || ip.IsLinkLocalUnicast() {
				continue
			}
			if ip.To4() != nil {
				return ip.String(), nil
			}
			if v6 == "" {
				v6 = ip.String()
			}
		}
		if v6 != "" {
			return v6, nil
		}
		return "", fmt.Errorf("--iface %s: the interface has no usable IP address", iface)
	}
	if cidr != "" {
		_, want, err := net.ParseCIDR(cidr)
		if err != nil {
			return "", fmt.Errorf("--net %s: %v", cidr, err)
		}
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return "", fmt.Errorf("--net %s: %v", cidr, err)
		}
		for _, a := range addrs {
			if ip := ipOf(a); ip != nil && want.Contains(ip) {
				return ip.String(), nil
			}
		}
		return "", fmt.Errorf("--net %s: no local address in that subnet", cidr)
	}
	if toward != "" {
		return routeSource(toward)
	}
	return "", nil
}

func ipOf(a net.Addr) net.IP {
	switch v := a.(type) {
	case *net.IPNet:
		return v.IP
	case *net.IPAddr:
		return v.IP
	}
	return nil
}

// routeSource returns the local address the kernel would use to reach ip
// (no packet is sent: connecting a UDP socket only picks a route).
func routeSource(ip string) (string, error) {
	c, err := net.Dial("udp", net.JoinHostPort(ip, "9"))
	if err != nil {
		return "", fmt.Errorf("no route to %s: %v", ip, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String(), nil
}

// headIPFromEnv returns the head's address as seen from this agent: the
// client end of the ssh connection, or the node srun was run from.
func headIPFromEnv() string {
	if f := strings.Fields(os.Getenv("SSH_CONNECTION")); len(f) >= 1 {
		return f[0]
	}
	return os.Getenv("SLURM_LAUNCH_NODE_IPADDR")
}

// IsLocalHost reports whether a host name of a job designates the machine
// gorun runs on: localhost, a loopback address or this machine's host
// name. It is safe for concurrent use.
func IsLocalHost(name string) bool { return isLocalHost(name) }

// isLocalHost reports whether name designates the machine gorun runs on.
func isLocalHost(name string) bool {
	if name == "localhost" || name == "127.0.0.1" || name == "::1" {
		return true
	}
	h, _ := os.Hostname()
	return h != "" && name == h
}

// listenAll listens on one port of every address of ips (the first gets
// an ephemeral port, the others the same one) and merges them into one
// listener.
func listenAll(ips []string) (net.Listener, error) {
	var lns []net.Listener
	port := "0"
	for _, ip := range ips {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, port))
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, err
		}
		_, port, _ = net.SplitHostPort(ln.Addr().String())
		lns = append(lns, ln)
	}
	if len(lns) == 1 {
		return lns[0], nil
	}
	m := &multiListener{lns: lns, conns: make(chan net.Conn), done: make(chan struct{})}
	for _, ln := range lns {
		go m.serve(ln)
	}
	return m, nil
}

// multiListener accepts on several listeners; Addr is the first one's.
type multiListener struct {
	lns   []net.Listener
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (m *multiListener) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			m.Close()
			return
		}
		select {
		case m.conns <- c:
		case <-m.done:
			c.Close()
			return
		}
	}
}

func (m *multiListener) Accept() (net.Conn, error) {
	select {
	case c := <-m.conns:
		return c, nil
	case <-m.done:
		return nil, net.ErrClosed
	}
}

func (m *multiListener) Close() error {
	m.once.Do(func() {
		close(m.done)
		for _, ln := range m.lns {
			ln.Close()
		}
	})
	return nil
}

func (m *multiListener) Addr() net.Addr { return m.lns[0].Addr() }
