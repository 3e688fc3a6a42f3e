package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/internal/ascii"
	"github.com/ocnumbers/ocnumbers/internal/rfc3339"
	"github.com/ocnumbers/ocnumbers/removal"
)

// The CSV inventory columns.
const (
	ColTelephoneNumber = "telephoneNumber" // required, strict E.164
	ColMSTenantID      = "msTenantId"      // required, GUID in any accepted form
	ColStatus          = "status"          // optional, default Active
	ColOperatorConnect = "operatorConnect" // optional, true or false, default true
	ColStatusChangedAt = "statusChangedAt" // optional, RFC 3339 with a zone, default the import time
)

// cutset is the white space trimmed around header names and cells.
const cutset = " \t\r\n"

var csvColumns = [...]string{ColTelephoneNumber, ColMSTenantID, ColStatus, ColOperatorConnect, ColStatusChangedAt}

// CSVError is the error ReadCSV (and so ImportCSV) returns for a file it
// rejects. Errors about a data row also match ErrInvalidNumber (errors.Is);
// errors about the header or the file as a whole do not.
type CSVError struct {
	Line   int    // 1-based line in the file; 0 when the problem is the file as a whole
	Column string // the column at fault (one of the Col constants); "" for the whole row or header
	Err    error  // what is wrong
}

// Error returns "line L, column C: " and Err's text, leaving out the parts that are unset.
func (e *CSVError) Error() string {
	switch {
	case e.Line > 0 && e.Column != "":
		return "line " + strconv.Itoa(e.Line) + ", column " + e.Column + ": " + e.Err.Error()
	case e.Line > 0:
		return "line " + strconv.Itoa(e.Line) + ": " + e.Err.Error()
	case e.Column != "":
		return "column " + e.Column + ": " + e.Err.Error()
	}
	return e.Err.Error()
}

// Unwrap returns Err.
func (e *CSVError) Unwrap() error { return e.Err }

// invalidRecord marks an error about a data row: it matches ErrInvalidNumber
// and whatever it wraps, without repeating ErrInvalidNumber's text.
type invalidRecord struct{ err error }

func (e invalidRecord) Error() string   { return e.err.Error() }
func (e invalidRecord) Unwrap() []error { return []error{ErrInvalidNumber, e.err} }

func recordErr(line int, column string, err error) *CSVError {
	return &CSVError{Line: line, Column: column, Err: invalidRecord{err}}
}

// ReadCSV reads a whole inventory file: a header row, then one number per
// row. Columns are found by header name, in any order; see the Col constants.
// It returns the numbers in file order, in canonical form (as Normalize
// returns them); a number whose statusChangedAt is absent or empty has a zero
// StatusChangedAt (ImportCSV gives it the import time). A header-only file
// gives no numbers and no error. The first problem stops the read; its error
// is a *CSVError naming the line and column.
//
// The format, in detail:
//   - header names are matched case-insensitively in ASCII letters only
//     (a Unicode look-alike such as "ſtatus" is not "status") after
//     trimming ASCII white space (space, tab, CR, LF), so "TelephoneNumber"
//     and " status " work; any other name is an error, so that a typo like
//     "operatorConect" cannot silently fall back to a default; a column
//     given twice, or a required column missing, is an error (on the
//     header's line);
//   - a UTF-8 byte order mark before the header is skipped (spreadsheets
//     write one); blank lines are skipped; lines are counted as in the file,
//     so a quoted field spanning lines is reported where it starts;
//   - every cell is trimmed of surrounding ASCII white space; an empty
//     telephoneNumber or msTenantId is an error, an empty status is Active and
//     an empty operatorConnect is true;
//   - operatorConnect accepts true and false in any letter case (spreadsheets
//     write TRUE), nothing else (no 1/0, yes/no);
//   - statusChangedAt is RFC 3339 with a zone ("2026-11-22T10:00:00Z",
//     "2026-11-22T11:00:00.5+01:00"), as the RFC's grammar writes it (t and
//     z in either case; no comma before the fraction, no offset past 23:59,
//     no leap second), kept in UTC at microsecond precision, in years 1 to
//     9999 (MinStatusChangedAt to MaxStatusChangedAt);
//   - a row with more or fewer fields than the header is an error;
//   - a telephone number on two rows is an error naming both lines;
//   - an empty file (no header row) is an error with Line 0.
func ReadCSV(r io.Reader) ([]Number, error) {
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\uFEFF")) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // checked here, to report it our way
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err == io.EOF {
		return nil, &CSVError{Err: errors.New("empty file: want a header row naming the columns " + strings.Join(csvColumns[:], ", "))}
	}
	if err != nil {
		return nil, readErr(err, false)
	}
	headerLine, _ := cr.FieldPos(0)
	cols, err := readHeader(header, headerLine)
	if err != nil {
		return nil, err
	}
	width := len(header)

	var out []Number
	lines := map[e164.Number]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, readErr(err, true)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != width {
			return nil, recordErr(line, "", fmt.Errorf("%d fields, the header has %d", len(rec), width))
		}
		n, err := readRecord(cr, rec, cols)
		if err != nil {
			return nil, err
		}
		if first, dup := lines[n.TelephoneNumber]; dup {
			l, _ := cr.FieldPos(cols[0])
			return nil, recordErr(l, ColTelephoneNumber, fmt.Errorf("%s is also on line %d", n.TelephoneNumber, first))
		}
		lines[n.TelephoneNumber] = line
		out = append(out, n)
	}
}

