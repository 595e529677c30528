package hosts

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExpandNodelist(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a", []string{"a"}},
		{"node[01-04,07],gpu3", []string{"node01", "node02", "node03", "node04", "node07", "gpu3"}},
		{"n[1-3]-ib", []string{"n1-ib", "n2-ib", "n3-ib"}},
		{"rack[1-2]n[01-02]", []string{"rack1n01", "rack1n02", "rack2n01", "rack2n02"}},
		{"a[1-2]b[1-2]c[7,9]", []string{"a1b1c7", "a1b1c9", "a1b2c7", "a1b2c9", "a2b1c7", "a2b1c9", "a2b2c7", "a2b2c9"}},
		{"n[8-11]", []string{"n8", "n9", "n10", "n11"}},
		{"n[08-11]", []string{"n08", "n09", "n10", "n11"}},
		{"n[098-101]", []string{"n098", "n099", "n100", "n101"}},
		{"n[007]", []string{"n007"}},
		{"n[0]", []string{"n0"}},
		{"n[1,1]", []string{"n1", "n1"}},
		{"[1-2]", []string{"1", "2"}},
		{"x[1-2],y,z[3]", []string{"x1", "x2", "y", "z3"}},
		{" a , b ", []string{"a", "b"}},
		{"n[1][2][3]", []string{"n123"}},
		{"n[1-2][1][1-2]x", []string{"n111x", "n112x", "n211x", "n212x"}},
		{"n[9-10,1]", []string{"n9", "n10", "n1"}},
		{"gpu-a100-[01-02].cluster", []string{"gpu-a100-01.cluster", "gpu-a100-02.cluster"}},
	}
	for _, tt := range tests {
		got, err := ExpandNodelist(tt.in)
		if err != nil {
			t.Errorf("ExpandNodelist(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ExpandNodelist(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExpandNodelistErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "nodelist: empty"},
		{"a,,b", `nodelist "a,,b": entry 2 is empty`},
		{"a,", `nodelist "a,": entry 2 is empty`},
		{"n[1-3", `nodelist "n[1-3": missing ']'`},
		{"n1-3]", `nodelist "n1-3]": unmatched ']' at offset 4`},
		{"n[1[2]]", `nodelist "n[1[2]]": nested '[' at offset 3`},
		{"n[]", `nodelist "n[]": empty brackets`},
		{"n[1,]", `nodelist "n[1,]": empty range in [1,]`},
		{"n[3-1]", `nodelist "n[3-1]": range "3-1": end is below start`},
		{"n[a-b]", `nodelist "n[a-b]": range "a-b": bad number "a"`},
		{"n[1-]", `nodelist "n[1-]": range "1-": bad number ""`},
		{"n[-1]", `nodelist "n[-1]": range "-1": bad number ""`},
		{"n[1-2-3]", `nodelist "n[1-2-3]": range "1-2-3": bad number "2-3"`},
		{"n[1-10:2]", `nodelist "n[1-10:2]": range "1-10:2": bad number "10:2"`},
		{"n[1-9999999999999]", `nodelist "n[1-9999999999999]": range "1-9999999999999": number "9999999999999" too long`},
		{"n[0-999999999]", `nodelist "n[0-999999999]": expands to more than 1048576 names`},
		{"n[0-1048576]", `nodelist "n[0-1048576]": expands to more than 1048576 names`},
		{"a[0-1023]b[0-1024]", `nodelist "a[0-1023]b[0-1024]": expands to more than 1048576 names`},
		{"a[0-999999],b[0-99999]", `nodelist "a[0-999999],b[0-99999]": expands to more than 1048576 names`},
		{"a b", `nodelist "a b": invalid character ' '`},
		{"a[1] b", `nodelist "a[1] b": invalid character ' '`},
	}
	for _, tt := range tests {
		got, err := ExpandNodelist(tt.in)
		if err == nil {
			t.Errorf("ExpandNodelist(%q) = %d names, want error", tt.in, len(got))
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ExpandNodelist(%q) error\n got %s\nwant %s", tt.in, err, tt.want)
		}
	}
}

func TestExpandNodelistLimits(t *testing.T) {
	// Exactly at the cap works.
	got, err := ExpandNodelist("n[0-1048575]")
	if err != nil || len(got) != MaxNames || got[MaxNames-1] != "n1048575" {
		t.Fatalf("cap expansion: %d names, err %v", len(got), err)
	}
	// Absurd requests fail fast.
	start := time.Now()
	for _, s := range []string{
		"n[0-999999999999]",
		"a[0-999]b[0-999]c[0-999]d[0-999]",
		strings.Repeat("x", 100) + "[0-1048575]",
	} {
		if _, err := ExpandNodelist(s); err == nil {
			t.Errorf("ExpandNodelist(%.40q...) succeeded", s)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("rejecting absurd expansions took %v", d)
	}
	// Many single-valued groups do not blow the stack or take quadratic time.
	long := "n" + strings.Repeat("[1]", 100000)
	got, err = ExpandNodelist(long)
	if err != nil || len(got) != 1 || len(got[0]) != 100001 {
		t.Fatalf("long single groups: %v", err)
	}
}

func TestExpandTasksPerNode(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"1", []int{1}},
		{"2(x3),1", []int{2, 2, 2, 1}},
		{"4(x1)", []int{4}},
		{"1,2,3", []int{1, 2, 3}},
		{"16(x2),8(x1),4", []int{16, 16, 8, 4}},
		{" 2(x2) , 0 ", []int{2, 2, 0}},
	}
	for _, tt := range tests {
		got, err := ExpandTasksPerNode(tt.in)
		if err != nil {
			t.Errorf("ExpandTasksPerNode(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ExpandTasksPerNode(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestExpandTasksPerNodeErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "tasks per node: empty"},
		{"1,,2", `tasks per node "1,,2": entry 2 is empty`},
		{"x", `tasks per node "x": bad task count "x"`},
		{"-1", `tasks per node "-1": bad task count "-1"`},
		{"2(x0)", `tasks per node "2(x0)": bad repeat count in "2(x0)"`},
		{"2(x)", `tasks per node "2(x)": bad repeat count in "2(x)"`},
		{"2(3)", `tasks per node "2(3)": bad entry "2(3)": want N or N(xM)`},
		{"2(x3", `tasks per node "2(x3": bad entry "2(x3": want N or N(xM)`},
		{"(x3)", `tasks per node "(x3)": bad task count ""`},
		{"2(x3)4", `tasks per node "2(x3)4": bad entry "2(x3)4": want N or N(xM)`},
		{"2(x999999999)", `tasks per node "2(x999999999)": expands to more than 1048576 nodes`},
		{"1(x1048576),1", `tasks per node "1(x1048576),1": expands to more than 1048576 nodes`},
		{"99999999999999", `tasks per node "99999999999999": bad task count "99999999999999"`},
	}
	for _, tt := range tests {
		got, err := ExpandTasksPerNode(tt.in)
		if err == nil {
			t.Errorf("ExpandTasksPerNode(%q) = %d counts, want error", tt.in, len(got))
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ExpandTasksPerNode(%q) error\n got %s\nwant %s", tt.in, err, tt.want)
		}
	}
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFromSlurmEnv(t *testing.T) {
	got, err := FromSlurmEnv(env(map[string]string{
		"SLURM_JOB_NODELIST":   "node[01-03],gpu1",
		"SLURM_NODELIST":       "ignored",
		"SLURM_TASKS_PER_NODE": "2(x3),4",
	}))
	want := []Host{{"node01", 2, 0}, {"node02", 2, 0}, {"node03", 2, 0}, {"gpu1", 4, 0}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
	// Fallback to SLURM_NODELIST.
	got, err = FromSlurmEnv(env(map[string]string{
		"SLURM_NODELIST":       "n[1-2]",
		"SLURM_TASKS_PER_NODE": "3,1",
	}))
	want = []Host{{"n1", 3, 0}, {"n2", 1, 0}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("fallback: got %+v, %v; want %+v", got, err, want)
	}
	// Duplicate names accumulate.
	got, err = FromSlurmEnv(env(map[string]string{
		"SLURM_JOB_NODELIST":   "n1,n2,n1",
		"SLURM_TASKS_PER_NODE": "1(x3)",
	}))
	want = []Host{{"n1", 2, 0}, {"n2", 1, 0}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("duplicates: got %+v, %v; want %+v", got, err, want)
	}
	// nil getenv uses the process environment.
	t.Setenv("SLURM_JOB_NODELIST", "x[1-2]")
	t.Setenv("SLURM_TASKS_PER_NODE", "1(x2)")
	got, err = FromSlurmEnv(nil)
	want = []Host{{"x1", 1, 0}, {"x2", 1, 0}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("os env: got %+v, %v; want %+v", got, err, want)
	}
}

func TestFromSlurmEnvErrors(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "slurm: SLURM_JOB_NODELIST and SLURM_NODELIST are unset; not inside a Slurm allocation?"},
		{map[string]string{"SLURM_JOB_NODELIST": "a"}, "slurm: SLURM_TASKS_PER_NODE is unset"},
		{map[string]string{"SLURM_JOB_NODELIST": "a[", "SLURM_TASKS_PER_NODE": "1"},
			`slurm: SLURM_JOB_NODELIST: nodelist "a[": missing ']'`},
		{map[string]string{"SLURM_NODELIST": "a[", "SLURM_TASKS_PER_NODE": "1"},
			`slurm: SLURM_NODELIST: nodelist "a[": missing ']'`},
		{map[string]string{"SLURM_JOB_NODELIST": "a", "SLURM_TASKS_PER_NODE": "x"},
			`slurm: SLURM_TASKS_PER_NODE: tasks per node "x": bad task count "x"`},
		{map[string]string{"SLURM_JOB_NODELIST": "n[1-4]", "SLURM_TASKS_PER_NODE": "2(x3)"},
			`slurm: SLURM_JOB_NODELIST="n[1-4]" lists 4 nodes but SLURM_TASKS_PER_NODE="2(x3)" gives counts for 3`},
		{map[string]string{"SLURM_JOB_NODELIST": "n1,n1", "SLURM_TASKS_PER_NODE": "16777216,1"},
			`slurm: host "n1": too many slots (more than 16777216)`},
	}
	for _, tt := range tests {
		got, err := FromSlurmEnv(env(tt.env))
		if err == nil {
			t.Errorf("FromSlurmEnv(%v) = %+v, want error", tt.env, got)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("FromSlurmEnv(%v) error\n got %s\nwant %s", tt.env, err, tt.want)
		}
	}
}
