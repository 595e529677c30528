// Command gorun runs an SPMD job: N copies of a program whose ranks talk
// through package comm, in the spirit of mpirun.
//
//	gorun -np 4 ./prog args...        # a binary
//	gorun -np 4 ./examples/pi         # a Go package directory: built once, then run
//	gorun info [-json]                # this machine's topology
//
// Run `gorun --help` for the flags.
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gorun-hpc/gorun/kernels/affinity"
	"github.com/gorun-hpc/gorun/kernels/topology"
	"github.com/gorun-hpc/gorun/launcher"
	"github.com/gorun-hpc/gorun/launcher/hosts"
)

// Version is gorun's version, printed by --version.
const Version = "0.1.0"

const usageText = `Usage: gorun [flags] PROGRAM [ARGS...]
       gorun info [-json]

Runs NP copies (ranks) of PROGRAM. PROGRAM is an executable, a name found in
PATH, or a Go package directory (such as ./examples/pi), which gorun builds
once and runs.

Flags (mpirun's names; -flag and --flag are the same):
  -np N, -n N            number of ranks (default: the number of CPUs)
  --tag-output           prefix every output line with [1,RANK]<stdout>: or <stderr>:
  --timeout T            end the job after T (seconds, or a duration such as 90s or 2m);
                         gorun then exits 124
  -x VAR | -x VAR=VALUE  set VAR in every rank's environment (repeatable)
  --oversubscribe        allow more ranks than CPUs (always allowed locally; see below)
  --check                check every collective call: the ranks agree on its kind, root,
                         count, type and op first (sets GORUN_CHECK=1; see package collectives)
  --bind-to UNIT         core | core:overload-allowed | hwthread | l3 | numa | package | none
                         (default: core when the ranks fit on the cores; when they
                         outnumber them by a whole factor, core:overload-allowed, which
                         binds consecutive ranks to each core; else none); planned on
                         each host from its own topology
  --map-by POLICY        slot | core | numa | package (default slot)
  --report-bindings      print each rank's CPU binding
  --stall-report D[,stacks]
                         when some rank waits in a gorun call and no message has moved
                         for D, print what every rank is blocked in (grouped by call,
                         with any wait-for cycle); ",stacks" adds the goroutines' stacks.
                         SIGQUIT to gorun prints the same report at any time, and
                         --timeout prints it before ending the job
  --deadlock-timeout D   end the job as deadlocked (exit 125, with the report) when every
                         running rank has been blocked in a gorun call for D with no
                         message moving, no CPU used and no goroutine asleep, in a system
                         call or waiting for I/O (default 10s; 0 turns it off)
  --stats                at the end of the job (also when it fails), print a table of the
                         ranks' gorun calls: per call (and collective algorithm) the count,
                         bytes, total and longest time and share of the wall time, and per
                         rank the time inside calls and outside
  --stats=json:FILE      write the same as JSON to FILE
  --trace FILE.json      write a timeline of the ranks' gorun calls in the Chrome trace-event
                         format (open it in ui.perfetto.dev or chrome://tracing): a track
                         per rank, a slice per call, an arrow from each send to its receive;
                         each rank keeps its last 65536 calls
  --transport T          auto | shm | tcp: how ranks are linked (default auto: shared
                         memory between the ranks of one host, TCP between hosts; shm
                         for every pair is a usage error when ranks are on several
                         hosts); env GORUN_TRANSPORT, passed to every host's ranks

Several hosts (one agent per host, started in parallel; it forks the host's ranks):
  -H, --host LIST        hosts and slots: host1:4,host2:4 (a repeated host adds a slot)
  --hostfile FILE        Open MPI (host slots=N max_slots=M) or MPICH (host:N) hostfile;
                         also --machinefile. -np defaults to the total number of slots
  --map-by slot|node     fill each host's slots in order (default), or round robin
  --oversubscribe        allow more ranks than slots (refused otherwise)
  --launcher L           ssh | slurm | local (default: slurm inside a Slurm allocation,
                         ssh with -H/--hostfile, else local); env GORUN_LAUNCHER
  --launcher-exec CMD    command that reaches a host, split on spaces (default
                         "ssh -x -T -o BatchMode=yes"); env GORUN_LAUNCHER_EXEC
  --wdir DIR             ranks' working directory (default: the current one, or home)
  --remote-gorun PATH    gorun's path on the hosts (default: this gorun's path);
                         env GORUN_REMOTE_GORUN
  --remote-program PATH  the program's path on the hosts (default: its local path)
  --iface NAME, --net CIDR
                         network the store and the ranks use (default: the address of
                         each host's route back to gorun); env GORUN_IFACE, GORUN_NET
  --heartbeat-timeout T  declare a rank that uses comm, or a host, lost after T without
                         a heartbeat (a stopped or frozen process, a cut link; default
                         6s); 0 turns the ranks' watch off, for a debugger that stops
                         a rank (hosts keep 6s)
  --version              print gorun's version
  -h, --help             print this help

Environment of each rank: GORUN_RANK, GORUN_SIZE, GORUN_LOCAL_RANK,
GORUN_LOCAL_SIZE (like OMPI_COMM_WORLD_RANK and friends), GORUN_HOST, so any
program, a shell script included, can run under gorun. Programs using package
comm also run under "srun -n N ./prog" without gorun.

Oversubscription: on one machine gorun starts any number of ranks (as MPICH's
mpiexec does); when ranks outnumber CPUs they wait for messages by yielding
the CPU instead of polling. They are bound, consecutive ranks sharing a
core, when every core gets the same number of them, and not bound
otherwise.

Exit status: 0 when every rank exits 0; otherwise the first failing rank's
exit code (128+N if killed by signal N; 1 when a rank that uses comm stops
heartbeating, exits without Close, or exits before Init while others wait
for it), 124 on --timeout, 125 for a deadlock (--deadlock-timeout), 128+N
when gorun itself gets signal N, 2 for a usage error.

Without -H, --hostfile or a Slurm allocation, the hostfile named by
OMPI_MCA_orte_default_hostfile or HYDRA_HOST_FILE is used (as mpirun does
under the Kubeflow MPI Operator).
`

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// durationFlag is a positive duration given in seconds (30, 1.5) or as a
// Go duration (90s, 2m). With allowZero, 0 is accepted too (it turns
// something off).
type durationFlag struct {
	d         time.Duration
	allowZero bool
}

