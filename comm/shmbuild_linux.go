//go:build linux && !gorun_portable

package comm

// ShmAvailable reports whether this build of comm offers the
// shared-memory transport (Config.Transport "shm", and "auto" between
// ranks of one host): true on Linux. Elsewhere, and on Linux built with
// -tags gorun_portable, it is false: every pair uses TCP, and
// Config.Validate refuses a forced "shm".
const ShmAvailable = true
