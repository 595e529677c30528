// Package collectives implements MPI's collective operations over
// package comm: Barrier, Bcast, Reduce, Allreduce, Scatter(v), Gather(v),
// Allgather(v), Alltoall(v), ReduceScatter(Block), Scan and Exscan on typed
// numeric slices (sent as raw memory, no encoding), value versions of
// Bcast, Scatter, Gather, Allgather and Alltoall for arbitrary Go values
// (msgpack), reductions (Op), and Cartesian topologies (Cart, DimsCreate).
//
// # Calling convention
//
// Blocking calls take a context first, then the communicator, then the
// caller-owned output buffer dst, then the inputs. Every rank of the
// communicator must call the same collectives in the same order, with
// matching lengths and the same root. In place: where MPI has
// MPI_IN_PLACE, the option InPlace() makes dst the input too (src is then
// nil); each function says which part of dst is read. A nil or empty src
// without InPlace is an empty contribution, checked against the lengths
// like any other, and a src that starts where dst starts is read before
// dst is written (see InPlace).
//
// Bad arguments are errors, not panics: every collective checks what it
// can see locally before it sends or receives anything, and returns an
// error wrapping comm.ErrInvalidRank (a root outside [0, Size())) or
// comm.ErrInvalidArgument (a length, count or displacement it cannot use,
// an op without Fn, InPlace with a src that is not nil or dst, an unknown
// algorithm name, a negative segment size) that names the call, the value
// and the valid range; each function's documentation lists its cases. An
// argument that every rank passes (a root, counts of an Allgatherv) is
// thus an error on every rank with no communication; one that only root
// reads (Gatherv's counts) is an error on root, and the other ranks wait
// for root until their ctx ends (or until gorun aborts the job). Lengths
// that disagree between ranks are erroneous, as in MPI; see "Checked
// collectives" for what is caught and how. Only the
// functions without an error result (Cart.Coords, Cart.Shift,
// Cart.RankOf) panic, as their documentation says. Faults
// (a peer lost or finalized, the job aborted, ctx ended) return an error
// that wraps comm's sentinel (errors.Is(err, comm.ErrPeerLost), ...) with
// the collective's name and rank; a rank waiting on a dead peer gets an
// error instead of hanging. After an error the contents of dst are
// unspecified. A failure reaches at once the ranks that exchange messages
// with the failed peer; the others learn of it when the job is aborted
// (gorun aborts a job when a rank fails) or when their ctx ends, so give
// long collectives a deadline when running without a launcher. Each call
// uses its own tags, so messages left over from a failed collective can
// never match a later one.
//
// # Checked collectives
//
// Calls that disagree between ranks are erroneous, as in MPI. Where the
// disagreement shows in a message's size (a count, block or element size
// that differs), it is caught for free: every algorithm checks the size of
// every message it receives, segment by segment, and a rank that gets
// another size than its call expects returns an error wrapping ErrMismatch
// (and comm.ErrTruncate) instead of zeros or partial data. Only the ranks
// that receive the wrong size see it; the others fail when gorun aborts
// the job (or their ctx ends), or complete with correct data when they
// needed nothing from the rank that disagreed (a Gather leaf, a Bcast
// root). Not seen for free: a difference of root, op, element type of the
// same size, forced algorithm, a count that differs by a whole number of
// a segmented algorithm's segments, a Bcast or Allreduce on one host
// whose sizes lie on both sides of the shared algorithms' 4 KiB (the
// ranks take different algorithms and wait until their ctx ends or gorun
// ends the job; full checking, below, reports it), and a collective
// that one rank skips or calls alone (a Bcast only root calls succeeds,
// and the others' next Bcast takes its data).
//
// Full checking, as MPICH's collective checking in its debug builds:
// with comm.Config.Check on, or GORUN_CHECK=1 in the ranks' environment
// (gorun --check sets it), every collective first exchanges a 168-byte
// record per rank (a Bruck allgather on the collective context, at tags
// above every collective's) describing the call: its kind, the
// communicator's sequence number and its count of Dup, Split and Create
// calls, root, count (the length every rank passes; a block for the
// blocked calls), the counts every rank passes (Allgatherv,
// ReduceScatter), element type and size, op (name, width, commutative),
// forced algorithm and segment size. Any difference is an error wrapping
// ErrMismatch on every rank, with one message the same on every rank that
// names the ranks and the field:
//
//	Bcast on world #12: rank 3 has root 1, ranks 0–2,4 have root 0
//	collective #1 on world: rank 2 calls Bcast, ranks 0,1 call Allreduce
//	Barrier on comm 1b465853 #1: rank 4 has made 1 Dup/Split/Create calls, ranks 0–3 have made 0 ...
//
// A rank whose own argument checks fail still takes part, so the others
// fail too ("rank 4 failed the argument checks") instead of waiting for it
// (a bad argument is then reported after that exchange, not before any
// communication).
// Split and Create take part before their exchange of colors; Dup, which
// cannot fail, is counted and compared at the communicator's next check
// (a Dup on one rank followed at once by a collective on the new
// communicator is not caught: that collective waits until its ctx ends).
// A call that matches the next one in every field (a Bcast only root
// makes, followed by the same Bcast on every rank) cannot be told from it.
// Value collectives are checked through the typed calls they make;
// non-blocking collectives on their goroutine. Every rank must have the
// same setting.
//
// Cost: one allgather of small messages before each call (ceil(log2 p)
// rounds). Measured with bench/coll on a loaded 2-core VM
// (bench/coll/README.md): off, no change beyond the noise; on, 0.1-0.5 ms
// more per call at np 2 and 4, so an 8-byte Bcast takes 0.2-0.5 ms instead
// of 5-12 µs and a 1 MiB Allreduce 1.1-1.7 times as long.
//
// # Concurrency
//
// Collectives travel on the communicator's collective context (see
// comm.Comm.Collective), so user messages on the same communicator can
// never match their traffic, and point-to-point calls may run concurrently
// with them. Collectives on different communicators (e.g. from Split or
// Dup) may run concurrently from different goroutines. Collectives on one
// communicator must not be called concurrently by two goroutines of one
// rank: they are ordered by call order.
//
// # Algorithms and the selector
//
// Each collective has one or more algorithms, one per file
// (allreduce_ring.go, bcast_binomial.go, ...). select.go chooses by message
// size and rank count; its thresholds were measured with
// scripts/crossovers.sh (bench/coll, every algorithm forced) on the
// project's 2-core VM (loopback TCP, np 2, 3, 4, 5 and 8; bench/coll/README.md gives
// the crossover figures):
//
//	Barrier        dissemination at np 2, tree from np 3
//	Bcast          binomial
//	Allreduce      np 2: recdoubling below 1 MiB, then rabenseifner;
//	               np 3-4: recdoubling below 16 KiB, then reduce_bcast,
//	               then rabenseifner from 1 MiB (np 3) or 96 KiB (np 4);
//	               np > 4: reduce_bcast below 2 MiB, then rabenseifner,
//	               but rabenseifner from 128 to 256 KiB for a power-of-two
//	               np >= 8
//	Reduce         binomial
//	Allgather      recdoubling for a power-of-two np; ring for np 3; else
//	               bruck below 32 KiB in total, then ring
//	Alltoall       np >= 4: bruck below 4 KiB per block (8 KiB from np 8);
//	               then linear below 512 KiB per block, then pairwise
//	Gather         binomial below 1 KiB per block, then linear
//	Scatter        binomial below 2 KiB per block, then linear
//	ReduceScatter  reduce_scatterv below 16 KiB per result block (np > 2),
//	               then ring (reduce_scatterv for non-commutative ops)
//	Allgatherv ring; Alltoallv pairwise; Gatherv, Scatterv linear;
//	Scan, Exscan recdoubling
//	SparseExchange alltoall (np 2-16 measured with bench/dsde; the NBX
//	               algorithms are for many ranks on a network, forced)
//
// A job over several hosts with several ranks on some host (hosts as
// comm.Comm.Nodes sees them: boot id and host name) takes "hierarchical"
// for Barrier, Bcast and Allreduce at every size, before the rows above:
// the call runs within each host, among the hosts' leaders (one rank per
// host), and within each host again, each step with the algorithm the
// selector picks for its communicator, so that only the leaders send
// between hosts. A non-commutative Allreduce keeps rank order with it when
// each host's ranks are consecutive (gorun's --map-by slot, the default),
// and otherwise falls back to "rabenseifner". The host and leader
// communicators are made, without communication, the first time a
// communicator's collective needs them, and kept with it (see
// comm.Comm.Nodes); a non-blocking collective's Dup makes its own. Forced,
// "hierarchical" also runs on one host (or one rank per host), where one
// of its steps has a single rank. As MPI leaves a communicator undefined
// after a collective fails, so here: once a hierarchical call has failed
// on some ranks only, the kept host and leader communicators may no longer
// agree on their sequence, and later hierarchical calls on that
// communicator can wait until their context ends; use a new communicator
// (Dup) after such a failure.
//
// A blocking Barrier, and a blocking Bcast or Allreduce of up to 4 KiB,
// on a communicator whose ranks are all on one host and may share memory
// (comm.Comm.SharedMemory: the transport is not forced to tcp) take
// "shared", before the rows above: the ranks meet in a comm.SharedWindow
// of the communicator instead of sending messages (see shared.go), and
// wait with comm.SharedWindow.Await, polling and then asleep on a futex.
// The window, about 130 KiB per rank, is made at the communicator's first
// such call and freed when the communicator is garbage collected; where
// it cannot be made, the communicator runs the rows above. Non-blocking
// collectives never take it (each runs on a Dup of its own). The same
// caveat as for "hierarchical" holds: after a call failed on some ranks
// only, the ranks' counts of shared calls may differ; use a new
// communicator.
//
// Ring Allreduce, scatter_allgather Bcast, Rabenseifner Reduce and
// pipeline Bcast never won on that machine, where the CPU and not a
// link is the limit; they run when forced, and on a real network may be
// worth forcing for large messages. Linear Bcast wins single calls at np 4-8 there but loses
// more on back-to-back calls; it too runs when forced.
//
// To force an algorithm, pass WithAlgorithm("ring") to the call, or set
// GORUN_COLL_<COLLECTIVE>=<name> in the environment, e.g.
// GORUN_COLL_ALLREDUCE=ring or GORUN_COLL_BCAST=pipeline (under gorun:
// gorun -x GORUN_COLL_ALLREDUCE=ring ...); the option wins over the
// variable, and an unknown name is an error (comm.ErrInvalidArgument). The variables are read once, at a
// process's first collective call. Algorithms(collective) lists the
// names. A forced algorithm that cannot run a call falls back as its
// collective documents (ring with a non-commutative op, recdoubling
// Allgather with a non-power-of-two np). The segment size of the pipelined
// algorithms is set by WithSegmentSize or GORUN_COLL_SEGMENT (bytes).
//
// All algorithms work for any number of ranks, and every one of them,
// forced, is tested against a serial reference.
//
// # Reductions, order and floating point
//
// An Op combines dst[i] = dst[i] ⊕ src[i]. With a non-commutative Op every
// reduction returns the rank-order result r0 ⊕ r1 ⊕ ... ⊕ r(p-1) (the
// selector uses only order-keeping algorithms; the ring algorithms fall
// back as documented). With a commutative Op the combination order depends
// on the algorithm and on p, and is the same on every rank for Allreduce:
// every rank gets bitwise the same result. Floating-point sums and
// products are therefore not bitwise reproducible across algorithms or
// rank counts: each result element is a sum of p terms computed along a
// tree (recdoubling, rabenseifner, binomial: depth ceil(log2 p)+1) or a
// chain (ring: depth p-1), so its error is bounded by about
// d·u·Σ|x_r| with u the unit roundoff (2^-53 for float64, 2^-24 for
// float32) and d that depth. Scan and Exscan combine in rank order along a
// recursive doubling tree (depth ceil(log2 p)).
package collectives
