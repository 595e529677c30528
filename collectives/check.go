package collectives

import "errors"

// ErrMismatch reports a collective call whose ranks disagree: a message of
// another size than the call expects (a count, block size or element size
// that differs between ranks), or, with checking on (see Check), any
// difference in the call's kind, root, count, element type, operation,
// algorithm or position in the communicator's sequence of collectives.
var ErrMismatch = errors.New("collectives: ranks disagree on a collective call")
