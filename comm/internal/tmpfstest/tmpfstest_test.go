//go:build linux

package tmpfstest_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/comm/internal/tmpfstest"
)

// TestRerun: inside the namespace the directory is a tmpfs of 1 MiB, so
// a 2 MiB file does not fit and a 64 KiB one does; outside, the test
// skips cleanly where there is no root or no mount namespace.
func TestRerun(t *testing.T) {
	if dir := tmpfstest.Dir(); dir != "" {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		if total := int64(st.Blocks) * int64(st.Bsize); total > 1<<20 {
			t.Fatalf("%s holds %d bytes, want at most 1 MiB", dir, total)
		}
		if err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, 2<<20), 0o600); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("2 MiB into a 1 MiB tmpfs: %v, want ENOSPC", err)
		}
		if err := os.Remove(filepath.Join(dir, "big")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "small"), make([]byte, 64<<10), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	tmpfstest.Rerun(t, "1M", time.Minute)
}

// TestRerunSubtest: a subtest is re-run alone, by its full name.
func TestRerunSubtest(t *testing.T) {
	t.Run("sub test", func(t *testing.T) {
		if tmpfstest.Dir() != "" {
			return
		}
		tmpfstest.Rerun(t, "1M", time.Minute)
	})
}
