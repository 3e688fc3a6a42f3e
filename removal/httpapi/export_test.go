package httpapi

// Exported for the differential check in FuzzDecodeRequest.
var (
	FastNumbers = fastNumbers
	SlowNumbers = slowNumbers
)
