package main

import _ "embed" // the help texts

// The help texts are plain text in help/, one per command, so that they read and are edited
// as the user sees them; a command's flags follow its text, listed by the flag package. A
// missing file is a build error.
var (
	//go:embed help/ntpwatch.txt
	ntpwatchUsage string
	//go:embed help/read.txt
	readUsage string
	//go:embed help/live.txt
	liveUsage string
	//go:embed help/flow.txt
	flowUsage string
	//go:embed help/aggregate.txt
	aggregateUsage string
)
