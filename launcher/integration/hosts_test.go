// Package integration tests gorun's multi-host launch against real
// servers: three hosts h1..h3 in network namespaces reached over ssh, and a
// Slurm cluster with one slurmd per host (see ../../../shared/testhosts).
// scripts/integration-hosts.sh brings them up, sets GORUN_TESTHOSTS=1 and
// runs these tests; without it they are skipped.
package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorun-hpc/gorun/launcher/launchtest"
)

const (
	netnsDir  = "/tmp/testhosts/netns"
	slurmConf = "/tmp/testhosts/slurm/slurm.conf"
)

var (
	gorunBin, progBin string
	testhostsDir      string // the shared/testhosts scripts
	sshExec           = "ssh -F " + netnsDir + "/ssh_config"
	hostNames         = []string{"h1", "h2", "h3"}
)

func TestMain(m *testing.M) {
	if os.Getenv("GORUN_TESTHOSTS") != "1" {
		fmt.Println("skipping multi-host integration tests: GORUN_TESTHOSTS=1 is not set (run scripts/integration-hosts.sh)")
		os.Exit(0)
	}
	testhostsDir = os.Getenv("GORUN_TESTHOSTS_DIR")
	// Binaries must be at one path on every host: the hosts share this
	// file system.
	dir, err := os.MkdirTemp("", "gorun-hosts-test-")
	if err != nil {
		panic(err)
	}
	os.Chmod(dir, 0o755)
	gorunBin = filepath.Join(dir, "gorun")
	progBin = filepath.Join(dir, "hostprog")
	for out, pkg := range map[string]string{gorunBin: "../../cmd/gorun", progBin: "./testdata/hostprog"} {
		if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", pkg, err, b)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needSSH(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(netnsDir + "/ssh_config"); err != nil {
		t.Skip("netns hosts are not up (" + netnsDir + "/ssh_config missing)")
	}
}

func needSlurm(t *testing.T) {
	t.Helper()
	needSSH(t)
	if os.Getenv("GORUN_TESTHOSTS_SLURM") == "0" {
		t.Skip("the Slurm cluster is not up (GORUN_TESTHOSTS_SLURM=0)")
	}
	if _, err := os.Stat(slurmConf); err != nil {
		t.Skip("the Slurm cluster is not up (" + slurmConf + " missing)")
	}
	if _, err := exec.LookPath("srun"); err != nil {
		t.Skip("srun is not installed")
	}
}

type result struct {
	out     string
	code    int
	elapsed time.Duration
}

func resultOf(r launchtest.Result) result { return result{r.Out, r.Code, r.Elapsed} }

// command is name with args in the tests' environment: ssh reaches the
// netns hosts, srun the test cluster.
func command(env []string, name string, args ...string) launchtest.Cmd {
	return launchtest.Cmd{Path: name, Args: args, Env: append([]string{"GORUN_LAUNCHER_EXEC=" + sshExec, "SLURM_CONF=" + slurmConf}, env...)}
}

// run runs a command (gorun, srun, salloc...) and fails the test if it
// does not end within limit.
func run(t *testing.T, limit time.Duration, env []string, name string, args ...string) result {
	t.Helper()
	return resultOf(launchtest.Run(t, limit, command(env, name, args...)))
}

// start starts gorun with args; the test fails if it has not ended within
// limit when waited for.
func start(t *testing.T, limit time.Duration, args ...string) *launchtest.Proc {
	t.Helper()
	return launchtest.Start(t, limit, command(nil, gorunBin, args...))
}

var blockingLine = regexp.MustCompile(`^rank (\d+) on (\S+) pid (\d+): blocking$`)

// blocking recognises hostprog's "rank R on HOST pid P: blocking".
func blocking(line string) (rank, pid int, ok bool) {
	m := blockingLine.FindStringSubmatch(line)
	if m == nil {
		return 0, 0, false
	}
	rank, _ = strconv.Atoi(m[1])
	pid, _ = strconv.Atoi(m[3])
	return rank, pid, true
}

