package comm

// KillLinks drops every connection of c's process without saying goodbye,
// as if the process had died, for tests of peer loss.
func KillLinks(c *Comm) {
	e := c.e
	e.mu.Lock()
	links := append([]link(nil), e.links...)
	e.mu.Unlock()
	for _, l := range links {
		if l != nil {
			l.close()
		}
	}
}
