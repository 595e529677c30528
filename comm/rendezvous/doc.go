// Package rendezvous is gorun's tiny key/value store for wiring up a job.
//
// Each rank publishes its listening address under a key and waits for the
// others' keys; the launcher also uses the store to tell every rank that the
// job is being aborted. A Store has three operations: Set, Get (which waits
// until the key exists, bounded by a context) and Add (an atomic counter).
//
// Three implementations share the interface: Mem (in memory, for tests and
// for the server's own state), Server/Client (over TCP, where every
// connection first proves knowledge of the job secret with the handshake of
// comm/internal/wire), and Prefix (a namespace over another store).
package rendezvous
