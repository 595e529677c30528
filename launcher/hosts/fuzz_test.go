package hosts

import (
	"strings"
	"testing"
)

func FuzzParseHostfile(f *testing.F) {
	for _, s := range []string{
		"", "a", "a slots=4 max_slots=8\n", "# c\n\n b slots = 2 # x\n", "a:4\nb:2 max-slots=3",
		"a\na\na slots=2", "[fe80::1]:3\nfe80::1", "a slots=x", "slots=2", "a = 3", "a slots=",
		"a slots=2 slots_max=1", "a:*", "a,b", "\x00\r\n\t", "a slots=16777216\na",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hosts, err := ParseHostfile(strings.NewReader(s), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "hostfile fuzz:") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		checkHosts(t, hosts)
	})
}

func FuzzParseHostList(f *testing.F) {
	for _, s := range []string{
		"a", "host1:4,host2:4,host1", "a,,b", ",", "a:0", "[::1]:2,fe80::1", "a:x", " a , b:3 ", "a:99999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hosts, err := ParseHostList(s)
		if err != nil {
			return
		}
		if len(hosts) == 0 {
			t.Fatalf("no hosts and no error for %q", s)
		}
		checkHosts(t, hosts)
		// Whatever parses can be mapped.
		if n := TotalSlots(hosts); n > 0 && n <= 1<<16 {
			p, err := Map(hosts, n, MapOptions{By: "node"})
			if err != nil || len(p) != n {
				t.Fatalf("Map of parsed hosts failed: %v", err)
			}
		}
	})
}

// checkHosts verifies parsed hosts are sane.
func checkHosts(t *testing.T, hosts []Host) {
	t.Helper()
	seen := map[string]bool{}
	for _, h := range hosts {
		if h.Name == "" || seen[h.Name] {
			t.Fatalf("bad or duplicate name in %+v", hosts)
		}
		seen[h.Name] = true
		if h.Slots < 0 || h.Slots > MaxSlotsPerHost || h.MaxSlots < 0 || (h.MaxSlots > 0 && h.Slots > h.MaxSlots) {
			t.Fatalf("bad slot counts in %+v", h)
		}
	}
}

func FuzzExpandNodelist(f *testing.F) {
	for _, s := range []string{
		"a", "node[01-04,07],gpu3", "n[1-3]-ib", "rack[1-2]n[01-02]", "n[0-999999999]", "n[1[2]]",
		"n[", "]", "n[3-1]", "a[0-1023]b[0-1024]", "n[1][2][3]", "a,,b", "n[007]", "[1-2]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		names, err := ExpandNodelist(s)
		if err != nil {
			return
		}
		if len(names) == 0 || len(names) > MaxNames {
			t.Fatalf("%d names for %q", len(names), s)
		}
		// A list without brackets expands to its own entries.
		if !strings.ContainsAny(s, "[]") {
			parts := strings.Split(strings.TrimSpace(s), ",")
			if len(parts) != len(names) {
				t.Fatalf("%q: %d names, want %d", s, len(names), len(parts))
			}
			for i := range parts {
				if strings.TrimSpace(parts[i]) != names[i] {
					t.Fatalf("%q: name %d is %q", s, i, names[i])
				}
			}
		}
		for _, n := range names {
			if strings.ContainsAny(n, "[], \t\n") {
				t.Fatalf("%q: bad name %q", s, n)
			}
		}
	})
}

func FuzzExpandTasksPerNode(f *testing.F) {
	for _, s := range []string{
		"1", "2(x3),1", "16(x2),8(x1),4", "2(x0)", "2(x999999999)", "(x3)", "2(x3", ",", " 1 , 2 ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		counts, err := ExpandTasksPerNode(s)
		if err != nil {
			return
		}
		if len(counts) == 0 || len(counts) > MaxNames {
			t.Fatalf("%d counts for %q", len(counts), s)
		}
		for _, c := range counts {
			if c < 0 || c > MaxSlotsPerHost {
				t.Fatalf("bad count %d for %q", c, s)
			}
		}
	})
}
