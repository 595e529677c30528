package collectives

// InPlace makes the call it is passed to work in place, as MPI_IN_PLACE
// does: dst is the input too, and src is not read. Each collective says
// which part of dst holds the rank's input (all of it for Allreduce, Scan,
// Exscan, Alltoall(v) and ReduceScatter(Block); the rank's own block for
// Allgather(v) and, on root, Gather(v)). For Scatter and Scatterv it is
// the other way round: on root, src is the input and dst is not written
// (root's block stays in src).
//
// With InPlace the buffer that is not read (src; dst for Scatter(v)) must
// be nil or start where the other one starts; anything else makes the call
// return an error wrapping comm.ErrInvalidArgument. The rooted collectives
// (Reduce, Gather(v), Scatter(v)) read InPlace on root only and ignore it
// elsewhere, so every rank may pass the same options. Bcast and Barrier
// ignore it; the value collectives (BcastValue, ...) refuse it with
// comm.ErrInvalidArgument.
//
// Without InPlace a nil or empty src is an empty contribution: its length
// is checked like any other (a nil src where elements are expected is an
// error, a nil src with zero counts is fine). A src that starts where dst
// starts is still safe: the collectives that combine or exchange
// (Allreduce, Reduce on root, Scan, Exscan, Alltoall(v), ReduceScatter)
// then read the input before writing dst, which is the in-place result,
// and Scatter(v) on root writes its own block last. Other overlaps of dst
// and src are not supported.
func InPlace() Option {
	return func(c *config) { c.inPlace = true }
}
