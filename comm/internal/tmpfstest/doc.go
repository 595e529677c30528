// Package tmpfstest runs a test again inside a private mount namespace
// with a small tmpfs mounted, so that a shared-memory segment or window
// that does not fit fails for real (ErrNoSpace from fallocate) and the
// fallback paths can be tested. It is for the tests of comm and its
// internal packages only.
//
// A test uses it in two halves:
//
//	func TestX(t *testing.T) {
//		if dir := tmpfstest.Dir(); dir != "" {
//			// In the namespace: dir is the small tmpfs.
//			...
//			return
//		}
//		tmpfstest.Rerun(t, "1M", time.Minute)
//	}
//
// Rerun needs root (for mount) and unshare(1); where either is missing,
// or the kernel refuses a mount namespace, the test skips.
package tmpfstest
