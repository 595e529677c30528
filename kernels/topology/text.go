package topology

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
)

// object is one node of the containment tree drawn by WriteText.
type object struct {
	rank  int // 0 machine … 8 PU; lower ranks are drawn above higher ones
	label string
	cpus  CPUSet
	kids  []*object
}

// WriteText writes a human-readable, lstopo-like description of t: a
// summary line, then a tree in which every object (package, NUMA node,
// cache, core, PU) sits under the smallest object whose CPUs contain its
// own, with chains of objects that cover the same CPUs joined by " + ".
// CPUs outside the allowed set are marked. The format is meant for people
// and may change; use encoding/json for machine consumption.
func (t *Topology) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Machine: %d package(s), %d NUMA node(s), %d core(s), %d PU(s) online, allowed %s",
		len(t.Packages), len(t.NUMANodes), len(t.Cores), len(t.CPUs), t.AllowedCPUs)
	if m := t.MemoryBytes(); m > 0 {
		fmt.Fprintf(bw, ", memory %s", humanBytes(int64(m)))
	}
	bw.WriteString("\n")

	var objs []*object
	for _, p := range t.Packages {
		objs = append(objs, &object{rank: 1, label: fmt.Sprintf("Package P#%d", p.ID), cpus: p.CPUs})
	}
	for _, n := range t.NUMANodes {
		l := fmt.Sprintf("NUMANode P#%d", n.ID)
		if n.MemoryBytes > 0 {
			l += fmt.Sprintf(" (%s)", humanBytes(int64(n.MemoryBytes)))
		}
		if n.CPUs.IsEmpty() {
			l += " (no CPUs)"
		}
		objs = append(objs, &object{rank: 2, label: l, cpus: n.CPUs})
	}
	for _, c := range t.Caches {
		r := 7 - c.Level // L3 → 4, L2 → 5, L1 → 6
		if r < 3 {
			r = 3
		}
		objs = append(objs, &object{rank: r, label: fmt.Sprintf("%s (%s)", c.Name(), humanBytes(c.SizeBytes)), cpus: c.CPUs})
	}
	for _, c := range t.Cores {
		objs = append(objs, &object{rank: 7, label: fmt.Sprintf("Core P#%d", c.CoreID), cpus: c.CPUs})
	}
	for _, c := range t.CPUs {
		l := fmt.Sprintf("PU P#%d", c.ID)
		if !c.Allowed {
			l += " (not allowed)"
		}
		objs = append(objs, &object{rank: 8, label: l, cpus: CPUSet{c.ID}})
	}
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := objs[i], objs[j]
		if len(a.cpus) != len(b.cpus) {
			return len(a.cpus) > len(b.cpus)
		}
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		return a.cpus.First() < b.cpus.First()
	})
	root := &object{rank: 0, cpus: t.Online}
	for i, o := range objs {
		parent := root
		if !o.cpus.IsEmpty() {
			for j := i - 1; j >= 0; j-- {
				if o.cpus.IsSubsetOf(objs[j].cpus) {
					parent = objs[j]
					break
				}
			}
		}
		parent.kids = append(parent.kids, o)
	}
	for _, k := range root.kids {
		writeObject(bw, k, 1)
	}
	if t.ISA.Vendor != "" || t.ISA.Brand != "" {
		fmt.Fprintf(bw, "ISA: %s %s (family %d model %d)\n", t.ISA.Vendor, t.ISA.Brand, t.ISA.Family, t.ISA.Model)
		if len(t.ISA.Features) > 0 {
			fmt.Fprintf(bw, "  features: %s\n", strings.Join(t.ISA.Features, " "))
		}
	}
	return bw.Flush()
}

func writeObject(w *bufio.Writer, o *object, depth int) {
	w.WriteString(strings.Repeat("  ", depth))
	w.WriteString(o.label)
	// Merge a single child covering the same CPUs onto this line.
	for len(o.kids) == 1 && o.kids[0].cpus.Equal(o.cpus) && o.rank != 2 {
		o = o.kids[0]
		w.WriteString(" + ")
		w.WriteString(o.label)
	}
	w.WriteString("\n")
	for _, k := range o.kids {
		writeObject(w, k, depth+1)
	}
}

// String returns the WriteText rendering.
func (t *Topology) String() string {
	var b strings.Builder
	_ = t.WriteText(&b)
	return b.String()
}

func humanBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 && (n%1024 == 0 || f >= 10*1024) {
		f /= 1024
		n /= 1024
		i++
	}
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d %s", int64(f), units[i])
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}
