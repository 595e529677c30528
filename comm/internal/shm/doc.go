// Package shm is the shared-memory channel between two processes of one
// host: everything gorun's shared-memory transport needs below the
// engine. It knows nothing of comm's frames beyond their 40-byte header
// (HeaderSize), which it carries opaquely. Standard library and
// golang.org/x/sys only; Linux (elsewhere Create and Open fail with
// ErrUnsupported).
//
// # The segment
//
// One segment per pair of processes, made by Create on one side (the
// creator) and mapped by Open on the other (the opener). It is a memfd
// (or, with Options.Dir, an unnamed O_TMPFILE file in a tmpfs), mode
// 0600, sized with ftruncate and reserved with fallocate, then sealed
// against shrinking and growing, and mapped MAP_SHARED|MAP_POPULATE.
// Reserving up front makes a full tmpfs or a memory-cgroup limit an error
// at Create (ErrNoSpace), so a caller falls back to TCP instead of taking
// a SIGBUS on a later store; the seals mean a peer cannot shrink the file
// under the other's mapping.
//
// The opener reaches the file only through a Handle the creator sends it
// over a connection both have authenticated (the job's HMAC handshake):
// the creator's pid and descriptor number, opened as /proc/PID/fd/N, and
// a 16-byte token from crypto/rand that Open checks, in constant time,
// against the one written in the segment's header. /proc lets only a
// process of the same user (or a privileged one) open another's
// descriptors, and the file's mode applies on top. Open also checks the
// file (regular, owned by this user, mode 0600, sealed, of the announced
// size) and the header (magic, version, geometry) before reading anything
// else.
//
// Why a memfd opened through /proc rather than a name in /dev/shm
// unlinked once both sides have it mapped, or a memfd passed over a unix
// socket: the file never has a name in any directory, so nothing can be
// left in /dev/shm by any ending, SIGKILL of either side or of gorun at
// any moment included (a named segment leaks when both sides die between
// create and unlink); the memory goes when the last mapping and
// descriptor go. The creator keeps the descriptor open only until the
// opener has mapped the segment (Segment.Accept closes it). Passing the
// descriptor with SCM_RIGHTS would need a second, unix-socket connection
// per pair with its own authentication, for nothing more: the TCP
// handshake already authenticates the peer. A memfd is also not subject
// to /dev/shm's size (64 MiB by default in containers), only to the
// memory cgroup. Options.Dir keeps the O_TMPFILE variant for hosts that
// want /dev/shm's accounting (and for the test with a 1 MiB tmpfs).
//
// Layout (little-endian; offsets in bytes):
//
//	0       header, 4096: magic, version, ring size, chunk, size, token,
//	        both pids, both probe addresses; on lines of their own the
//	        attached word (a futex), both sides' closed flags and both
//	        sides' "I read your memory" flags
//	4096    ring 0 (creator → opener): control block 4096, data area R
//	8192+R  ring 1 (opener → creator): control block 4096, data area R
//
// # The rings
//
// Each direction is a single-producer single-consumer ring, lock-free on
// the fast path. The control block has the consumer's head, its
// acknowledgement counter, both sides' sleep flags and both futex words,
// each on its own 128-byte line. The producer keeps its tail to itself
// and re-reads the consumer's head only when the ring looks full.
// Records start on 64-byte boundaries with an 8-byte word (payload
// length, kind, 24-bit sequence number) that the producer stores last
// (atomic store: release) after storing a zero word where the next record
// will start; the consumer loads it first (acquire), so it finds either
// zero or a complete record, never a stale one. An 8-byte message is one
// cache line. Kinds: a message (header, total length, first chunk), a
// continuation chunk, a wrap (the rest of the data area is skipped; no
// record crosses the end), and a remote descriptor (header, length,
// address in the sender, id).
//
// Payloads longer than the chunk size (Options.Chunk, 64 KiB by default)
// are pipelined: each chunk is published as soon as it is copied in, and
// the receiver copies it out while the next one is written. Payloads of
// Options.CMAMin bytes or more (4 MiB) go, when the receiver can read
// the sender's memory, as a remote descriptor: the receiver copies them
// once, with process_vm_readv(2), straight into the buffer it reads into,
// and acknowledges; the sender's Send returns after the acknowledgement.
// Each side probes process_vm_readv once, when the channel is made, by
// reading the peer's probe buffer (it holds the token) — which covers
// Yama's ptrace_scope, a container without CAP_SYS_PTRACE and seccomp
// filters alike — and announces the verdict in the segment; a sender
// sends descriptors only to a receiver that announced it reads them.
// Options.NoCMA forces the ring path (either side may set it).
//
// Everything read from shared memory is checked before use: the word's
// kind, sequence and length (a record lies wholly inside the data area,
// within the chunk size), the message length against Options.MaxMessage,
// continuation records against what is left of the message, descriptor
// ids in order, the consumer's head (never backwards, never past the
// tail), acknowledgements (never for more than was sent). A violation
// fails the channel with ErrCorrupt, for good: never a panic, an
// over-read, or a loop. FuzzRing feeds arbitrary segment contents and
// indices to both sides.
//
// # Waiting
//
// A wait (for a record, for space, for an acknowledgement) polls for
// Options.Spin (50 µs by default; calling sched_yield between polls with
// Options.Yield, for more ranks than CPUs), then announces in its sleep
// flag that it sleeps (a count: two goroutines of one side may sleep on
// it at once), looks once more, and sleeps on the futex word
// (FUTEX_WAIT, shared). The other side stores its record, then loads the
// flag (both sequentially consistent), and only when it is set bumps the
// word and calls FUTEX_WAKE: a side that is awake costs its peer no
// system call. The receiver's WaitReady counts for readerSleep in the
// flag, and Channel.HideReader takes that back while goroutines of its
// process poll the ring themselves (ShowReader restores it and wakes the
// reader if a record came meanwhile). A sleep lasts Options.CheckEvery at most (10 ms); after
// each the wait checks its context, this side's Close, the peer's closed
// flag and whether the peer's process is alive (a pidfd, immune to pid
// reuse; kill(pid, 0) on kernels without pidfds).
//
// # Regions
//
// A Region (region.go) is the same kind of file without rings, mapped by
// any number of processes of the host: the memory of comm's node-shared
// windows (AllocateShared). One process creates it, the others open it
// from its Handle (AppendRegionHandle, ParseRegionHandle) received over
// the communicator, and the creator closes its descriptor once all have
// mapped it.
//
// # The engine's contract
//
// This is how comm's shared-memory link is to use the package:
//
//   - Who creates: the lower rank of the pair (the TCP listener). Both
//     ranks first connect over TCP and pass the HMAC handshake as today;
//     the pair uses shm only when both are on one host (same boot id and
//     host name, exchanged in the store) and the transport allows it.
//   - How the name travels: right after the handshake, the creator sends
//     one 40-byte Handle (Handle.AppendBinary) on the connection, or a
//     zero-length "no shm" notice when Create failed (ErrNoSpace,
//     ErrUnsupported: one log line, then TCP for the pair). The opener
//     answers one status byte: 0 after Open succeeded, 1 after it failed
//     (its error logged), and the pair stays on TCP. On 0 the creator
//     calls Segment.Accept with the start-up deadline; on 1 it calls
//     Segment.Close.
//   - The TCP connection stays open, idle, for the life of the link: it
//     is the liveness signal the engine should rely on first. A rank
//     killed with SIGKILL closes it at once (the kernel closes its
//     sockets), the link's TCP reader sees end-of-stream without BYE,
//     and the engine fails the peer with ErrPeerLost and closes the
//     Channel, which wakes every shm wait. The Channel's own pidfd check
//     (Check, and every CheckEvery inside a wait) is the backstop that
//     guarantees no shm wait hangs even if nobody closes it.
//   - Sending: the link's send(h, payload) encodes h into a
//     [HeaderSize]byte and calls Channel.Send; Send is safe from many
//     goroutines. Over shm a large message is best sent as one DATA
//     frame of its whole length (the ring pipelines it in chunks, or the
//     receiver copies it once), not in the TCP link's 1 MiB chunks. It returns when the payload may be reused. The rule
//     that frame handlers never wait on a write holds: Send waits only
//     for ring space or, for a remote payload, for the receiver's copy,
//     and the receiver's progress never depends on a Send of its own.
//   - Control frames: a frame handler must not wait, so the link writes
//     a control frame with TrySend (never waits: false when another Send
//     holds the ring or the ring is full) and otherwise queues it for a
//     writer goroutine that calls Send.
//   - Receiving: the engine's poller calls Channel.Poll (never blocks)
//     for each shm link, under the link's receive lock, like tcpLink's
//     pollLocked: for each Message, it decodes the header and calls
//     engine.handleFrame(peer, &h, msg) with the Message as the payload
//     reader (a remote payload lands straight in the posted receive
//     buffer through Read; a truncated one is skipped with Discard), and
//     goes on until Poll returns nil. comm's link has a reader goroutine
//     that, while waiters poll, parks and leaves the receiving to them,
//     and otherwise sleeps in WaitReady (which takes nothing and never
//     holds the receiving side while it sleeps), then polls. (Recv, which
//     waits and takes, suits a single consumer.)
//   - Peer loss: Poll, Recv, Read and Send return ErrPeerDead (the
//     process exited: the engine maps it to ErrPeerLost), ErrPeerClosed
//     (the peer closed after its last frame: the analogue of end-of-
//     stream after BYE), ErrCorrupt (log it, close the link, fail the
//     peer with ErrPeerLost), or the context's error.
//   - Closing: after BYE both ways, the link calls Channel.Close; the
//     memory is freed when both sides have closed or exited.
package shm
