// Package wire defines gorun's binary frame header and connection handshake.
//
// The formats are specified byte by byte in comm/PROTOCOL.md. Everything here
// is plain data and pure functions (stdlib only): safe for concurrent use.
// Decoders never panic on arbitrary input; they return an error that says
// what was wrong, and whatever decodes re-encodes to the same bytes.
package wire
