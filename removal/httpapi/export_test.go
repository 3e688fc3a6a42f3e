package httpapi

import "bytes"

// For the differential check in FuzzDecodeRequest: the body decoder, and
// the encoding/json one alone on a whole body (a body of white space only,
// as bytes.TrimSpace sees it, being empty).
var (
	DecodeNumbers = decodeNumbers
	ErrTooMany    = errTooMany
)

func SlowNumbers(body []byte) ([]string, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	return slowNumbers(bytes.NewReader(body))
}
