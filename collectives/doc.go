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
// matching lengths and the same root. In-place variants: where MPI has
// MPI_IN_PLACE, passing a nil src (or a src that starts where dst starts)
// makes dst the input too; each function says which part of dst is read.
// Programmer errors (length mismatches visible locally, a bad root, an
// unknown algorithm name) panic with a "collectives: ..." message. Faults
// (a peer lost or finalized, the job aborted, ctx ended) return an error
// that wraps comm's sentinel (errors.Is(err, comm.ErrPeerLost), ...) with
// the collective's name and rank; no rank hangs on a dead peer. After an
// error the contents of dst are unspecified and the communicator should
// not be used for further collectives.
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
// size and rank count, with thresholds measured on the project's 2-core VM
// (see select.go). To force one, pass WithAlgorithm("ring") to the call, or
// set GORUN_COLL_<COLLECTIVE>=<name> in the environment, e.g.
// GORUN_COLL_ALLREDUCE=ring or GORUN_COLL_BCAST=pipeline; the option wins
// over the variable. Algorithms(collective) lists the names. The segment
// size of the pipelined algorithms is set by WithSegmentSize or
// GORUN_COLL_SEGMENT (bytes).
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
