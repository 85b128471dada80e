// Package when finds and resolves time expressions in Chinese and English utterances
// ("明天下午三点半", "下一个工作日", "国庆节前一天", "in 10 minutes", "every weekday at 7")
// against the device's time zone and clock, using an official holiday calendar for
// working days and festivals.
package when

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNonexistent is returned for times that do not exist: 2月30号, 25点, February 30.
// It wraps a message that says what is wrong, suitable for a clarifying question.
var ErrNonexistent = errors.New("when: no such time")

// ErrAmbiguous is returned when an expression could mean two different instants and the
// resolver will not guess, e.g. "明天三点" (3:00 or 15:00).
var ErrAmbiguous = errors.New("when: ambiguous time")

// Value is a resolved time expression.
type Value struct {
	// Time is the resolved instant in the device's time zone. For a date without a clock
	// time it is midnight of that day and HasClock is false.
	Time time.Time
	// End is set for ranges ("三点到四点"); zero otherwise.
	End time.Time
	// HasDate reports that a day was named explicitly or relatively (明天, 周五, 5号, in 3 days).
	HasDate bool
	// HasClock reports that a clock time was given or implied (三点, 十分钟后, noon).
	HasClock bool
	// Relative reports an expression relative to now ("十分钟后", "in an hour"); Duration
	// is then the offset.
	Relative bool
	Duration time.Duration
	// Period is the period of the day said without a clock time ("明天下午", "tomorrow
	// morning"): the day is known, the time is not.
	Period string
	// Recur is set for repeating expressions (每天早上七点, every Monday).
	Recur *Recurrence
}

// Recurrence is a small RFC 5545 RRULE subset.
type Recurrence struct {
	Freq       string // DAILY, WEEKLY, MONTHLY
	ByDay      []time.Weekday
	ByMonthDay int
	// Workdays restricts occurrences to official working days of the calendar (skipping
	// public holidays and including adjusted working days).
	Workdays string
}

var rruleDays = [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

// RRULE renders r, e.g. "FREQ=WEEKLY;BYDAY=MO,WE". Official working days are written
// with the extension X-QIAO-WORKDAYS=<calendar id>.
func (r *Recurrence) RRULE() string {
	var b strings.Builder
	b.WriteString("FREQ=" + r.Freq)
	if len(r.ByDay) > 0 {
		b.WriteString(";BYDAY=")
		for i, d := range r.ByDay {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(rruleDays[d])
		}
	}
	if r.ByMonthDay != 0 {
		fmt.Fprintf(&b, ";BYMONTHDAY=%d", r.ByMonthDay)
	}
	if r.Workdays != "" {
		b.WriteString(";X-QIAO-WORKDAYS=" + r.Workdays)
	}
	return b.String()
}

// Match is a time expression found in a text.
type Match struct {
	Start, End int // byte offsets in the folded text
	Value      Value
}

// Resolver resolves expressions against a holiday calendar. It is safe for concurrent use.
type Resolver struct {
	Cal *Calendar
	// Period, when set ("morning", "afternoon", "evening"), is applied to a clock time said
	// without one. It answers the resolver's own question after ErrAmbiguous.
	Period string
}

// WithPeriod returns a copy of r that reads clock times without a period of the day as
// period ("morning", "afternoon", "evening").
func (r *Resolver) WithPeriod(period string) *Resolver {
	c := *r
	c.Period = period
	return &c
}

// NewResolver returns a resolver using cal (which may be an empty calendar).
func NewResolver(cal *Calendar) *Resolver {
	if cal == nil {
		cal, _ = LoadCalendar("")
	}
	return &Resolver{Cal: cal}
}

func nonexistent(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrNonexistent}, args...)...)
}

// validDate reports whether y-m-d exists.
func validDate(y int, m time.Month, d int) bool {
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	return d <= daysIn(y, m)
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// at returns the instant h:m on day d in loc. Go normalizes times that fall into a DST gap
// by moving them forward, which is what a clock would show.
func at(d Date, h, m int, loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, h, m, 0, 0, loc)
}

// checkExists reports a wall-clock time skipped by a daylight-saving change: time.Date
// moves such times forward, and an alarm set an hour later than asked is a wrong action.
func checkExists(t time.Time, h, m int) error {
	if t.Hour() != h || t.Minute() != m {
		return nonexistent("%02d:%02d does not exist on %s in %s (the clocks change)", h, m, DateOf(t), t.Location())
	}
	return nil
}
