package main

import (
	"embed"
)

// The help texts are plain text in help/, one per command, so that they read and are edited
// as the user sees them; a command's flags follow its text, listed by the flag package.
//
//go:embed help/*.txt
var helpTexts embed.FS

// usage returns the help text of a command, or of ntpwatch itself.
func usage(name string) string {
	b, err := helpTexts.ReadFile("help/" + name + ".txt")
	if err != nil {
		panic("no help text for " + name) // a command without its file is a build mistake
	}
	return string(b)
}