// Bounds of durationFlag: shorter values are typing mistakes, longer ones
// overflow.
const (
	minDuration = time.Millisecond
	maxDuration = 100 * 365 * 24 * time.Hour
)

func (f *durationFlag) String() string { return f.d.String() }
func (f *durationFlag) Set(v string) error {
	var d time.Duration
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(secs) || math.IsInf(secs, 0) {
			return fmt.Errorf("%q is not a duration (try 30, 30s or 2m)", v)
		}
		if secs > maxDuration.Seconds() {
			return fmt.Errorf("%q is too long (at most %v)", v, maxDuration)
		}
		d = time.Duration(secs * float64(time.Second))
		if secs > 0 && d < minDuration {
			return fmt.Errorf("%q is too short (at least %v)", v, minDuration)
		}
		if secs < 0 || secs == 0 && !f.allowZero {
			return fmt.Errorf("%q: must be positive", v)
		}
	} else {
		d, err = time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration (try 30, 30s or 2m)", v)
		}
		if d < 0 || d == 0 && !f.allowZero {
			return fmt.Errorf("%q: must be positive", v)
		}
		if d > 0 && d < minDuration {
			return fmt.Errorf("%q is too short (at least %v)", v, minDuration)
		}
		if d > maxDuration {
			return fmt.Errorf("%q is too long (at most %v)", v, maxDuration)
		}
	}
	f.d = d
	return nil
}

// stallFlag is --stall-report D[,stacks].
type stallFlag struct {
	d      time.Duration
	stacks bool
}

