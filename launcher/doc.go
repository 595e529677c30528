// Package launcher runs gorun's SPMD jobs: the head (the job secret, the
// rendezvous store, the agents, output, exit codes and teardown) and the
// per-host agent that forks a host's ranks.
//
// Run runs every rank on this machine through an agent in this process;
// RunRemote starts one agent per host, over ssh or in one srun step, and
// talks to each over a msgpack stream (protocol.go). An agent starts its
// ranks, each leading its own process group, forwards their output line by
// line, follows each rank's agent link (phases and heartbeats of ranks
// that use comm: comm/rendezvous/agentlink.go), reports each exit the
// moment the process ends, and kills what is left when the head is gone;
// a keeper process (keeper.go) kills the ranks' groups if the agent itself
// is killed.
//
// The first failure wins: a rank's non-zero exit, signal, Abort, exit
// without Close, exit before Init while others wait in it, or lost
// heartbeat is reported in one line, and its exit code is the job's;
// failures reported within 150 ms of it are ordered by when they
// happened, so a survivor that failed because of it is never named.
// Every rank then learns the cause (its calls fail with comm.ErrAborted),
// and after Job.Grace gets SIGTERM, after another SIGKILL. One type
// decides the verdict for every path (verdict.go), and one helper
// escalates from SIGTERM to SIGKILL wherever processes are ended
// (terminate.go lists each path's steps).
//
// Run and RunRemote may be called from any goroutine, one job at a time
// per process (the agent is a child subreaper and signals process groups).
package launcher
