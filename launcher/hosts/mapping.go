package hosts

import (
	"errors"
	"fmt"
	"strings"
)

// MaxRanks is the largest np [Map] accepts; it keeps an absurd -np from
// exhausting memory.
const MaxRanks = 1 << 24

// MapOptions controls [Map].
type MapOptions struct {
	// By is the mapping policy, as mpirun's --map-by: "slot" (the
	// default when empty) fills each host's slots in order; "node" places
	// one rank per host in round robin. "byslot" and "bynode" are accepted
	// too; case is ignored.
	By string
	// Oversubscribe allows more ranks than slots (mpirun's
	// --oversubscribe). Hosts never receive more than their MaxSlots.
	Oversubscribe bool
}

// Placement says where one rank runs.
type Placement struct {
	Rank      int    // global rank, 0..np-1
	Host      string // host name
	HostIndex int    // index of the host in the slice given to Map
	LocalRank int    // rank among the ranks on the same host, 0..LocalSize-1
	LocalSize int    // number of ranks on the host
}

// Map places np ranks on hosts and returns one Placement per rank, indexed
// by rank. Ranks on one host get consecutive local ranks in global rank
// order. Hosts with zero slots receive no rank. If np exceeds
// [TotalSlots](hosts), Map fails unless opts.Oversubscribe is set; then the
// extra ranks are spread evenly over hosts with at least one slot, never
// beyond a host's MaxSlots. Host names must be unique and non-empty, and
// np must be between 1 and [MaxRanks].
func Map(hosts []Host, np int, opts MapOptions) ([]Placement, error) {
	if np <= 0 {
		return nil, fmt.Errorf("invalid number of ranks %d: must be at least 1", np)
	}
	if np > MaxRanks {
		return nil, fmt.Errorf("invalid number of ranks %d: at most %d are supported", np, MaxRanks)
	}
	if len(hosts) == 0 {
		return nil, errors.New("no hosts to place ranks on")
	}
	seen := make(map[string]bool, len(hosts))
	for i, h := range hosts {
		switch {
		case h.Name == "":
			return nil, fmt.Errorf("host %d has an empty name", i)
		case seen[h.Name]:
			return nil, fmt.Errorf("host %q is listed twice", clip(h.Name))
		case h.Slots < 0:
			return nil, fmt.Errorf("host %q has a negative slot count %d", clip(h.Name), h.Slots)
		case h.MaxSlots < 0:
			return nil, fmt.Errorf("host %q has a negative max_slots %d", clip(h.Name), h.MaxSlots)
		case h.MaxSlots > 0 && h.Slots > h.MaxSlots:
			return nil, fmt.Errorf("host %q has %d slots, more than its max_slots=%d", clip(h.Name), h.Slots, h.MaxSlots)
		}
		seen[h.Name] = true
	}
	var byNode bool
	switch strings.ToLower(opts.By) {
	case "", "slot", "byslot":
	case "node", "bynode":
		byNode = true
	default:
		return nil, fmt.Errorf("unsupported mapping policy %q (want \"slot\" or \"node\")", clip(opts.By))
	}
	total := TotalSlots(hosts)
	if np > total {
		if !opts.Oversubscribe {
			return nil, fmt.Errorf("not enough slots: %d ranks requested but the hosts provide %d (hosts: %s); add slots or pass --oversubscribe",
				np, total, describe(hosts))
		}
		if total == 0 {
			return nil, fmt.Errorf("cannot place %d ranks: no host has any slots (hosts: %s)", np, describe(hosts))
		}
		if limit := capacity(hosts); np > limit {
			return nil, fmt.Errorf("cannot place %d ranks even when oversubscribing: the hosts' max_slots allow at most %d (hosts: %s)",
				np, limit, describe(hosts))
		}
	}

	hostOf := make([]int, np) // rank -> host index
	if byNode {
		mapByNode(hosts, np, hostOf)
	} else {
		mapBySlot(hosts, np, hostOf)
	}

	size := make([]int, len(hosts))
	for _, h := range hostOf {
		size[h]++
	}
	next := make([]int, len(hosts))
	out := make([]Placement, np)
	for r, h := range hostOf {
		out[r] = Placement{Rank: r, Host: hosts[h].Name, HostIndex: h, LocalRank: next[h], LocalSize: size[h]}
		next[h]++
	}
	return out, nil
}

