package removal

import (
	"context"
	"unicode/utf8"
)

// Audit says who made a change and under which trace. Stores record it in
// every history event they write for a call whose context carries it.
type Audit struct {
	TraceID string // the request's trace id; "" when unknown
	Actor   string // who asked, as the host application names them; "" when unknown
}

// Bounds of the audit values a store records; longer values are cut at a
// UTF-8 boundary.
const (
	MaxTraceIDBytes = 64
	MaxActorBytes   = 256
)

type auditKey struct{}

// WithAudit returns a context that carries a, with each value cut to its
// bound (MaxTraceIDBytes, MaxActorBytes).
func WithAudit(ctx context.Context, a Audit) context.Context {
	a.TraceID = cut(a.TraceID, MaxTraceIDBytes)
	a.Actor = cut(a.Actor, MaxActorBytes)
	return context.WithValue(ctx, auditKey{}, a)
}

// AuditFrom returns the Audit that ctx carries, or the zero Audit.
func AuditFrom(ctx context.Context) Audit {
	a, _ := ctx.Value(auditKey{}).(Audit)
	return a
}

// cut returns at most n bytes of s, never splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
