package npb

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gorun-hpc/gorun/comm"
)

// Main is the common main of the NPB ports. It parses -class (one of the
// letters in classes), joins the job, runs run with standard output, closes
// the world and exits: 2 for an unknown class or a rank count the kernel
// refuses (an error wrapping errRanks, which may be nil; reported by rank 0
// only), 1 for any other error or a failed verification, 0 otherwise. name
// prefixes error messages. It does not return.
func Main(name, classes string, errRanks error, run func(ctx context.Context, c *comm.Comm, class byte, out io.Writer) (verified bool, err error)) {
	letters := strings.Split(classes, "")
	usage := strings.Join(letters[:len(letters)-1], ", ") + " or " + letters[len(letters)-1]
	classFlag := flag.String("class", "S", "problem class: "+usage)
	flag.Parse()
	class, err := ParseClass(*classFlag, classes)
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(2)
	}
	c, err := comm.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
	verified, err := run(context.Background(), c, class, os.Stdout)
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if errRanks != nil && errors.Is(err, errRanks) {
		if c.Rank() == 0 {
			fmt.Fprintln(os.Stderr, name+":", err)
		}
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
	if !verified {
		os.Exit(1)
	}
	os.Exit(0)
}
