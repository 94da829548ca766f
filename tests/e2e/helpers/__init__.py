"""Page helpers shared by the browser tests: one module per page, the selectors and waits its tests use."""