// readHeader maps each of csvColumns to its field index, -1 when absent.
func readHeader(header []string, line int) ([len(csvColumns)]int, error) {
	var cols [len(csvColumns)]int
	for i := range cols {
		cols[i] = -1
	}
	for i, raw := range header {
		name := strings.Trim(raw, cutset)
		c := -1
		for j, want := range csvColumns {
			if ascii.EqualFold(name, want) {
				c = j
				break
			}
		}
		if c < 0 {
			// Column stays "": the name is not a column, and the message
			// quotes it, so control bytes in it cannot break the line.
			return cols, &CSVError{Line: line, Err: fmt.Errorf("unknown column %s; the columns are %s", quote(name), strings.Join(csvColumns[:], ", "))}
		}
		if cols[c] >= 0 {
			return cols, &CSVError{Line: line, Column: csvColumns[c], Err: fmt.Errorf("column given twice, as fields %d and %d", cols[c]+1, i+1)}
		}
		cols[c] = i
	}
	for _, c := range []int{0, 1} {
		if cols[c] < 0 {
			return cols, &CSVError{Line: line, Column: csvColumns[c], Err: errors.New("required column is missing from the header")}
		}
	}
	return cols, nil
}

// readRecord reads one data row of the right width.
func readRecord(cr *csv.Reader, rec []string, cols [len(csvColumns)]int) (Number, error) {
	n := Number{Status: removal.Active, OperatorConnect: true}
	for c, i := range cols {
		if i < 0 {
			continue
		}
		cell := strings.Trim(rec[i], cutset)
		line, _ := cr.FieldPos(i)
		name := csvColumns[c]
		if cell == "" {
			if c <= 1 {
				return Number{}, recordErr(line, name, errors.New(name+" is required"))
			}
			continue // the default
		}
		switch name {
		case ColTelephoneNumber:
			v, err := e164.Parse(cell)
			if err != nil {
				return Number{}, recordErr(line, name, err)
			}
			n.TelephoneNumber = v
		case ColMSTenantID:
			v, err := removal.ParseTenantID(cell)
			if err != nil {
				return Number{}, recordErr(line, name, errors.New(removal.TenantIDMessage+": "+quote(cell)))
			}
			n.MSTenantID = v
		case ColStatus:
			v, err := removal.ParseStatus(cell)
			if err != nil {
				return Number{}, recordErr(line, name, err)
			}
			n.Status = v
		case ColOperatorConnect:
			switch {
			case ascii.EqualFold(cell, "true"):
				n.OperatorConnect = true
			case ascii.EqualFold(cell, "false"):
				n.OperatorConnect = false
			default:
				return Number{}, recordErr(line, name, errors.New("operatorConnect "+quote(cell)+" is not true or false"))
			}
		case ColStatusChangedAt:
			at, err := rfc3339.Parse(cell)
			if err != nil {
				return Number{}, recordErr(line, name, errors.New("statusChangedAt "+quote(cell)+" is not an RFC 3339 time with a zone, such as 2026-11-22T10:00:00Z"))
			}
			n.StatusChangedAt = at.UTC().Truncate(time.Microsecond)
			if n.StatusChangedAt.Before(MinStatusChangedAt) || n.StatusChangedAt.After(MaxStatusChangedAt) {
				return Number{}, recordErr(line, name, errors.New("statusChangedAt "+quote(cell)+" is outside years 1 to 9999 (UTC)"))
			}
		}
	}
	return n, nil
}

