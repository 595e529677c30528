//go:build !linux || gorun_portable

package comm

// ShmAvailable reports whether this build of comm offers the
// shared-memory transport (Config.Transport "shm", and "auto" between
// ranks of one host): false here, on a system other than Linux or on
// Linux built with -tags gorun_portable, which is the build that runs
// what such systems run. Every pair uses TCP, and Config.Validate (so
// Connect and Init) refuses a forced "shm".
const ShmAvailable = false
