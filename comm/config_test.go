package comm_test

import (
	"testing"

	"github.com/gorun-hpc/gorun/comm"
)

// TestChunkSizeDefault checks the rendezvous chunk size's default with and
// without oversubscription, and GORUN_CHUNK_SIZE's override.
func TestChunkSizeDefault(t *testing.T) {
	t.Setenv("GORUN_OVERSUBSCRIBED", "0")
	if got := comm.DefaultConfig(2).ChunkSize; got != 1<<20 {
		t.Errorf("ChunkSize with a CPU per rank = %d, want 1 MiB", got)
	}
	t.Setenv("GORUN_OVERSUBSCRIBED", "1")
	if got := comm.DefaultConfig(8).ChunkSize; got != 512<<10 {
		t.Errorf("ChunkSize oversubscribed = %d, want 512 KiB", got)
	}
	t.Setenv("GORUN_CHUNK_SIZE", "65536")
	if got := comm.DefaultConfig(8).ChunkSize; got != 64<<10 {
		t.Errorf("ChunkSize with GORUN_CHUNK_SIZE=65536 = %d", got)
	}
}
