package topology_test

import (
	"slices"
	"testing"
	"testing/fstest"

	"github.com/gorun-hpc/gorun/kernels/topology"
)

func TestParseCPUList(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		str  string
		err  bool
	}{
		{"", nil, "", false},
		{"\n", nil, "", false},
		{"0", []int{0}, "0", false},
		{"0-3\n", []int{0, 1, 2, 3}, "0-3", false},
		{"0-3,8", []int{0, 1, 2, 3, 8}, "0-3,8", false},
		{"8,0-1,1,3", []int{0, 1, 3, 8}, "0-1,3,8", false},
		{"0-7:2", []int{0, 2, 4, 6}, "0,2,4,6", false},
		{"5-5", []int{5}, "5", false},
		{" 2 , 4-5 ", []int{2, 4, 5}, "2,4-5", false},
		{"3-1", nil, "", true},
		{"a", nil, "", true},
		{"-1", nil, "", true},
		{"1-", nil, "", true},
		{"1,,2", nil, "", true},
		{"0-3:0", nil, "", true},
		{"4:2", nil, "", true},
		{"99999", nil, "", true},
		{"8192", nil, "", true},
		{"+1", nil, "", true},
	}
	for _, tc := range tests {
		got, err := topology.ParseCPUList(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseCPUList(%q) err = %v, want err %v", tc.in, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if !slices.Equal([]int(got), tc.want) || got.String() != tc.str {
			t.Errorf("ParseCPUList(%q) = %v (%q), want %v (%q)", tc.in, []int(got), got, tc.want, tc.str)
		}
	}
}

func TestParseCPUMask(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{"3", "0-1", false},
		{"000fffff\n", "0-19", false},
		{"ff,00000001", "0,32-39", false},
		{"00000000,00000000", "", false},
		{"xyz", "", true},
		{"1,,1", "", true},
		{"123456789", "", true},
	}
	for _, tc := range tests {
		got, err := topology.ParseCPUMask(tc.in)
		if (err != nil) != tc.err || (err == nil && got.String() != tc.want) {
			t.Errorf("ParseCPUMask(%q) = %q, %v; want %q, err %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestSetOps(t *testing.T) {
	a := topology.NewCPUSet(5, 1, 3, 3, 7)
	b := topology.RangeCPUSet(3, 6)
	if a.String() != "1,3,5,7" || b.String() != "3-5" {
		t.Fatalf("a=%s b=%s", a, b)
	}
	if got := a.Intersect(b).String(); got != "3,5" {
		t.Errorf("intersect = %s", got)
	}
	if got := a.Union(b).String(); got != "1,3-5,7" {
		t.Errorf("union = %s", got)
	}
	if got := a.Difference(b).String(); got != "1,7" {
		t.Errorf("difference = %s", got)
	}
	if !topology.NewCPUSet(3, 5).IsSubsetOf(a) || b.IsSubsetOf(a) {
		t.Error("IsSubsetOf wrong")
	}
	if !a.Contains(7) || a.Contains(2) || a.First() != 1 || topology.CPUSet(nil).First() != -1 {
		t.Error("Contains/First wrong")
	}
	if topology.CPUSet(nil).Union(nil) != nil {
		t.Error("empty union not nil")
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"48K\n", 48 << 10, false}, {"2048K", 2 << 20, false}, {"32M", 32 << 20, false},
		{"1G", 1 << 30, false}, {"512", 512, false}, {"", 0, true}, {"K", 0, true}, {"-1K", 0, true},
		{"99999999999999999999", 0, true},
	}
	for _, tc := range tests {
		got, err := topology.ParseSize(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v", tc.in, got, err)
		}
	}
}

func FuzzParseCPUList(f *testing.F) {
	for _, s := range []string{"", "0", "0-3,8", "0-7:2", "1,,2", "3-1", "8191", " 4 ,5\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := topology.ParseCPUList(s)
		if err != nil {
			return
		}
		if !slices.IsSorted(set) {
			t.Fatalf("unsorted %v", set)
		}
		for i := 1; i < len(set); i++ {
			if set[i] == set[i-1] {
				t.Fatalf("duplicate in %v", set)
			}
		}
		// The canonical form re-parses to the same set.
		back, err := topology.ParseCPUList(set.String())
		if err != nil || !back.Equal(set) {
			t.Fatalf("%q → %q → %v, %v", s, set.String(), back, err)
		}
	})
}

func FuzzParseCPUMask(f *testing.F) {
	for _, s := range []string{"3", "ff,00000001", "", "0000000z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := topology.ParseCPUMask(s)
		if err == nil && !slices.IsSorted(set) {
			t.Fatalf("unsorted %v", set)
		}
	})
}

func FuzzSysfsParsers(f *testing.F) {
	f.Add("48K", "Node 0 MemTotal: 4155596 kB")
	f.Add("", "")
	f.Add("9223372036854775807G", "MemTotal:")
	f.Fuzz(func(t *testing.T, size, meminfo string) {
		if v, err := topology.ParseSize(size); err == nil && v < 0 {
			t.Fatalf("negative size %d", v)
		}
		_, _ = topology.ParseMemTotal(meminfo)
	})
}

// FuzzDetectFS feeds arbitrary contents to the sysfs files DetectFS reads;
// it must return a topology or an error, never panic, and a topology it
// returns must place every online CPU in a core.
func FuzzDetectFS(f *testing.F) {
	f.Add("0-1", "0", "0-1", "48K", "0-1", "3")
	f.Add("0", "x", "", "", "", "")
	f.Add("0-3", "1", "2", "1G", "9", "ff")
	f.Fuzz(func(t *testing.T, online, coreID, nodeList, size, shared, mask string) {
		fsys := fstest.MapFS{
			"cpu/online":                            {Data: []byte(online)},
			"cpu/cpu0/topology/core_id":             {Data: []byte(coreID)},
			"cpu/cpu1/topology/core_id":             {Data: []byte(coreID)},
			"node/node0/cpulist":                    {Data: []byte(nodeList)},
			"cpu/cpu0/cache/index0/level":           {Data: []byte("2")},
			"cpu/cpu0/cache/index0/size":            {Data: []byte(size)},
			"cpu/cpu0/cache/index0/shared_cpu_list": {Data: []byte(shared)},
			"cpu/cpu1/cache/index0/level":           {Data: []byte("2")},
			"cpu/cpu1/cache/index0/shared_cpu_map":  {Data: []byte(mask)},
		}
		topo, err := topology.DetectFS(fsys, topology.Options{})
		if err != nil {
			return
		}
		for _, c := range topo.CPUs {
			if !topo.Cores[c.Core].CPUs.Contains(c.ID) {
				t.Fatalf("CPU %d not in its core", c.ID)
			}
		}
		_ = topo.String()
	})
}
