package comm

// SetReaderSleepHook sets (nil: clears) a function that every
// shared-memory link's reader calls just before it sleeps on its channel,
// with its rank, its peer and whether it processed frames since its last
// sleep. Set it before the world starts and clear it after it is closed.
func SetReaderSleepHook(h func(rank, peer int, handled bool)) { testHookReaderSleep = h }
