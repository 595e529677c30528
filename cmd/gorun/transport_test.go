package main_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/launcher/launchtest"
)

// The transport choice, from --transport, -x GORUN_TRANSPORT or gorun's
// own environment: a bad value, or shm for ranks on several hosts, is a
// one-line usage error (exit 2) before any rank starts; a good one reaches
// the ranks, and --transport wins over the environment.
func TestTransportChoice(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"env", []string{"GORUN_TRANSPORT=bogus"}, []string{"-np", "2", "true"}, `GORUN_TRANSPORT="bogus": expected auto, shm or tcp`},
		{"-x", nil, []string{"-x", "GORUN_TRANSPORT=udp", "-np", "2", "true"}, `-x GORUN_TRANSPORT="udp": expected auto, shm or tcp`},
		{"flag", nil, []string{"--transport", "udp", "true"}, `--transport "udp": expected auto, shm or tcp`},
		{"shm on hosts", nil, []string{"--transport", "shm", "-H", "h1:1,h2:1", "true"}, "transport shm: the ranks are on 2 hosts (h1, h2)"},
		{"env shm on hosts", []string{"GORUN_TRANSPORT=shm"}, []string{"-H", "h1:2,h2:2,h3:2", "true"}, "the ranks are on 3 hosts (h1, h2, h3)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := launchtest.Run(t, 30*time.Second, launchtest.Cmd{Path: gorunBin, Args: tt.args, Env: tt.env})
			lines := strings.Split(strings.TrimSpace(r.Out), "\n")
			if r.Code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "gorun: ") || !strings.Contains(lines[0], tt.want) {
				t.Errorf("%v gorun %q: exit %d, output %q; want exit 2 and one line with %q", tt.env, tt.args, r.Code, r.Out, tt.want)
			}
		})
	}
	show := []string{"sh", "-c", `echo "transport=$GORUN_TRANSPORT"`}
	for _, tt := range []struct {
		env  []string
		args []string
		want string
	}{
		{[]string{"GORUN_TRANSPORT=tcp"}, nil, "transport=tcp"},
		{[]string{"GORUN_TRANSPORT=tcp"}, []string{"--transport", "auto"}, "transport=auto"},
		{[]string{"GORUN_TRANSPORT=bogus"}, []string{"--transport", "tcp"}, "transport=tcp"},
		{nil, []string{"-x", "GORUN_TRANSPORT=tcp"}, "transport=tcp"},
	} {
		args := append(append(tt.args, "-np", "1"), show...)
		r := launchtest.Run(t, 30*time.Second, launchtest.Cmd{Path: gorunBin, Args: args, Env: tt.env})
		if r.Code != 0 || !strings.Contains(r.Out, tt.want) {
			t.Errorf("%v gorun %q: exit %d, output %q; want %q", tt.env, args, r.Code, r.Out, tt.want)
		}
	}
}
