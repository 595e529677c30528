// Package comm is gorun's communicator: ranks of an SPMD job exchanging
// tagged messages, with MPI's semantics, over authenticated TCP.
//
// # Starting
//
// A program calls Init once. Under gorun it returns the world communicator
// of the job; started on its own (./prog) it returns a world of one rank, so
// the same binary runs either way:
//
//	world, err := comm.Init()
//	if err != nil { log.Fatal(err) }
//	defer world.Close()
//
// # Two families of calls
//
// Numeric slices travel without encoding: Send, Recv, Isend, Irecv and
// Sendrecv are generic over Elem and send the slice's memory. Arbitrary Go
// values travel through msgpack with SendValue, IsendValue and RecvValue (the
// split mpi4py makes between its uppercase and lowercase methods).
//
// # Semantics
//
// Ranks and tags: ranks are 0..Size()-1 of the communicator; user tags are
// 0..MaxTag. Receives may use AnySource and AnyTag, and return a Status with
// the actual source, tag and size. Two messages from one sender to one
// receiver that both match a receive arrive in the order sent. ProcNull is
// the null peer (MPI_PROC_NULL): a send to it completes at once and sends
// nothing, a receive or probe of it completes at once with an empty Status
// whose Source is ProcNull. A rank or tag out of range is an error value
// wrapping ErrInvalidRank or ErrInvalidTag (and so ErrInvalidArgument),
// naming the call, the value and the valid range; the calls that return a
// Request report it through the Request. Only calls without an error
// result (WorldRank, Collective) panic on a bad argument.
//
// Blocking calls take a context: when it ends, the call returns an error
// satisfying errors.Is(err, context.DeadlineExceeded) (or Canceled), and a
// receive that had not matched is withdrawn, and so is a large send that no
// receive has taken (the receiver gives its announcement back: a withdrawn
// or cancelled send leaves no trace). Non-blocking calls return a
// *Request; every request completes, failing with ErrPeerLost when the rank
// it depends on dies and with ErrAborted when the job is aborted, so no
// rank hangs on a dead peer.
//
// Messages up to Config.EagerLimit (64 KiB) are sent at once and buffered by
// the receiver if needed, up to Config.EagerWindow (1 MiB) per sender: past
// that, a sender's small messages also wait for their receive, so a sender
// running ahead cannot make its receiver buffer without bound. TrySend sends
// such a small message at once without making a Request, and reports false,
// sending nothing, when it would have to wait (what package collectives uses
// for its small sends). Larger ones use a rendezvous: the sender announces
// the message, and the payload moves once a receive is posted, straight into
// the receiver's buffer, in chunks. Any size from 0 bytes up works.
//
// # Communicators and contexts
//
// Every communicator has a 64-bit context id carried by each frame: user
// traffic uses an even id, the communicator's collectives the odd id next to
// it (see Collective), so no user message ever matches a collective's
// traffic or another communicator's. Dup, Split and Create derive child ids
// from the parent's id and a per-parent sequence number, identically on
// every member, with no communication.
//
// # Hosts and node-shared memory
//
// Ranks are on one host when their kernels' boot ids and their host names
// agree (network namespaces of one machine are different hosts, as they
// are to gorun). SplitType(ctx, TypeShared, key) is
// MPI_Comm_split_type(MPI_COMM_TYPE_SHARED): the ranks of this rank's
// host. Nodes describes how a communicator's ranks sit on hosts and keeps,
// per communicator, the host and leader communicators of package
// collectives' hierarchical algorithms, made without communication (each
// rank publishes its host once in the job's store at Connect, host/<rank>,
// which also chooses each pair's transport). AllocateShared,
// over a communicator of one host, is MPI_Win_allocate_shared: one memfd
// segment per host that every rank of it maps, each rank's slice readable
// and writable by all, synchronised by SharedWindow.Fence; it never has a
// name in /dev/shm, and a segment the machine cannot hold is an error
// (ErrNoSharedMemory) when it is made, never a SIGBUS.
//
// # Transports
//
// The engine (matching, requests, the rendezvous protocol) talks to peers
// through a small link interface: a pair of ranks on one host is linked by
// shared memory, other pairs by one TCP connection (Config.Transport, or
// GORUN_TRANSPORT, forces one for every pair). The wire format is in
// PROTOCOL.md beside this file. On Linux the TCP link uses raw system
// calls, peeking reads and its own epoll parking; every other system, and
// Linux built with -tags gorun_portable, gets a portable TCP link over
// net.Conn and Go's network poller, with the same frames and failure
// semantics (TCPConfig's PeekReads and Congestion do nothing there), and
// no shared memory (ShmAvailable): every pair uses TCP.
//
// # Progress
//
// Each link has a reader goroutine, so messages are taken off the network,
// large transfers advance and peer failures are noticed while the program
// computes, as long as the Go scheduler runs that goroutine. A rank bound to
// one CPU (gorun's default when ranks fit on the cores) runs with
// GOMAXPROCS=1: then a goroutine that computes without blocking delays the
// readers until it yields or is preempted (about 10ms), much as an MPI
// rank progresses only inside MPI calls. A program that must answer
// promptly while computing can call Request.Test or Iprobe now and then
// (as MPI_Test and MPI_Iprobe do, a test that finds nothing processes what
// has arrived and yields the P), call runtime.Gosched, or raise
// GOMAXPROCS. On the portable TCP link (macOS, FreeBSD, -tags
// gorun_portable) a test cannot read the socket itself; while tests keep
// finding nothing, the link's reader wakes every Config.Spin (50 µs at
// most) to read it.
// Over TCP, a reader that parked before the tests began (after more than
// Spin without a comm call) can leave the first message to the runtime's
// next network poll, up to about 10 ms later; Wait has no such delay.
//
// # What a rank is doing
//
// Each process keeps a small record of the calls its goroutines are
// blocked in (a slot per waiting goroutine, taken once a wait parks, and
// per collective of package collectives through BeginCollective) and a
// count of completed requests; gorun's stall and deadlock reports ask for
// it over the agent link (observe.go). Under gorun --stats and --trace,
// the calls are also counted and recorded (observe_stats.go,
// observe_trace.go); otherwise that costs one atomic load per call.
//
// # Concurrency
//
// A Comm may be used from many goroutines: point-to-point calls, probes and
// request methods are safe for concurrent use. Collective operations on one
// Comm (Split, Dup, Create, and those of package collectives) must be called
// by every rank in the same order, and not concurrently on the same Comm.
package comm