// quote quotes a value for a message, cut to 64 bytes so that one huge cell
// cannot flood a log line.
func quote(v string) string {
	if len(v) <= 64 {
		return strconv.Quote(v)
	}
	return strconv.Quote(v[:64]) + "... (" + strconv.Itoa(len(v)) + " bytes)"
}

// readErr turns an error of csv.Reader into a *CSVError.
func readErr(err error, record bool) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return &CSVError{Err: fmt.Errorf("reading CSV: %w", err)}
	}
	// Report the line where the record starts, as for every other error; the
	// byte offset is on pe.Line, which differs for multi-line quoted fields.
	where := "at byte " + strconv.Itoa(pe.Column) + " of the line"
	if pe.Line != pe.StartLine {
		where = "at line " + strconv.Itoa(pe.Line) + ", byte " + strconv.Itoa(pe.Column)
	}
	e := fmt.Errorf("malformed CSV %s: %w", where, pe.Err)
	if record {
		return recordErr(pe.StartLine, "", e)
	}
	return &CSVError{Line: pe.StartLine, Err: e}
}

// ImportCSV reads an inventory file with ReadCSV and stores its numbers with
// one Import, so that a bad row, or a failing Import, loads nothing from the
// file. opts.Mode says what happens to numbers already stored (Merge, the
// zero value, keeps their status). opts.At, or the time of the call when
// zero, is the import time: numbers without a statusChangedAt get it, and
// the history events record it. A header-only file stores nothing.
func ImportCSV(ctx context.Context, st Store, r io.Reader, opts ImportOptions) (ImportResult, error) {
	numbers, err := ReadCSV(r)
	if err != nil {
		return ImportResult{}, err
	}
	if len(numbers) == 0 {
		return ImportResult{}, nil
	}
	if opts.At.IsZero() {
		opts.At = time.Now()
	}
	opts.At = opts.At.UTC().Truncate(time.Microsecond)
	for i := range numbers {
		if numbers[i].StatusChangedAt.IsZero() {
			numbers[i].StatusChangedAt = opts.At
		}
	}
	res, err := st.Import(ctx, numbers, opts)
	if err != nil {
		return ImportResult{}, fmt.Errorf("store: import: %w", err)
	}
	return res, nil
}

// ReadAcquiredCSV reads the Operator Connect acquired list as the portal
// exports it: a header row holding a telephoneNumber column (matched as
// ReadCSV matches names; other columns are ignored), then one number a row,
// strict E.164. Blank lines are skipped; a number given twice is kept
// twice (reconciliation counts it once). The first problem stops the read
// with a *CSVError naming the line.
func ReadAcquiredCSV(r io.Reader) ([]string, error) {
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\uFEFF")) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &CSVError{Err: errors.New("empty file: want a header row with a telephoneNumber column")}
	}
	if err != nil {
		return nil, readErr(err, false)
	}
	headerLine, _ := cr.FieldPos(0)
	col := -1
	for i, raw := range header {
		if ascii.EqualFold(strings.Trim(raw, cutset), ColTelephoneNumber) {
			if col >= 0 {
				return nil, &CSVError{Line: headerLine, Column: ColTelephoneNumber, Err: fmt.Errorf("column given twice, as fields %d and %d", col+1, i+1)}
			}
			col = i
		}
	}
	if col < 0 {
		return nil, &CSVError{Line: headerLine, Column: ColTelephoneNumber, Err: errors.New("required column is missing from the header")}
	}
	out := []string{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, readErr(err, true)
		}
		line, _ := cr.FieldPos(0)
		if col >= len(rec) {
			return nil, recordErr(line, ColTelephoneNumber, fmt.Errorf("%d fields, the telephoneNumber column is field %d", len(rec), col+1))
		}
		cell := strings.Trim(rec[col], cutset)
		n, err := e164.Parse(cell)
		if err != nil {
			return nil, recordErr(line, ColTelephoneNumber, err)
		}
		out = append(out, string(n))
	}
}