func (f *stallFlag) String() string { return f.d.String() }
func (f *stallFlag) Set(v string) error {
	d, rest, _ := strings.Cut(v, ",")
	switch rest {
	case "":
	case "stacks":
		f.stacks = true
	default:
		return fmt.Errorf("%q: expected a duration, optionally followed by ,stacks", v)
	}
	var df durationFlag
	if err := df.Set(d); err != nil {
		return err
	}
	f.d = df.d
	return nil
}

// statsFlag is --stats (a table at the end of the job: "text") or
// --stats=json:FILE.
type statsFlag string

func (f *statsFlag) String() string   { return string(*f) }
func (f *statsFlag) IsBoolFlag() bool { return true }
func (f *statsFlag) Set(v string) error {
	switch {
	case v == "true":
		*f = "text"
	case v == "false":
		*f = ""
	case strings.HasPrefix(v, "json:") && len(v) > len("json:"):
		*f = statsFlag(v)
	default:
		return fmt.Errorf("%q: expected --stats or --stats=json:FILE", v)
	}
	return nil
}

// usageError ends gorun with status 2 and a one-line message.
func usageError(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gorun: "+format+" (see gorun --help)\n", args...)
	os.Exit(2)
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "info":
			os.Exit(info(os.Args[2:]))
		case "agent":
			os.Exit(agent(os.Args[2:]))
		}
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("gorun", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	np := fs.Int("np", 0, "")
	fs.IntVar(np, "n", 0, "")
	tag := fs.Bool("tag-output", false, "")
	var timeout durationFlag
	fs.Var(&timeout, "timeout", "")
	var envs multiFlag
	fs.Var(&envs, "x", "")
	oversub := fs.Bool("oversubscribe", false, "")
	check := fs.Bool("check", false, "")
	var ro remoteFlags
	ro.register(fs)
	bindTo := fs.String("bind-to", "", "")
	mapBy := fs.String("map-by", "", "")
	report := fs.Bool("report-bindings", false, "")
	var stall stallFlag
	fs.Var(&stall, "stall-report", "")
	deadlock := durationFlag{allowZero: true}
	fs.Var(&deadlock, "deadlock-timeout", "")
	var stats statsFlag
	fs.Var(&stats, "stats", "")
	traceFile := fs.String("trace", "", "")
	transport := fs.String("transport", "", "")
	version := fs.Bool("version", false, "")
	fs.BoolVar(version, "V", false, "")
	help := fs.Bool("help", false, "")
	fs.BoolVar(help, "h", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Print(usageText)
			return 0
		}
		usageError("%v", err)
	}
	if *help {
		fmt.Print(usageText)
		return 0
	}
	if *version {
		fmt.Printf("gorun %s (%s, %s/%s)\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	}
	if fs.NArg() == 0 {
		usageError("no program given")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if (set["np"] || set["n"]) && *np < 1 {
		usageError("-np must be at least 1, not %d", *np)
	}
	if *np > hosts.MaxRanks {
		usageError("-np %d: at most %d ranks are supported", *np, hosts.MaxRanks)
	}
	plan, err := ro.plan(set, *np, *mapBy, *oversub)
	if err != nil {
		usageError("%v", err)
	}
	if plan != nil {
		*np = plan.np
	}
	if *np == 0 {
		*np = runtime.NumCPU()
	}
	var env []string
	// The transport comes from --transport, else from -x GORUN_TRANSPORT,
	// else from gorun's own environment (as mpirun takes OMPI_MCA_*
	// from its environment and passes it to every host's ranks).
	transportFrom := "--transport"
	for _, x := range envs {
		name, val, hasVal := strings.Cut(x, "=")
		if name == "" || strings.ContainsAny(name, " \t") {
			usageError("-x %q: expected VAR or VAR=VALUE", x)
		}
		if !hasVal {
			v, ok := os.LookupEnv(name)
			if !ok {
				continue // mpirun forwards nothing for an unset variable
			}
			val = v
		}
		if name == "GORUN_TRANSPORT" {
			if !set["transport"] {
				*transport, transportFrom = val, "-x GORUN_TRANSPORT="
			}
			continue
		}
		env = append(env, name+"="+val)
	}
	if v, ok := os.LookupEnv("GORUN_TRANSPORT"); ok && *transport == "" && !set["transport"] {
		*transport, transportFrom = v, "GORUN_TRANSPORT="
	}
	switch *transport {
	case "":
	case "auto", "shm", "tcp":
		env = append(env, "GORUN_TRANSPORT="+*transport)
	default:
		if transportFrom == "--transport" {
			usageError("--transport %q: expected auto, shm or tcp", *transport)
		}
		usageError("%s%q: expected auto, shm or tcp", transportFrom, *transport)
	}
	if *transport == "shm" && plan != nil {
		if names := planHosts(plan); len(names) > 1 {
			usageError("transport shm: the ranks are on %d hosts (%s), and shared memory links only the ranks of one host; use auto or tcp",
				len(names), strings.Join(names, ", "))
		}
	}
	if *check {
		env = append(env, "GORUN_CHECK=1")
	}
	tmp, err := os.MkdirTemp(buildDir(plan), ".gorun-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "gorun: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	var prog string
	if plan != nil && ro.remoteProgram != "" {
		prog = ro.remoteProgram
	} else {
		prog, err = launcher.Resolve(fs.Arg(0), tmp, nil)
	}
	if err != nil {
		if errors.Is(err, launcher.ErrNotFound) || errors.Is(err, launcher.ErrNotMain) {
			fmt.Fprintf(os.Stderr, "gorun: %v\n", err)
			return 2
		}
		fmt.Fprintf(os.Stderr, "gorun: %v\n", err)
		return 1
	}
	job := launcher.Job{
		NP: *np, Program: prog, Args: fs.Args()[1:], Env: env,
		TagOutput: *tag, Timeout: timeout.d, ReportBindings: *report,
		MapBy: *mapBy, BindTo: *bindTo,
		Stdin: os.Stdin, HandleSignals: true,
		HeartbeatTimeout: ro.hbTimeout.d,
		Observe:          launcher.Observe{StallReport: stall.d, Stacks: stall.stacks, DeadlockTimeout: deadlock.d, Stats: string(stats), Trace: *traceFile},
	}
	if set["deadlock-timeout"] && deadlock.d == 0 {
		job.Observe.DeadlockTimeout = -1 // off
	}
	if set["heartbeat-timeout"] && ro.hbTimeout.d == 0 {
		job.HeartbeatTimeout = -1 // off: for a debugger that stops a rank
	}
	if job.MapBy, err = checkBindings(*np, *mapBy, *bindTo, plan == nil); err != nil {
		usageError("%v", err)
	}
	if plan != nil {
		code, err := launcher.RunRemote(context.Background(), job, plan.remote)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gorun: %v\n", err)
		}
		return code
	}
	code, err := launcher.Run(context.Background(), job)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gorun: %v\n", err)
	}
	return code
}

// checkBindings checks --map-by and --bind-to. Each host's agent plans
// its ranks' CPU sets; locally the plan is made here first too, so that an
// impossible one (more ranks than cores with --bind-to core) is a usage
// error before anything starts; so is binding on a system without it
// (affinity.Supported false). It returns the --map-by policy for binding
// ("node" only orders ranks over hosts).
func checkBindings(np int, mapBy, bindTo string, local bool) (string, error) {
	switch mapBy {
	case "node":
		mapBy = ""
	case "", "slot", "core", "numa", "package":
	default:
		return "", fmt.Errorf("--map-by %q: expected slot, node, core, numa or package", mapBy)
	}
	switch bindTo {
	case "", affinity.BindCore, affinity.BindCoreOverload, affinity.BindHWThread, affinity.BindL3,
		affinity.BindNUMA, affinity.BindPackage, affinity.BindNone:
	default:
		return "", fmt.Errorf("--bind-to %q: expected core, core:overload-allowed, hwthread, l3, numa, package or none", bindTo)
	}
	if !local || bindTo == "" || bindTo == "none" {
		return mapBy, nil
	}
	if !affinity.Supported {
		return "", fmt.Errorf("--bind-to %s: %w (use --bind-to none)", bindTo, affinity.ErrUnsupported)
	}
	topo, err := topology.Detect()
	if err != nil {
		return "", fmt.Errorf("--bind-to %s: cannot read the topology: %v", bindTo, err)
	}
	_, err = affinity.Plan(topo, np, mapBy, bindTo)
	return mapBy, err
}

func info(args []string) int {
	fs := flag.NewFlagSet("gorun info", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil {
		usageError("info: %v", err)
	}
	t, err := topology.Detect()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gorun: info: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(t); err != nil {
			return 1
		}
		return 0
	}
	if err := t.WriteText(os.Stdout); err != nil {
		return 1
	}
	return 0
}

// agent runs gorun's per-host agent on standard input and output (the
// stream an ssh session gives). It is started by gorun, not by users.
//
// Remote agents (gorun agent --heartbeat D ...) ping gorun and give up on it
// when it falls silent; with --connect ADDR they dial gorun over TCP (under
// srun) and authenticate with the key in $GORUN_AGENT_KEY.
func agent(args []string) int {
	fs := flag.NewFlagSet("gorun agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	host := fs.String("host", "", "")
	var hb, hbTimeout durationFlag
	fs.Var(&hb, "heartbeat", "")
	fs.Var(&hbTimeout, "heartbeat-timeout", "")
	connect := fs.String("connect", "", "")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "gorun agent: %v\n", err)
		return 2
	}
	if *host == "" {
		*host = os.Getenv("SLURMD_NODENAME")
	}
	if *host == "" {
		*host, _ = os.Hostname()
	}
	if len(args) == 0 {
		// The in-process style agent of earlier versions: no heartbeats.
		err := launcher.RunAgent(context.Background(), stdio{}, *host)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gorun agent on %s: %v\n", *host, err)
			return 1
		}
		return 0
	}
	key := os.Getenv(launcher.AgentKeyEnv)
	os.Unsetenv(launcher.AgentKeyEnv) // never passed on to the ranks
	opts := launcher.AgentOptions{Host: *host, Heartbeat: hb.d, Timeout: hbTimeout.d, Hello: true}
	var rw io.ReadWriteCloser = stdio{}
	if *connect != "" {
		k, err := hex.DecodeString(key)
		if err != nil || len(k) == 0 {
			fmt.Fprintf(os.Stderr, "gorun agent on %s: $%s is missing or malformed\n", *host, launcher.AgentKeyEnv)
			return 1
		}
		h, port, err := net.SplitHostPort(*connect)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gorun agent on %s: --connect %q: %v\n", *host, *connect, err)
			return 2
		}
		if h == "" || h == "0.0.0.0" || h == "::" {
			h = os.Getenv("SLURM_LAUNCH_NODE_IPADDR")
		}
		c, err := launcher.DialHead(net.JoinHostPort(h, port), k)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gorun agent on %s: cannot reach gorun at %s: %v\n", *host, net.JoinHostPort(h, port), err)
			return 1
		}
		opts.HeadIP = h
		rw = c
	}
	if err := launcher.RunAgentOptions(context.Background(), rw, opts); err != nil {
		fmt.Fprintf(os.Stderr, "gorun agent on %s: %v\n", *host, err)
		return 1
	}
	return 0
}

type stdio struct{}

func (stdio) Read(b []byte) (int, error)  { return os.Stdin.Read(b) }
func (stdio) Write(b []byte) (int, error) { return os.Stdout.Write(b) }
func (stdio) Close() error                { os.Stdin.Close(); return os.Stdout.Close() }
