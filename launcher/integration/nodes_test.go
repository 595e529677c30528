package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The node-aware tests: comm's host communicators, the hierarchical
// collectives and the node-shared window (examples/sharedtable) over the
// netns hosts, which share this machine's kernel (one boot id) but have
// host names of their own: three hosts to gorun and to comm.

var (
	nodeBinsOnce          sync.Once
	nodeProgBin, tableBin string
	nodeBinsErr           error
)

// nodeBins builds nodeprog and examples/sharedtable once, at a path every
// host sees.
func nodeBins(t *testing.T) (string, string) {
	t.Helper()
	nodeBinsOnce.Do(func() {
		dir := filepath.Dir(gorunBin)
		nodeProgBin, tableBin = filepath.Join(dir, "nodeprog"), filepath.Join(dir, "sharedtable")
		for out, pkg := range map[string]string{nodeProgBin: "./testdata/nodeprog", tableBin: "../../examples/sharedtable"} {
			if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
				nodeBinsErr = fmt.Errorf("building %s: %v\n%s", pkg, err, b)
				return
			}
		}
	})
	if nodeBinsErr != nil {
		t.Fatal(nodeBinsErr)
	}
	return nodeProgBin, tableBin
}

var nodeLine = regexp.MustCompile(`(?m)^rank (\d+)/(\d+) on (\S+) hosts (\d+) maxlocal (\d+) node (\d+)/(\d+) blocked (\w+): ok$`)

// Hierarchical Allreduce, Bcast and Barrier, chosen and forced, on three
// hosts: 2 ranks each by slot, unequal (3+1+2), and round robin (each
// host's ranks not consecutive). Every rank sees 3 hosts, its host's
// ranks, and correct results.
func TestNodeAwareCollectives(t *testing.T) {
	needSSH(t)
	prog, _ := nodeBins(t)
	for _, tc := range []struct {
		name    string
		args    []string
		hostOf  func(rank int) string
		local   map[string]int // ranks per host
		blocked bool
	}{
		{"3x2", []string{"-H", "h1:2,h2:2,h3:2"}, func(r int) string { return hostNames[r/2] }, map[string]int{"h1": 2, "h2": 2, "h3": 2}, true},
		{"3+1+2", []string{"-H", "h1:3,h2:1,h3:2"}, func(r int) string { return []string{"h1", "h1", "h1", "h2", "h3", "h3"}[r] }, map[string]int{"h1": 3, "h2": 1, "h3": 2}, true},
		{"roundrobin", []string{"-H", "h1:2,h2:2,h3:2", "--map-by", "node"}, func(r int) string { return hostNames[r%3] }, map[string]int{"h1": 2, "h2": 2, "h3": 2}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := gorun(t, 120*time.Second, append(tc.args, prog)...)
			if r.code != 0 {
				t.Fatalf("exit %d:\n%s", r.code, r.out)
			}
			seen := map[int]bool{}
			maxLocal := 0
			for _, n := range tc.local {
				maxLocal = max(maxLocal, n)
			}
			for _, m := range nodeLine.FindAllStringSubmatch(r.out, -1) {
				rank, _ := strconv.Atoi(m[1])
				if m[3] != tc.hostOf(rank) || m[4] != "3" || m[5] != strconv.Itoa(maxLocal) ||
					m[7] != strconv.Itoa(tc.local[m[3]]) || m[8] != strconv.FormatBool(tc.blocked) {
					t.Errorf("rank %d: %q; want host %s, 3 hosts, %d at most, %d on its host, blocked %v",
						rank, m[0], tc.hostOf(rank), maxLocal, tc.local[m[3]], tc.blocked)
				}
				seen[rank] = true
			}
			if len(seen) != 6 {
				t.Fatalf("%d of 6 ranks reported ok:\n%s", len(seen), r.out)
			}
		})
	}
	noStragglers(t, 5*time.Second)
}

// examples/sharedtable on three hosts: one table per host, checked; the
// corrupted run fails; nothing is left in /dev/shm.
func TestNodeSharedTable(t *testing.T) {
	needSSH(t)
	_, table := nodeBins(t)
	shm := func() int { // POSIX semaphores left out: gorun makes none, other programs leak them
		ents, _ := os.ReadDir("/dev/shm")
		n := 0
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), "sem.") {
				n++
			}
		}
		return n
	}
	before := shm()
	r := gorun(t, 120*time.Second, "-H", "h1:2,h2:2,h3:2", table, "-entries", "500000", "-lookups", "200000")
	if r.code != 0 || !strings.Contains(r.out, "VERDICT PASS") || !strings.Contains(r.out, "kept once on each of 3 hosts, 6 ranks") {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	r = gorun(t, 120*time.Second, "-H", "h1:2,h2:2,h3:2", table, "-entries", "500000", "-corrupt")
	if r.code == 0 || !strings.Contains(r.out, "VERDICT FAIL") {
		t.Fatalf("-corrupt: exit %d:\n%s", r.code, r.out)
	}
	if after := shm(); after > before {
		t.Errorf("/dev/shm has %d entries after the runs, %d before", after, before)
	}
	noStragglers(t, 5*time.Second)
}