func gorun(t *testing.T, limit time.Duration, args ...string) result {
	t.Helper()
	return run(t, limit, nil, gorunBin, args...)
}

var okLine = regexp.MustCompile(`(?m)^(?:\[1,\d+\]<stdout>:)?rank (\d+)/(\d+) on (\S+) local (\d+)/(\d+): ok$`)

// wantRanks checks that every rank reported ok, on the host want gives
// (want[rank] = host, local rank, local size), and returns the hosts.
func wantRanks(t *testing.T, r result, np int, want func(rank int) (string, int, int)) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit code %d, want 0; output:\n%s", r.code, r.out)
	}
	seen := map[int]bool{}
	for _, m := range okLine.FindAllStringSubmatch(r.out, -1) {
		rank, _ := strconv.Atoi(m[1])
		size, _ := strconv.Atoi(m[2])
		lr, _ := strconv.Atoi(m[4])
		ls, _ := strconv.Atoi(m[5])
		if size != np {
			t.Errorf("rank %d reports size %d, want %d", rank, size, np)
		}
		if want != nil {
			h, wl, ws := want(rank)
			if m[3] != h || lr != wl || ls != ws {
				t.Errorf("rank %d runs on %s as local %d/%d, want %s local %d/%d", rank, m[3], lr, ls, h, wl, ws)
			}
		}
		seen[rank] = true
	}
	if len(seen) != np {
		t.Fatalf("%d of %d ranks reported ok; output:\n%s", len(seen), np, r.out)
	}
}

// bySlot is the placement of 2 ranks per host on h1..h3 with --map-by slot.
func bySlot(rank int) (string, int, int) { return hostNames[rank/2], rank % 2, 2 }

// noStragglers fails the test if any process of the job is still alive on
// any host (they share this machine's process table), waiting up to limit
// for them to go.
func noStragglers(t *testing.T, limit time.Duration) {
	t.Helper()
	launchtest.NoStragglers(t, limit, progBin+"|"+gorunBin+" agent")
}

func TestSSHHostList(t *testing.T) {
	needSSH(t)
	r := gorun(t, 60*time.Second, "-H", "h1:2,h2:2,h3:2", progBin)
	wantRanks(t, r, 6, bySlot)
	// Data went from host to host: rank 2 (h2) got rank 1's (h1) host name.
	if !strings.Contains(r.out, "rank 2 on h2: left neighbour rank 1 is on h1") {
		t.Errorf("no cross-host exchange seen:\n%s", r.out)
	}
	noStragglers(t, 5*time.Second)
}

func TestSSHRepeatedHostsAndMapByNode(t *testing.T) {
	needSSH(t)
	// A repeated host adds a slot; --map-by node deals ranks round robin.
	r := gorun(t, 60*time.Second, "-H", "h1,h2,h3,h1,h2,h3", "--map-by", "node", "--tag-output", progBin)
	wantRanks(t, r, 6, func(rank int) (string, int, int) { return hostNames[rank%3], rank / 3, 2 })
	if !strings.Contains(r.out, "[1,4]<stdout>:rank 4/6 on h2 local 1/2: ok") {
		t.Errorf("output not tagged as in local mode:\n%s", r.out)
	}
}

func TestSSHHostfiles(t *testing.T) {
	needSSH(t)
	dir := t.TempDir()
	for name, text := range map[string]string{
		"openmpi": "# Open MPI syntax\nh1 slots=2\nh2 slots=2 max_slots=4\nh3 slots=2  # last\n",
		"mpich":   "h1:2\nh2:2\nh3:2\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(dir, name)
			os.WriteFile(f, []byte(text), 0o644)
			// -np defaults to the slots of the hostfile.
			r := gorun(t, 60*time.Second, "--hostfile", f, progBin)
			wantRanks(t, r, 6, bySlot)
		})
	}
}

