//go:build linux

package shm

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// newBacking makes the segment's file: a memfd, or an unnamed file
// (O_TMPFILE) in dir. Neither has a name in any directory, so nothing is
// left behind however the processes end. sealed reports whether the file
// can be sealed against shrinking (memfds only).
func newBacking(dir, name string) (fd int, sealed bool, err error) {
	if dir == "" {
		fd, err = unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
		if err != nil {
			if errors.Is(err, unix.ENOSYS) {
				return -1, false, fmt.Errorf("%w: memfd_create: %v", ErrUnsupported, err)
			}
			return -1, false, os.NewSyscallError("memfd_create", err)
		}
		sealed = true
	} else {
		fd, err = unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return -1, false, &os.PathError{Op: "open O_TMPFILE", Path: dir, Err: err}
		}
	}
	if err := unix.Fchmod(fd, 0o600); err != nil {
		unix.Close(fd)
		return -1, false, os.NewSyscallError("fchmod", err)
	}
	return fd, sealed, nil
}

// reserveFile sizes the file and allocates its pages now, so that a
// full tmpfs or a memory limit is an error here and never a SIGBUS on a
// later store.
func reserveFile(fd int, size int64, sealed bool) error {
	if err := unix.Ftruncate(fd, size); err != nil {
		return os.NewSyscallError("ftruncate", err)
	}
	if err := unix.Fallocate(fd, 0, 0, size); err != nil {
		switch {
		case errors.Is(err, unix.ENOSPC), errors.Is(err, unix.ENOMEM), errors.Is(err, unix.EFBIG), errors.Is(err, unix.EDQUOT):
			return fmt.Errorf("%w: fallocate %d bytes: %v", ErrNoSpace, size, err)
		case errors.Is(err, unix.EOPNOTSUPP):
			return fmt.Errorf("%w: fallocate: %v", ErrUnsupported, err)
		}
		return os.NewSyscallError("fallocate", err)
	}
	if sealed {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL); err != nil {
			return os.NewSyscallError("fcntl F_ADD_SEALS", err)
		}
	}
	return nil
}

func mapFile(fd int, size int64) ([]byte, error) {
	b, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		if errors.Is(err, unix.ENOMEM) {
			return nil, fmt.Errorf("%w: mmap %d bytes: %v", ErrNoSpace, size, err)
		}
		return nil, os.NewSyscallError("mmap", err)
	}
	return b, nil
}

func unmapFile(b []byte) { unix.Munmap(b) }

func closeFD(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}

// openPeerFile opens the creator's descriptor through /proc. The kernel
// allows it only to a process that may inspect the creator (same user,
// or privileged), and the file's mode (0600) applies on top.
func openPeerFile(pid, fd int32) (int, error) {
	path := "/proc/" + strconv.Itoa(int(pid)) + "/fd/" + strconv.Itoa(int(fd))
	nfd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return nfd, nil
}

// checkFile verifies that fd is a regular file of size bytes, owned by
// this user, private to it, and (when sealed) sealed against shrinking,
// so that no store into its mapping can fault.
func checkFile(fd int, size int64, sealed bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return os.NewSyscallError("fstat", err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return fmt.Errorf("%w: not a regular file (mode %o)", ErrBadSegment, st.Mode)
	case st.Size != size:
		return fmt.Errorf("%w: %d bytes, the handle says %d", ErrBadSegment, st.Size, size)
	case int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%w: owned by uid %d, not %d", ErrBadSegment, st.Uid, os.Geteuid())
	case st.Mode&0o077 != 0:
		return fmt.Errorf("%w: mode %o is open to others", ErrBadSegment, st.Mode&0o777)
	}
	if sealed {
		seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
		if err != nil {
			return os.NewSyscallError("fcntl F_GET_SEALS", err)
		}
		if seals&unix.F_SEAL_SHRINK == 0 {
			return fmt.Errorf("%w: not sealed against shrinking (seals %#x)", ErrBadSegment, seals)
		}
	}
	return nil
}

// peerWatch tells whether a process has exited: through a pidfd (which
// cannot be fooled by the pid's reuse), else with kill(pid, 0).
type peerWatch struct {
	pid   int
	pidfd int
}

func watchPeer(pid int) peerWatch {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		fd = -1
	}
	return peerWatch{pid: pid, pidfd: fd}
}

func (w *peerWatch) exited() bool {
	if w.pidfd >= 0 {
		fds := [1]unix.PollFd{{Fd: int32(w.pidfd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds[:], 0)
		return err == nil && n > 0
	}
	return unix.Kill(w.pid, 0) == unix.ESRCH
}

func (w *peerWatch) close() {
	closeFD(w.pidfd)
	w.pidfd = -1
}

const (
	futexWaitOp = 0 // FUTEX_WAIT: shared, not FUTEX_PRIVATE_FLAG: the word is in a mapping of two processes
	futexWakeOp = 1
)

// futexWait sleeps while *addr == val, for d at most. The sleep gives up
// the goroutine's P for its whole length (see blockingSyscall6).
func futexWait(addr *uint32, val uint32, d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	blockingSyscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWaitOp, uintptr(val), uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// blockingSyscall6 makes a system call that is expected to block, handing
// the goroutine's P to the scheduler first, as the runtime does for its
// own blocking waits. A plain syscall.Syscall6 keeps the P while the
// thread sleeps, and the scheduler takes it back only when its monitor
// next looks, up to 10 ms later when the process has been quiet. With one
// P (gorun's GOMAXPROCS when the ranks fill the host's CPUs), a link
// reader asleep on its futex would keep every other goroutine of the rank
// from running for that long, the readers that would take a peer's
// message among them. The runtime exports both hooks by linkname for this use
// (go.dev/issue/67401). Nothing between them may grow the stack or call
// into the runtime: hence nosplit, norace and the raw system call.
//
//go:nosplit
//go:norace
func blockingSyscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) {
	entersyscallblock()
	syscall.RawSyscall6(trap, a1, a2, a3, a4, a5, a6)
	exitsyscall()
}

//go:linkname entersyscallblock runtime.entersyscallblock
func entersyscallblock()

//go:linkname exitsyscall runtime.exitsyscall
func exitsyscall()

func futexWake(addr *uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWakeOp, 1<<30, 0, 0, 0)
}

func osYield() { unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }

// readPeer copies len(dst) bytes at addr in process pid into dst with
// process_vm_readv(2).
func readPeer(pid int, dst []byte, addr uint64) error {
	for len(dst) > 0 {
		local := [1]unix.Iovec{{Base: &dst[0]}}
		local[0].SetLen(len(dst))
		rem := [1]unix.RemoteIovec{{Base: uintptr(addr), Len: len(dst)}}
		n, err := unix.ProcessVMReadv(pid, local[:], rem[:], 0)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ESRCH:
			return fmt.Errorf("%w: process_vm_readv: %v", ErrPeerDead, err)
		case err == unix.EFAULT:
			return fmt.Errorf("%w: process_vm_readv of %d bytes at %#x: %v", ErrCorrupt, len(dst), addr, err)
		case err != nil:
			return os.NewSyscallError("process_vm_readv", err)
		case n <= 0:
			return fmt.Errorf("%w: process_vm_readv read nothing at %#x", ErrCorrupt, addr)
		}
		dst = dst[n:]
		addr += uint64(n)
	}
	return nil
}
