package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type statsJSON struct {
	NP    int     `json:"np"`
	Wall  float64 `json:"wall_s"`
	Calls []struct {
		Call  string  `json:"call"`
		Alg   string  `json:"alg"`
		Count int64   `json:"count"`
		Bytes int64   `json:"bytes"`
		Total float64 `json:"total_s"`
		Max   float64 `json:"max_s"`
		Share float64 `json:"share"`
	} `json:"calls"`
	Ranks []struct {
		Rank int     `json:"rank"`
		Wall float64 `json:"wall_s"`
		Comm float64 `json:"comm_s"`
	} `json:"ranks"`
	Missing []int `json:"missing"`
}

// TestStatsCounts runs a program whose calls are known under --stats and
// checks the totals in the JSON file, at several rank counts.
func TestStatsCounts(t *testing.T) {
	prog := stallProg(t)
	for _, np := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "stats.json")
			res := gorun(t, 2*time.Minute, "", "-np", fmt.Sprint(np), "--stats=json:"+file, prog, "-mode", "counts")
			if res.code != 0 {
				t.Fatalf("exit code %d; output:\n%s", res.code, res.out)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var st statsJSON
			if err := json.Unmarshal(b, &st); err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			n := int64(np)
			want := map[string][2]int64{ // call → count, bytes
				"Send": {5 * n, 5 * 64 * n}, "Recv": {5 * n, 5 * 64 * n},
				"Isend": {4 * n, 4 * 64 * n}, "Irecv": {4 * n, 4 * 64 * n}, "Wait": {8 * n, 0},
				"Barrier": {2 * n, 0}, "Allreduce": {3 * n, 0},
			}
			if np > 1 {
				want["Allreduce"] = [2]int64{3 * n, 3 * 32 * n}
			}
			got := map[string][2]int64{}
			for _, c := range st.Calls {
				g := got[c.Call]
				got[c.Call] = [2]int64{g[0] + c.Count, g[1] + c.Bytes}
				if c.Total < 0 || c.Max < 0 || c.Max > c.Total+1e-9 || c.Share < 0 || c.Share > 1 {
					t.Errorf("%s: total %v max %v share %v", c.Call, c.Total, c.Max, c.Share)
				}
				if c.Call == "Allreduce" && np > 1 && c.Alg != "recdoubling" {
					t.Errorf("Allreduce's algorithm %q, want recdoubling", c.Alg)
				}
			}
			for call, w := range want {
				if got[call] != w {
					t.Errorf("%s: count, bytes = %v, want %v", call, got[call], w)
				}
			}
			if len(got) != len(want) {
				t.Errorf("calls %v, want those of %v", got, want)
			}
			if st.NP != np || len(st.Ranks) != np || len(st.Missing) != 0 || st.Wall <= 0 {
				t.Errorf("np %d, %d rank lines, missing %v, wall %v", st.NP, len(st.Ranks), st.Missing, st.Wall)
			}
			for _, r := range st.Ranks {
				if r.Comm < 0 || r.Comm > r.Wall*1.05+1e-3 {
					t.Errorf("rank %d: %v s in calls of a %v s run", r.Rank, r.Comm, r.Wall)
				}
			}
		})
	}
}

// TestStatsFailedJob checks that --stats prints its table when the job
// fails: the ranks whose calls the failure aborted send theirs, the
// failing rank is named as missing.
func TestStatsFailedJob(t *testing.T) {
	prog := stallProg(t)
	res := gorun(t, time.Minute, "", "-np", "3", "--stats", prog, "-mode", "countsfail")
	if res.code != 3 {
		t.Fatalf("exit code %d, want 3; output:\n%s", res.code, res.out)
	}
	for _, w := range []string{"gorun: statistics: 3 ranks", "no statistics from rank 1 (exited without Close"} {
		if !strings.Contains(res.out, w) {
			t.Errorf("table lacks %q; output:\n%s", w, res.out)
		}
	}
	var send string
	for _, l := range strings.Split(res.out, "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[0] == "Send" {
			send = f[1] + " " + f[2]
		}
	}
	if send != "10 640" {
		t.Errorf("Send row count and bytes %q, want \"10 640\" (ranks 0 and 2); output:\n%s", send, res.out)
	}
}
