package e164_test

import (
	"errors"
	"fmt"

	"github.com/ocnumbers/ocnumbers/e164"
)

func ExampleParse() {
	n, err := e164.Parse("+14255551212")
	fmt.Println(n, err)
	// Output: +14255551212 <nil>
}

func ExampleParse_error() {
	for _, s := range []string{"14255551212", "+44 2071838750", "+4912345678901234", "+9991234567"} {
		_, err := e164.Parse(s)
		var pe *e164.Error
		if errors.As(err, &pe) {
			fmt.Println(pe.Reason)
		}
	}
	fmt.Println(e164.Parse("+1 425"))
	// Output:
	// missing leading '+'
	// contains ' ' at position 3
	// 16 digits, at most 15
	// unknown country calling code +999
	//  e164: invalid telephone number "+1 425": contains ' ' at position 2
}

func ExamplePolicy_Parse() {
	// The platform's documented example is well-formed, but not an allocated US number.
	for _, p := range []e164.Policy{e164.Syntax, e164.Possible, e164.Valid} {
		n, err := p.Parse("+14151231234")
		fmt.Printf("%-8v %q %v\n", p, n, err)
	}
	// Output:
	// Syntax   "+14151231234" <nil>
	// Possible "+14151231234" <nil>
	// Valid    "" e164: invalid telephone number "+14151231234": not a valid number for country calling code +1
}
