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
// that disagree between ranks are erroneous, as in MPI; the receiving rank
// finds most of them where a message arrives (an error wrapping
// comm.ErrTruncate). Only the
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
// of its steps has a single rank.
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
