package affinity_test

import "golang.org/x/sys/unix"

func gettid() int { return unix.Gettid() }
