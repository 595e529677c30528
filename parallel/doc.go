// Package parallel holds the data- and task-parallel patterns that users
// of multiprocessing, concurrent.futures, mpi4py.futures, Dask and Spark
// come with, built on package comm and package collectives. Every
// function is called by the ranks of a communicator in SPMD style; a
// plain program is a world of one rank, where everything runs locally.
//
// Map over ranks (Pool.map): Map, MapValue and MapRange apply a function
// to every element of a slice (held by the root) or of an index range
// and return the results in input order on the root or, with ToAll, on
// every rank. Static blocks by default (one Scatterv, one Allreduce that
// agrees on failures, one Gatherv); Chunk(n) hands out chunks of n
// elements dynamically for uneven work; WithPool runs each rank's share
// on a kernels.Pool. An error of the function ends the map on every rank
// with an *ElementError naming the element.
//
// An executor with futures (concurrent.futures, MPIPoolExecutor):
// functions are registered by name at start-up (Register) on every rank;
// NewExecutor makes one rank the client and the others workers; Submit
// returns a Future (Wait, Done), AsCompleted yields futures as they
// finish, MapTasks keeps argument order. Each worker has a bounded number
// of tasks in flight (ExecutorConfig.InFlight), which is Submit's
// back-pressure; ExecutorConfig.Batches (or Pool, a kernels.Pool) runs
// each message's tasks as one batch, for many short tasks. Shutdown drains or cancels. A lost worker's tasks run
// again on the others; a job-wide fault fails every pending future.
//
// Partitioned data (Dask dataframes, Spark RDDs): HashPartition and
// RangePartition assign records to ranks; Shuffle moves them with
// Alltoallv (raw memory for plain records, msgpack otherwise);
// ShuffleStream does it in bounded memory (at most 2·size·batch records
// per rank in flight); GroupBy aggregates by key with a map-side combiner
// (Sum, Count, Mean or a user Fold), without one (NoCombine), and salts
// skewed keys (Salt); GroupByColumns does it over a key and a value
// column, where the built-in aggregations fold integer keys in one tight
// loop; Collect brings a partitioned result to one rank.
//
// Concurrency: like collectives, the collective calls of this package on
// one communicator must be made in the same order on every rank and must
// not overlap; an Executor may be used from many goroutines. Errors:
// bad arguments wrap comm.ErrInvalidArgument (comm.ErrInvalidRank for a
// rank); faults of the communicator are returned wrapped, so errors.Is
// finds comm's sentinels and context errors.
package parallel
