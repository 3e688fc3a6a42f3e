package e164_test

import (
	"slices"
	"testing"

	"github.com/nyaruka/phonenumbers"

	"github.com/ocnumbers/ocnumbers/e164"
)

// realisticNumbers returns 500 distinct real-looking numbers from many
// countries: libphonenumber's example numbers, round-robin over the types
// (mobile first, then fixed line, ...) and, within a type, over the regions
// in sorted order, then the non-geographic entities. It is deterministic and
// keeps only numbers of MinDigits..MaxDigits digits (the length rule), not
// what Parse happens to accept.
func realisticNumbers(tb testing.TB) []string {
	tb.Helper()
	regions := make([]string, 0, 256)
	for r := range phonenumbers.GetSupportedRegions() {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	types := []phonenumbers.PhoneNumberType{
		phonenumbers.MOBILE, phonenumbers.FIXED_LINE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.VOIP, phonenumbers.UAN,
	}
	var nonGeo []int
	for cc := range phonenumbers.GetSupportedGlobalNetworkCallingCodes() {
		nonGeo = append(nonGeo, cc)
	}
	slices.Sort(nonGeo)

	seen := map[string]bool{}
	var out []string
	add := func(pn *phonenumbers.PhoneNumber) {
		if pn == nil || len(out) == 500 {
			return
		}
		s := phonenumbers.Format(pn, phonenumbers.E164)
		if d := len(s) - 1; d < e164.MinDigits || d > e164.MaxDigits || seen[s] {
			return
		}
		seen[s] = true
		out = append(out, s)
	}
	for _, cc := range nonGeo {
		add(phonenumbers.GetExampleNumberForNonGeoEntity(cc))
	}
	for _, typ := range types {
		for _, r := range regions {
			add(phonenumbers.GetExampleNumberForType(r, typ))
		}
	}
	if len(out) != 500 {
		tb.Fatalf("only %d realistic numbers", len(out))
	}
	return out
}

// BenchmarkParse: one op is one number of the realistic set. Compare with
// BenchmarkPhonenumbersParse (the baseline) in the same run.
func BenchmarkParse(b *testing.B) {
	nums := realisticNumbers(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := e164.Parse(nums[i%len(nums)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPhonenumbersParse is the baseline: libphonenumber's parser on the
// same numbers.
func BenchmarkPhonenumbersParse(b *testing.B) {
	nums := realisticNumbers(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := phonenumbers.Parse(nums[i%len(nums)], ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseInvalid measures the failure path (reasons are built there).
func BenchmarkParseInvalid(b *testing.B) {
	bad := []string{"14255551212", "+1 425 555 1212", "+9991234567", "+4912345678901234"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := e164.Parse(bad[i%len(bad)]); err == nil {
			b.Fatal("accepted")
		}
	}
}

// BenchmarkPolicyValid shows the cost of the opt-in strict policy.
func BenchmarkPolicyValid(b *testing.B) {
	nums := realisticNumbers(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _ = e164.Valid.Parse(nums[i%len(nums)])
	}
}
