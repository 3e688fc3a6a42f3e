// Package removal is the pure domain of the Operator Connect number-removal
// workflow: the four statuses, the transition table, the batch rules, the
// per-number outcomes, the summary, and the Service that applies them through
// a narrow storage port (Store). It does no I/O of its own and imports no
// database or HTTP package.
//
// # Workflow
//
// A number is Active while in service. The operator may request its release
// (ReleaseRequested) and withdraw that request. A number found missing from
// the Operator Connect acquired-numbers list is MarkedForRemoval (from Active
// or ReleaseRequested). A marked number is either cleared back to Active or
// confirmed ReadyForRemoval, from which nothing moves it: the only way out is
// deletion of the record. CanTransition holds the table; every other pair,
// self-transitions included, is refused.
//
// # Batch actions
//
// Every batch action (ClearRemovalStatus, MarkReadyForRemoval,
// MarkForRemoval, RequestRelease, WithdrawReleaseRequest) first validates the
// whole request: not nil, 1 to MaxBatchSize numbers, each strict E.164 (see
// package e164), none twice. A failure returns a *ValidationError listing
// every problem (field, index, value), matching ErrInvalidRequest, with the
// zero BatchResult; nothing changes. Then each number, in request order and
// atomically, gets exactly one outcome: NumberNotFound, NotOperatorConnect,
// InvalidStatus (with the current status), or success (new status, change
// time from the Service's clock).
//
// # Decisions the rules above leave open
//
//   - A duplicate number is a validation error reported at its second
//     position, naming both positions.
//   - A batch of the wrong size (0 or more than MaxBatchSize) is reported
//     alone; its elements are not examined.
//   - Validation runs before the context is checked: an invalid request is
//     reported as invalid even when the context is already done.
//   - Cancellation is observed before anything is applied and then at least
//     every ChunkSize (50) numbers; the store decides the exact boundaries.
//     The partial result covers exactly the numbers applied.
//   - Status change times are UTC with microsecond precision, the precision
//     every backend keeps.
//   - ParseStatus accepts the names, the spaced forms of the platform's list
//     API, any letter case, and the single digits 0 to 3; nothing else (no
//     surrounding space, no "02").
//   - Tenant IDs are hyphenated GUIDs in any letter case, optionally in one
//     pair of braces; ParseTenantID returns them lower case without braces.
//   - A Service refuses an Action whose moves the transition table forbids,
//     and reports ErrStoreContract when a store claims an outcome the rules
//     do not allow, so a broken backend cannot pass silently.
package removal
