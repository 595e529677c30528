package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/gorun-hpc/gorun/launcher"
	"github.com/gorun-hpc/gorun/launcher/hosts"
)

// remoteFlags are the flags of multi-host jobs.
type remoteFlags struct {
	hostfile      string
	hostList      multiFlag
	launcherName  string
	launcherExec  string
	wdir          string
	remoteGorun   string
	remoteProgram string
	iface, subnet string
	hbTimeout     durationFlag
}

func (r *remoteFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.hostfile, "hostfile", "", "")
	fs.StringVar(&r.hostfile, "machinefile", "", "")
	fs.Var(&r.hostList, "H", "")
	fs.Var(&r.hostList, "host", "")
	fs.StringVar(&r.launcherName, "launcher", "", "")
	fs.StringVar(&r.launcherExec, "launcher-exec", "", "")
	fs.StringVar(&r.wdir, "wdir", "", "")
	fs.StringVar(&r.remoteGorun, "remote-gorun", "", "")
	fs.StringVar(&r.remoteProgram, "remote-program", "", "")
	fs.StringVar(&r.iface, "iface", "", "")
	fs.StringVar(&r.subnet, "net", "", "")
	r.hbTimeout.allowZero = true
	fs.Var(&r.hbTimeout, "heartbeat-timeout", "")
}

// hostfileEnv names the variables whose hostfile gorun uses when given no
// hosts outside a Slurm allocation, first match first: Open MPI's and
// Hydra's (MPICH, Intel MPI).
var hostfileEnv = []string{"OMPI_MCA_orte_default_hostfile", "OMPI_MCA_prte_default_hostfile", "PRTE_MCA_prte_default_hostfile", "HYDRA_HOST_FILE"}

type remotePlan struct {
	np     int
	remote launcher.Remote
}

func inSlurm(getenv func(string) string) bool {
	return getenv("SLURM_JOB_ID") != "" && (getenv("SLURM_JOB_NODELIST") != "" || getenv("SLURM_NODELIST") != "") &&
		getenv("SLURM_TASKS_PER_NODE") != ""
}

