package npb

import "testing"

func TestRandlcVectors(t *testing.T) {
	cases := []struct {
		seed float64
		want []uint64
	}{
		{314159265, []uint64{55909509111989, 61155031930969, 45573031421645, 55279057169489, 1250169187877}},
		{271828183, []uint64{32883653486115, 55063727434591, 39106144873291}},
	}
	for _, c := range cases {
		x := c.seed
		for i, w := range c.want {
			r := Randlc(&x, A)
			if uint64(x) != w || r != float64(w)*0x1p-46 {
				t.Fatalf("seed %v step %d: got state %v (r=%v), want %d", c.seed, i+1, x, r, w)
			}
		}
		// Vranlc gives the same stream.
		y := make([]float64, len(c.want))
		x = c.seed
		Vranlc(len(y), &x, A, y)
		for i, w := range c.want {
			if y[i] != float64(w)*0x1p-46 {
				t.Fatalf("vranlc seed %v step %d: %v", c.seed, i+1, y[i])
			}
		}
		if uint64(x) != c.want[len(c.want)-1] {
			t.Fatalf("vranlc final state %v", x)
		}
		// Skip matches stepping.
		for k := range uint64(len(c.want)) {
			if got := Skip(c.seed, A, k+1); uint64(got) != c.want[k] {
				t.Fatalf("skip %d: %v", k+1, got)
			}
		}
	}
}

func TestEPMultiplier(t *testing.T) {
	// an = a^(2^17) mod 2^46 by 17 squarings, as ep.f computes it.
	t1 := A
	for range 17 {
		Randlc(&t1, t1)
	}
	if t1 != 62362532446209 {
		t.Fatalf("an = %v", t1)
	}
	if Pow46(A, 1<<17) != t1 {
		t.Fatalf("Pow46 = %v", Pow46(A, 1<<17))
	}
	// Skip over 2^17 numbers is the same as multiplying by an.
	if Skip(271828183, A, 1<<17) != Skip(271828183, t1, 1) {
		t.Fatal("skip mismatch")
	}
}
