package rendezvous

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// The agent link is a stream socket between a rank and the gorun agent
// that started it (the agent passes its end's number in AgentFDEnv). Each
// message is one line of text, "KIND" or "KIND ARG", at most MaxLinkLine
// bytes with the newline. A rank that uses comm says LinkInit when Init
// starts, LinkReady when it returns a communicator, LinkBeat every
// interval of HeartbeatEnv while it runs, and LinkClosed when Close has
// finished; the agent may say LinkAbort (ARG: the reason) while the rank
// is in Init. Programs that never use comm say nothing.
const (
	// AgentFDEnv names the environment variable that holds the file
	// descriptor of a rank's end of its agent link.
	AgentFDEnv = "GORUN_AGENT_FD"
	// HeartbeatEnv names the environment variable that holds the
	// heartbeat interval (a Go duration); unset or "0": no heartbeats.
	HeartbeatEnv = "GORUN_HEARTBEAT"
	// MaxLinkLine bounds one message of the agent link, newline included.
	MaxLinkLine = 1024
)

// LinkKind is the kind of an agent link message.
type LinkKind string

// The kinds of agent link messages.
const (
	LinkInit   LinkKind = "init"   // rank → agent: Init started; ARG is the process id
	LinkReady  LinkKind = "ready"  // rank → agent: Init returned a communicator
	LinkBeat   LinkKind = "beat"   // rank → agent: still alive
	LinkClosed LinkKind = "closed" // rank → agent: Close finished
	LinkAbort  LinkKind = "abort"  // agent → rank: the job is aborted; ARG is why
)

// ErrBadLink is wrapped by ParseLink for a malformed message.
var ErrBadLink = errors.New("rendezvous: malformed agent link message")

// FormatLink encodes one agent link message. Newlines and other control
// characters in arg become spaces, and arg is cut so that the line fits in
// MaxLinkLine.
func FormatLink(kind LinkKind, arg string) []byte {
	b := make([]byte, 0, len(kind)+len(arg)+2)
	b = append(b, kind...)
	if arg != "" {
		b = append(b, ' ')
		room := MaxLinkLine - 1 - len(b)
		for _, c := range []byte(arg) {
			if room == 0 {
				break
			}
			if c < ' ' || c == 0x7f {
				c = ' '
			}
			b = append(b, c)
			room--
		}
	}
	return append(b, '\n')
}

// ParseLink decodes one agent link message (with or without its newline).
// An unknown kind, a missing or unexpected argument, a control character
// or a line longer than MaxLinkLine is an error wrapping ErrBadLink.
func ParseLink(line []byte) (LinkKind, string, error) {
	if len(line) > MaxLinkLine {
		return "", "", fmt.Errorf("%w: %d bytes (at most %d)", ErrBadLink, len(line), MaxLinkLine)
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	for _, c := range line {
		if c < ' ' || c == 0x7f {
			return "", "", fmt.Errorf("%w: control character %q", ErrBadLink, c)
		}
	}
	k, arg, hasArg := strings.Cut(string(line), " ")
	kind := LinkKind(k)
	switch kind {
	case LinkInit:
		if !hasArg || arg == "" || strings.Trim(arg, "0123456789") != "" || len(arg) > 10 {
			return "", "", fmt.Errorf("%w: init wants a process id, got %q", ErrBadLink, arg)
		}
	case LinkAbort:
	case LinkReady, LinkBeat, LinkClosed:
		if hasArg {
			return "", "", fmt.Errorf("%w: %s takes no argument", ErrBadLink, kind)
		}
	default:
		return "", "", fmt.Errorf("%w: unknown kind %.32q", ErrBadLink, k)
	}
	return kind, arg, nil
}
