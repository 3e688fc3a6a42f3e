package removal

// ParseTenantID checks a Microsoft tenant ID and returns it in canonical form:
// the hyphenated 8-4-4-4-12 GUID in lower case, without braces. Accepted input
// is that form in any letter case, optionally wrapped in one pair of braces.
// The error is a *ValidationError with code InvalidTenantId and the
// platform's wording ("msTenantId has not a Guid format").
func ParseTenantID(s string) (string, error) {
	g := s
	if len(g) == 38 && g[0] == '{' && g[37] == '}' {
		g = g[1:37]
	}
	if len(g) != 36 {
		return "", tenantError(s)
	}
	var out [36]byte
	for i := 0; i < 36; i++ {
		c := g[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", tenantError(s)
			}
		default:
			switch {
			case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
			case c >= 'A' && c <= 'F':
				c += 'a' - 'A'
			default:
				return "", tenantError(s)
			}
		}
		out[i] = c
	}
	return string(out[:]), nil
}

// TenantIDMessage is the platform's own detail text for a bad tenant ID.
const TenantIDMessage = "msTenantId has not a Guid format"

func tenantError(s string) error {
	return &ValidationError{Problems: []Problem{{
		Field: "msTenantId", Index: -1, Value: s, Code: CodeInvalidTenantID,
		Message: TenantIDMessage + ": " + quote(s),
	}}}
}
