// Package accept runs the accept loops of gorun's listeners (a rank's
// listener for its peers, the rendezvous store's server). Accept can fail
// for reasons that pass: the process ran out of descriptors (EMFILE,
// ENFILE) during a burst of connections, or a client gave up before it was
// accepted (ECONNABORTED). A loop that returned on such an error would stop
// the listener for good, silently. Loop logs the first failure of a run of
// failures, retries with a backoff, and stops only once the listener is
// closed.
package accept