// plan decides whether the job runs on remote hosts and, if so, where each
// rank goes. A nil plan means local mode.
func (r *remoteFlags) plan(set map[string]bool, np int, mapBy string, oversub bool) (*remotePlan, error) {
	envOr := func(v *string, name string) {
		if *v == "" {
			*v = os.Getenv(name)
		}
	}
	if set["launcher-exec"] && strings.TrimSpace(r.launcherExec) == "" {
		return nil, fmt.Errorf("--launcher-exec is empty: give the command that reaches a host (such as ssh)")
	}
	envOr(&r.launcherExec, "GORUN_LAUNCHER_EXEC")
	envOr(&r.remoteGorun, "GORUN_REMOTE_GORUN")
	envOr(&r.iface, "GORUN_IFACE")
	envOr(&r.subnet, "GORUN_NET")
	envOr(&r.launcherName, "GORUN_LAUNCHER")
	if r.hostfile != "" && len(r.hostList) > 0 {
		return nil, fmt.Errorf("give either --hostfile or -H, not both")
	}
	switch r.launcherName {
	case "", "ssh", "slurm", "local":
	default:
		return nil, fmt.Errorf("--launcher %q: expected ssh, slurm or local", r.launcherName)
	}
	if r.iface != "" && r.subnet != "" {
		return nil, fmt.Errorf("give either --iface or --net, not both")
	}
	var hs []hosts.Host
	var err error
	hostfileFlag := "--hostfile"
	if r.hostfile == "" && len(r.hostList) == 0 && r.launcherName != "local" && !inSlurm(os.Getenv) {
		// As mpirun does under the Kubeflow MPI Operator (and wherever
		// these are set): the hostfile the environment names.
		for _, name := range hostfileEnv {
			if v := os.Getenv(name); v != "" {
				r.hostfile, hostfileFlag = v, "$"+name
				break
			}
		}
	}
	switch {
	case r.hostfile != "":
		f, ferr := os.Open(r.hostfile)
		if ferr != nil {
			return nil, fmt.Errorf("%s: %v", hostfileFlag, ferr)
		}
		hs, err = hosts.ParseHostfile(f, r.hostfile)
		f.Close()
		if err == nil && len(hs) == 0 {
			err = fmt.Errorf("hostfile %s lists no hosts", r.hostfile)
		}
	case len(r.hostList) > 0:
		hs, err = hosts.ParseHostList(strings.Join(r.hostList, ","))
	case r.launcherName == "local":
		return nil, nil
	case inSlurm(os.Getenv):
		hs, err = hosts.FromSlurmEnv(os.Getenv)
		if err != nil {
			err = fmt.Errorf("reading the Slurm allocation: %v", err)
		}
	case r.launcherName == "ssh":
		return nil, fmt.Errorf("--launcher ssh needs hosts: give --hostfile or -H")
	case r.launcherName == "slurm":
		return nil, fmt.Errorf("--launcher slurm: not inside a Slurm allocation (SLURM_JOB_ID, SLURM_JOB_NODELIST and SLURM_TASKS_PER_NODE are not all set)")
	default:
		return nil, nil // local mode
	}
	if err != nil {
		return nil, err
	}
	if r.launcherName == "local" {
		return nil, fmt.Errorf("--launcher local cannot run on the hosts of --hostfile or -H")
	}
	name := r.launcherName
	if name == "" {
		name = "ssh"
		if inSlurm(os.Getenv) {
			name = "slurm"
		}
	}
	if name == "slurm" && !inSlurm(os.Getenv) {
		return nil, fmt.Errorf("--launcher slurm: not inside a Slurm allocation (SLURM_JOB_ID, SLURM_JOB_NODELIST and SLURM_TASKS_PER_NODE are not all set)")
	}
	if !set["np"] && !set["n"] {
		np = hosts.TotalSlots(hs)
		if np < 1 {
			return nil, fmt.Errorf("the hosts provide no slots; give -np")
		}
	}
	switch mapBy {
	case "", "slot", "node", "byslot", "bynode":
	default:
		return nil, fmt.Errorf("--map-by %q: with several hosts, expected slot or node", mapBy)
	}
	places, err := hosts.Map(hs, np, hosts.MapOptions{By: mapBy, Oversubscribe: oversub})
	if err != nil {
		return nil, err
	}
	p := &remotePlan{np: np}
	idx := map[int]int{} // host index -> index in p.remote.Hosts
	for _, pl := range places {
		i, ok := idx[pl.HostIndex]
		if !ok {
			i = len(p.remote.Hosts)
			idx[pl.HostIndex] = i
			p.remote.Hosts = append(p.remote.Hosts, launcher.HostRanks{Name: pl.Host})
		}
		over := pl.LocalSize > hs[pl.HostIndex].Slots
		p.remote.Hosts[i].Ranks = append(p.remote.Hosts[i].Ranks,
			launcher.RankPlace{Rank: pl.Rank, LocalRank: pl.LocalRank, LocalSize: pl.LocalSize, Oversubscribed: over})
	}
	p.remote.Launcher = name
	if r.launcherExec != "" {
		p.remote.Exec = strings.Fields(r.launcherExec)
		if len(p.remote.Exec) == 0 {
			return nil, fmt.Errorf("--launcher-exec is empty")
		}
	}
	p.remote.Gorun = r.remoteGorun
	p.remote.Dir = r.wdir
	p.remote.DirRequired = r.wdir != ""
	p.remote.Iface, p.remote.Net = r.iface, r.subnet
	p.remote.HeartbeatTimeout = r.hbTimeout.d
	return p, nil
}

// buildDir is where a Go package program is built: the system's temporary
// directory for local jobs; for jobs on other hosts, the current directory
// (usually on a shared file system, unlike /tmp), if it is writable.
func buildDir(p *remotePlan) string {
	if p == nil {
		return ""
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	f, err := os.CreateTemp(wd, ".gorun-probe-")
	if err != nil {
		return ""
	}
	f.Close()
	os.Remove(f.Name())
	return wd
}

// planHosts lists the distinct hosts that run ranks in plan, in plan
// order, with every name of this machine (localhost, its host name)
// counted once as the first of them.
func planHosts(plan *remotePlan) []string {
	var names []string
	seen, local := map[string]bool{}, false
	for _, h := range plan.remote.Hosts {
		if len(h.Ranks) == 0 {
			continue
		}
		if launcher.IsLocalHost(h.Name) {
			if local {
				continue
			}
			local = true
		}
		if !seen[h.Name] {
			seen[h.Name] = true
			names = append(names, h.Name)
		}
	}
	return names
}
