// Package ocnumbers runs the removal workflow of Microsoft Teams Operator
// Connect telephone numbers, for Go services that embed it.
//
// The module is split the way its dependencies are:
//
//   - e164: strict, allocation-free E.164 parsing and validation.
//   - removal: the pure domain — statuses, the transition table, batch
//     rules, results, the summary, and the Service that applies them
//     through a narrow store port.
//   - removal/httpapi: net/http handlers for the platform's three endpoints.
//   - store: the contract every backend implements; store/storetest is the
//     conformance suite that every backend runs.
//   - memstore: a concurrency-safe in-memory backend, for host applications'
//     tests and small deployments.
//   - sqlstore: the SQL backend on SQLite (embedded default) and PostgreSQL.
//
// The examples folder holds runnable programs: quickstart (a library walk
// through) and server (the HTTP API on SQLite by default).
package ocnumbers
