//go:build race

package main

// raceEnabled makes the e2e binary race-instrumented too, so that a race in
// the server fails its test (exit status 66 at SIGTERM).
const raceEnabled = true