func TestSSHOversubscribe(t *testing.T) {
	needSSH(t)
	r := gorun(t, 30*time.Second, "-H", "h1,h2", "-np", "3", progBin)
	if r.code != 2 || !strings.Contains(r.out, "not enough slots: 3 ranks requested but the hosts provide 2") ||
		strings.Count(strings.TrimSpace(r.out), "\n") != 0 {
		t.Fatalf("want a one-line refusal and exit 2, got %d:\n%s", r.code, r.out)
	}
	r = gorun(t, 60*time.Second, "-H", "h1,h2", "-np", "3", "--oversubscribe", progBin)
	wantRanks(t, r, 3, nil)
}

func TestSSHEnvironmentAndWdir(t *testing.T) {
	needSSH(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	t.Setenv("GORUN_TEST_FWD", "forwarded")
	r := gorun(t, 60*time.Second, "-H", "h2:1,h3:1", "-x", "FOO=bar", "-x", "GORUN_TEST_FWD", "--wdir", dir,
		"sh", "-c", `echo "$GORUN_RANK $(hostname) $FOO $GORUN_TEST_FWD $(pwd) addr=$GORUN_ADDR secret=${GORUN_SECRET:+set}"`)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	for rank, host := range []string{"h2", "h3"} {
		want := fmt.Sprintf("%d %s bar forwarded %s addr=10.250.0.%d secret=set", rank, host, dir, rank+2)
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	// The secret travels in the agent stream, never on a command line:
	// the ssh command lines gorun runs carry no hex key.
	if regexp.MustCompile(`[0-9a-f]{64}`).MatchString(r.out) {
		t.Errorf("something looking like the secret was printed:\n%s", r.out)
	}
}

func TestSSHMissingPaths(t *testing.T) {
	needSSH(t)
	r := gorun(t, 30*time.Second, "-H", "h1,h2", "--remote-gorun", "/no/such/gorun", progBin)
	if r.code == 0 || !strings.Contains(r.out, "gorun is not at /no/such/gorun on h") {
		t.Errorf("missing gorun: exit %d:\n%s", r.code, r.out)
	}
	r = gorun(t, 30*time.Second, "-H", "h1,h2", "--remote-program", "/no/such/prog", progBin)
	if r.code == 0 || !strings.Contains(r.out, "the program /no/such/prog does not exist on this host") {
		t.Errorf("missing program: exit %d:\n%s", r.code, r.out)
	}
	noStragglers(t, 5*time.Second)
}

// startBlocked starts a 3 × 2 job whose ranks block, and returns once every
// rank runs, with each rank's pid.
func startBlocked(t *testing.T, limit time.Duration, extra ...string) (*launchtest.Proc, map[int]int) {
	t.Helper()
	p := start(t, limit, append(append([]string{"-H", "h1:2,h2:2,h3:2"}, extra...), progBin, "-mode", "block")...)
	return p, p.Ranks(6, blocking)
}

func TestSSHHostCut(t *testing.T) {
	needSSH(t)
	if testhostsDir == "" {
		t.Skip("GORUN_TESTHOSTS_DIR is not set")
	}
	p, _ := startBlocked(t, 60*time.Second)
	netns := func(args ...string) {
		if b, err := exec.Command("bash", append([]string{filepath.Join(testhostsDir, "netns-hosts.sh")}, args...)...).CombinedOutput(); err != nil {
			t.Errorf("netns-hosts.sh %v: %v\n%s", args, err, b)
		}
	}
	netns("cut", "h2")
	healed := false
	defer func() {
		if !healed {
			netns("heal", "h2")
		}
	}()
	cutAt := time.Now()
	r := p.Wait()
	took := time.Since(cutAt)
	t.Logf("the job ended %v after h2 was cut", took.Round(10*time.Millisecond))
	if r.Code == 0 || !strings.Contains(r.Out, "gorun: lost host h2 (ranks 2,3): no heartbeat for") {
		t.Errorf("exit %d; want a failure naming h2 and its ranks:\n%s", r.Code, r.Out)
	}
	if took > 20*time.Second {
		t.Errorf("the job took %v to end after the cut", took)
	}
	// Survivors on other hosts were told the job is aborted.
	if n := strings.Count(r.Out, "job aborted: lost host h2"); n < 3 {
		t.Errorf("only %d survivors reported the abort:\n%s", n, r.Out)
	}
	// The cut host's agent notices the silent link by itself (heartbeat
	// timeout) and kills its ranks: while h2 is still cut off, every
	// process of the job ends, on every host.
	noStragglers(t, 20*time.Second)
	netns("heal", "h2")
	healed = true
	noStragglers(t, 5*time.Second)
}

func TestSSHRemoteRankKilled(t *testing.T) {
	needSSH(t)
	p, pids := startBlocked(t, 60*time.Second)
	syscall.Kill(pids[3], syscall.SIGKILL)
	killed := time.Now()
	r := p.Wait()
	want := fmt.Sprintf("gorun: rank 3 (pid %d) on h2 was killed by signal 9 (SIGKILL)", pids[3])
	if r.Code != 137 || !strings.Contains(r.Out, want) {
		t.Errorf("exit %d, want 137 and %q:\n%s", r.Code, want, r.Out)
	}
	if d := time.Since(killed); d > 10*time.Second {
		t.Errorf("teardown took %v", d)
	}
	noStragglers(t, 5*time.Second)
}

var agentsUp = regexp.MustCompile(`gorun: (\d+) agents up in (\S+)`)

// TestSSHStartupTime measures how long gorun takes to bring up the agents
// of 3 hosts (ranks 2 each), the median of several runs.
func TestSSHStartupTime(t *testing.T) {
	needSSH(t)
	var ups, totals []time.Duration
	for range 5 {
		r := run(t, 60*time.Second, []string{"GORUN_DEBUG_STARTUP=1"}, gorunBin, "-H", "h1:2,h2:2,h3:2", progBin)
		wantRanks(t, r, 6, bySlot)
		m := agentsUp.FindStringSubmatch(r.out)
		if m == nil {
			t.Fatalf("no start-up time in:\n%s", r.out)
		}
		d, _ := time.ParseDuration(m[2])
		ups = append(ups, d)
		totals = append(totals, r.elapsed)
	}
	slices.Sort(ups)
	slices.Sort(totals)
	t.Logf("3 hosts x 2 ranks: agents up in %v (median of %d: %v); whole job %v (median; %v)", ups[len(ups)/2], len(ups), ups, totals[len(totals)/2], totals)
}

func TestSlurmSalloc(t *testing.T) {
	needSlurm(t)
	r := run(t, 90*time.Second, nil, "salloc", "-N", "3", "--ntasks-per-node=2", gorunBin, progBin)
	wantRanks(t, r, 6, bySlot)
	// --launcher local overrides the allocation: every rank on this machine.
	r = run(t, 90*time.Second, nil, "salloc", "-N", "3", "--ntasks-per-node=2", gorunBin, "--launcher", "local", "-np", "2", progBin)
	wantRanks(t, r, 2, nil)
	noStragglers(t, 5*time.Second)
}

func TestSlurmSbatch(t *testing.T) {
	needSlurm(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	script := filepath.Join(dir, "job.sh")
	os.WriteFile(script, []byte("#!/bin/bash\n"+gorunBin+" "+progBin+"\necho \"gorun exit $?\"\n"), 0o755)
	out := filepath.Join(dir, "out")
	r := run(t, 120*time.Second, nil, "sbatch", "--wait", "-N", "3", "--ntasks-per-node=2", "-o", out, script)
	b, _ := os.ReadFile(out)
	res := result{out: string(b), code: r.code}
	if !strings.Contains(res.out, "gorun exit 0") {
		t.Fatalf("sbatch: exit %d %s\njob output:\n%s", r.code, r.out, b)
	}
	wantRanks(t, res, 6, bySlot)
}

func TestSrunDirect(t *testing.T) {
	needSlurm(t)
	r := run(t, 90*time.Second, nil, "srun", "-N", "3", "--ntasks-per-node=2", "--overlap", progBin)
	wantRanks(t, r, 6, bySlot)
	if !strings.Contains(r.out, "rank 2 on h2: left neighbour rank 1 is on h1") {
		t.Errorf("no cross-host exchange seen:\n%s", r.out)
	}
	// An inconsistent identity is refused, not run as singletons.
	r = run(t, 90*time.Second, nil, "srun", "-N", "1", "-n", "2", "--overlap", "env", "SLURM_NTASKS=3", progBin)
	if r.code == 0 || !strings.Contains(r.out, "srun direct launch: SLURM_NTASKS=3 disagrees with SLURM_STEP_NUM_TASKS=2; refusing to start as a singleton") {
		t.Errorf("inconsistent identity: exit %d:\n%s", r.code, r.out)
	}
}

// Bindings are planned per host, by each host's agent from its own
// topology: 2 ranks on each of 3 hosts get that host's cores 0 and 1.
func TestSSHBindPerHost(t *testing.T) {
	needSSH(t)
	r := gorun(t, 60*time.Second, "-H", "h1:2,h2:2,h3:2", "--bind-to", "core", "--report-bindings",
		"sh", "-c", `echo "rank $GORUN_RANK on $(hostname) cpuset $GORUN_CPUSET allowed $(grep Cpus_allowed_list /proc/self/status | cut -f2)"`)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	for rank := range 6 {
		host, cpu := fmt.Sprintf("h%d", rank/2+1), rank%2
		for _, want := range []string{
			fmt.Sprintf("gorun: rank %d on %s bound to CPUs %d", rank, host, cpu),
			fmt.Sprintf("rank %d on %s cpuset %d allowed %d", rank, host, cpu, cpu),
		} {
			if !strings.Contains(r.out, want) {
				t.Errorf("output lacks %q:\n%s", want, r.out)
			}
		}
	}
	// More ranks than a host has cores cannot be bound one core each.
	r = gorun(t, 60*time.Second, "-H", "h1:3", "--bind-to", "core", "true")
	if r.code == 0 || !strings.Contains(r.out, "--bind-to core on h1") {
		t.Errorf("impossible binding: exit %d:\n%s", r.code, r.out)
	}
}

func netns(t *testing.T, args ...string) {
	t.Helper()
	if b, err := exec.Command("bash", append([]string{filepath.Join(testhostsDir, "netns-hosts.sh")}, args...)...).CombinedOutput(); err != nil {
		t.Errorf("netns-hosts.sh %v: %v\n%s", args, err, b)
	}
}

// Issue 18 item 11: a host whose sshd comes up after gorun started (as
// worker pods do under the Kubeflow MPI Operator) is retried with backoff
// until the agent start timeout, and the job runs.
func TestSSHLateSSHD(t *testing.T) {
	needSSH(t)
	if testhostsDir == "" {
		t.Skip("GORUN_TESTHOSTS_DIR is not set")
	}
	netns(t, "kill", "h2") // sshd on h2 is down
	restarted := false
	defer func() {
		if !restarted {
			netns(t, "up")
		}
	}()
	p := start(t, 90*time.Second, "-H", "h1:2,h2:2,h3:2", progBin)
	if !p.Until(func(line string) bool { return strings.HasPrefix(line, "gorun: h2 is not reachable yet") }) {
		t.Fatalf("gorun did not wait for h2:\n%s", p.Out())
	}
	// sshd on h2 starts, late: as netns-hosts.sh up starts it, without
	// rewriting the client configuration under the retrying ssh.
	sshd := exec.Command("ip", "netns", "exec", "h2", "unshare", "--uts", "sh", "-c",
		"hostname h2 && exec /usr/sbin/sshd -f "+netnsDir+"/h2.sshd_config -E "+netnsDir+"/h2.log")
	if b, err := sshd.CombinedOutput(); err != nil {
		t.Errorf("starting sshd on h2: %v\n%s", err, b)
	} else {
		restarted = true
	}
	r := resultOf(p.Wait())
	wantRanks(t, r, 6, bySlot)
	if n := strings.Count(r.out, "not reachable yet"); n != 1 {
		t.Errorf("want one line about the retries, got %d:\n%s", n, r.out)
	}
	noStragglers(t, 5*time.Second)
}

// Issue 18 item 11: the hostfile named by the MPI Operator's environment
// is used when gorun is given no hosts.
func TestSSHHostfileFromEnvironment(t *testing.T) {
	needSSH(t)
	r := run(t, 60*time.Second, []string{"OMPI_MCA_orte_default_hostfile=" + netnsDir + "/hostfile"}, gorunBin, progBin)
	wantRanks(t, r, 3, func(rank int) (string, int, int) { return hostNames[rank], 0, 1 })
}

// Issue 18 item 1 across hosts: a stopped rank on h2 is named with its
// host.
func TestSSHRankStopped(t *testing.T) {
	needSSH(t)
	p, pids := startBlocked(t, 60*time.Second, "--heartbeat-timeout", "2")
	syscall.Kill(pids[3], syscall.SIGSTOP)
	r := p.Wait()
	want := fmt.Sprintf("gorun: rank 3 (pid %d) on h2 stopped responding for 2s", pids[3])
	if r.Code != 1 || !strings.Contains(r.Out, want) {
		t.Errorf("exit %d, want 1 and %q:\n%s", r.Code, want, r.Out)
	}
	noStragglers(t, 5*time.Second)
}

// Issue 18 item 4 across hosts: kill -9 of a host's agent takes the
// host's ranks and their children with it within 2 s, and the job fails
// naming the host.
func TestSSHAgentKilled(t *testing.T) {
	needSSH(t)
	p := start(t, 60*time.Second, "-H", "h1:2,h2:2,h3:2", "sh", "-c", `sleep 29.59 & exec "$0" -mode block`, progBin)
	p.Ranks(6, blocking)
	// The agent in h2's namespace (not the ssh client that started it).
	agents := netnsPids(t, "h2", gorunBin+" agent --host h2")
	if len(agents) != 1 {
		t.Fatalf("no single agent for h2 (%v):\n%s", agents, p.Out())
	}
	// h2's processes of the job are those in its network namespace.
	job := append(netnsPids(t, "h2", "sleep 29.59"), netnsPids(t, "h2", progBin)...)
	if len(job) < 4 {
		t.Fatalf("%d processes of the job on h2 (%v), want its 2 ranks and their children:\n%s", len(job), job, p.Out())
	}
	syscall.Kill(agents[0], syscall.SIGKILL)
	killed := time.Now()
	if left := launchtest.WaitGone(job, 2*time.Second); len(left) > 0 {
		t.Errorf("processes of the job alive on h2 2 s after its agent was killed: pids %v", left)
	}
	t.Logf("h2 was clear %v after its agent was killed", time.Since(killed).Round(time.Millisecond))
	r := p.Wait()
	if r.Code == 0 || !strings.Contains(r.Out, "gorun: lost host h2 (ranks 2,3)") {
		t.Errorf("exit %d; want a failure naming h2:\n%s", r.Code, r.Out)
	}
	noStragglers(t, 5*time.Second)
	launchtest.NoStragglers(t, 5*time.Second, "sleep 29.59")
}

// netnsPids returns the pids of the processes in host's network namespace
// whose command line contains marker.
func netnsPids(t *testing.T, host, marker string) []int {
	t.Helper()
	out, err := exec.Command("ip", "netns", "pids", host).Output()
	if err != nil {
		t.Fatalf("ip netns pids %s: %v", host, err)
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		pid, _ := strconv.Atoi(f)
		b, _ := os.ReadFile("/proc/" + f + "/cmdline")
		if pid > 0 && strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), marker) {
			pids = append(pids, pid)
		}
	}
	return pids
}