// capacity is the most ranks the hosts take when oversubscribing, saturated
// at the maximum int.
func capacity(hosts []Host) int {
	const maxInt = int(^uint(0) >> 1)
	c := 0
	for _, h := range hosts {
		if h.Slots == 0 {
			continue
		}
		if h.MaxSlots == 0 {
			return maxInt
		}
		if c > maxInt-h.MaxSlots {
			return maxInt
		}
		c += h.MaxSlots
	}
	return c
}

// counts decides how many ranks each host takes: its slots, in host order,
// until np is reached, then the remainder spread one per host per pass
// over hosts with slots and room below MaxSlots. The caller has checked
// that np fits.
func counts(hosts []Host, np int) []int {
	cnt := make([]int, len(hosts))
	left := np
	for i, h := range hosts {
		n := min(h.Slots, left)
		cnt[i] = n
		left -= n
	}
	for left > 0 {
		// One pass: every eligible host takes the same share.
		var room []int
		for i, h := range hosts {
			if h.Slots > 0 && (h.MaxSlots == 0 || cnt[i] < h.MaxSlots) {
				room = append(room, i)
			}
		}
		if len(room) == 0 {
			panic("hosts: counts called with np beyond capacity")
		}
		share := max(left/len(room), 1)
		for _, i := range room {
			if left == 0 {
				break
			}
			n := min(share, left)
			if m := hosts[i].MaxSlots; m > 0 {
				n = min(n, m-cnt[i])
			}
			cnt[i] += n
			left -= n
		}
	}
	return cnt
}

// mapBySlot gives each host a consecutive block of ranks.
func mapBySlot(hosts []Host, np int, hostOf []int) {
	r := 0
	for i, n := range counts(hosts, np) {
		for ; n > 0; n-- {
			hostOf[r] = i
			r++
		}
	}
}

// mapByNode deals ranks one per host in round robin, skipping hosts whose
// slots are full; once every slot is used (oversubscription), it goes on
// dealing over hosts with slots that are below their MaxSlots. The caller
// has checked that np fits.
func mapByNode(hosts []Host, np int, hostOf []int) {
	have := make([]int, len(hosts))
	r := 0
	deal := func(limit func(i int) int) {
		active := make([]int, 0, len(hosts))
		for i := range hosts {
			if have[i] < limit(i) {
				active = append(active, i)
			}
		}
		for r < np && len(active) > 0 {
			kept := active[:0]
			for _, i := range active {
				if r == np {
					break
				}
				hostOf[r] = i
				r++
				have[i]++
				if have[i] < limit(i) {
					kept = append(kept, i)
				}
			}
			active = kept
		}
	}
	deal(func(i int) int { return hosts[i].Slots })
	deal(func(i int) int {
		h := hosts[i]
		switch {
		case h.Slots == 0:
			return 0
		case h.MaxSlots > 0:
			return h.MaxSlots
		}
		return int(^uint(0) >> 1)
	})
	if r != np {
		panic("hosts: mapByNode called with np beyond capacity")
	}
}

// describe lists hosts as "a:2 b:2 c:2", abbreviated for long lists.
func describe(hosts []Host) string {
	const show = 8
	var b strings.Builder
	for i, h := range hosts {
		if i == show {
			fmt.Fprintf(&b, " … (%d more)", len(hosts)-show)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%d", clip(h.Name), h.Slots)
		if h.MaxSlots > 0 {
			fmt.Fprintf(&b, "(max %d)", h.MaxSlots)
		}
	}
	return b.String()
}
