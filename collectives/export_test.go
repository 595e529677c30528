package collectives

// ReloadEnv makes the package read its GORUN_COLL_* environment variables
// again, for tests that change them.
func ReloadEnv() { loadEnv() }
