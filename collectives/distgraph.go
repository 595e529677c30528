package collectives

import (
	"fmt"
	"slices"

	"github.com/gorun-hpc/gorun/comm"
)

// DistGraph is a communicator with a distributed graph topology: each
// rank knows the ranks it receives from (its sources) and sends to (its
// destinations), as MPI_Dist_graph_create_adjacent makes it. It is the
// Topology of the neighbourhood collectives for irregular meshes. A
// DistGraph is immutable and safe for concurrent use; its communicator
// follows comm.Comm's rules.
type DistGraph struct {
	c              *comm.Comm
	sources, dests []int
}

// DistGraphCreateAdjacent gives c a distributed graph topology
// (MPI_Dist_graph_create_adjacent, without weights or reordering): this
// rank receives from sources and sends to destinations, ranks of c in
// the order the neighbourhood collectives use; a rank may be listed more
// than once, and the calling rank itself may be listed. The graph must be
// consistent: rank a lists b among its destinations as many times as b
// lists a among its sources (not checked; a mismatch leaves a
// neighbourhood collective waiting until its ctx ends). It is collective
// over c (every rank calls it, in the same order as c's other
// collectives) and needs no communication: the new communicator is a
// c.Dup(). The error wraps comm.ErrInvalidRank for a rank outside
// [0, c.Size()).
func DistGraphCreateAdjacent(c *comm.Comm, sources, destinations []int) (*DistGraph, error) {
	for _, l := range []struct {
		what  string
		ranks []int
	}{{"source", sources}, {"destination", destinations}} {
		for _, r := range l.ranks {
			if r < 0 || r >= c.Size() {
				return nil, fmt.Errorf("collectives: DistGraphCreateAdjacent: %w: %s %d outside [0,%d)", comm.ErrInvalidRank, l.what, r, c.Size())
			}
		}
	}
	return &DistGraph{c: c.Dup(), sources: slices.Clone(sources), dests: slices.Clone(destinations)}, nil
}

// Comm returns the graph's communicator (its own context, c's ranks; the
// MPI_Comm that MPI_Dist_graph_create_adjacent returns).
func (g *DistGraph) Comm() *comm.Comm { return g.c }

// Sources returns the ranks this rank receives from, in order (a copy;
// MPI_Dist_graph_neighbors).
func (g *DistGraph) Sources() []int { return slices.Clone(g.sources) }

// Destinations returns the ranks this rank sends to, in order (a copy;
// MPI_Dist_graph_neighbors' destinations).
func (g *DistGraph) Destinations() []int { return slices.Clone(g.dests) }

func (g *DistGraph) neighborhood() neighbors {
	return neighbors{c: g.c, sources: g.sources, dests: g.dests}
}
