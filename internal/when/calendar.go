package when

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

//go:embed data/*.json
var calendarFiles embed.FS

// ErrNotCovered is returned when a question needs the official holiday calendar of a year
// the embedded calendar does not cover. The State Council publishes each year's notice
// around November of the year before; guessing a year's 调休 days would produce wrong
// alarms, so the resolver says so instead.
var ErrNotCovered = errors.New("when: the holiday calendar does not cover this year")

// ErrUnknownCalendar is returned by LoadCalendar for an id without a data file.
var ErrUnknownCalendar = errors.New("when: unknown holiday calendar")

// Date is a civil date without a time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the civil date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// In returns midnight of d in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// AddDays returns d shifted by n days.
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}

// String formats d as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

func parseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, err
	}
	return DateOf(t), nil
}

// Holiday is one festival of one year: the festival's own date, the official days off
// around it and the adjusted working days (调休上班) that pay for them.
type Holiday struct {
	Key   string   // stable id, e.g. "national_day"
	Names []string // names it is called by, Chinese and English, lower case for English
	Date  Date     // the festival day itself (正月初一 for 春节, 10-01 for 国庆节)
	Off   [2]Date  // first and last official day off; zero when the festival has no days off
	Work  []Date   // adjusted working days
}

// Calendar is an official public-holiday calendar for the years it covers.
type Calendar struct {
	ID    string
	Name  string
	Years []int

	holidays []Holiday
	off      map[Date]bool
	work     map[Date]bool
	names    []string // every name, longest first, for matching
}

type calendarFile struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Source   string `json:"source"`
	Years    []int  `json:"years"`
	Holidays []struct {
		Key   string   `json:"key"`
		Names []string `json:"names"`
		Date  string   `json:"date"`
		Off   []string `json:"off"`
		Work  []string `json:"work"`
	} `json:"holidays"`
}

// LoadCalendar returns the embedded calendar with the given id ("cn"). The empty id means
// no calendar: questions about holidays and working days then get ErrNotCovered.
func LoadCalendar(id string) (*Calendar, error) {
	if id == "" {
		return &Calendar{off: map[Date]bool{}, work: map[Date]bool{}}, nil
	}
	if strings.ContainsAny(id, "/\\.") {
		return nil, fmt.Errorf("%w %q", ErrUnknownCalendar, id)
	}
	b, err := calendarFiles.ReadFile("data/" + id + ".json")
	if err != nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownCalendar, id)
	}
	return parseCalendar(b)
}

func parseCalendar(b []byte) (*Calendar, error) {
	var f calendarFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("when: calendar data: %w", err)
	}
	c := &Calendar{ID: f.ID, Name: f.Name, Years: f.Years, off: map[Date]bool{}, work: map[Date]bool{}}
	seen := map[string]bool{}
	for i, h := range f.Holidays {
		d, err := parseDate(h.Date)
		if err != nil {
			return nil, fmt.Errorf("when: calendar %s holiday %d date: %w", f.ID, i, err)
		}
		if !slices.Contains(f.Years, d.Year) {
			return nil, fmt.Errorf("when: calendar %s holiday %d: year %d not declared", f.ID, i, d.Year)
		}
		hol := Holiday{Key: h.Key, Names: h.Names, Date: d}
		if len(h.Off) == 2 {
			for j := range 2 {
				if hol.Off[j], err = parseDate(h.Off[j]); err != nil {
					return nil, fmt.Errorf("when: calendar %s holiday %d off: %w", f.ID, i, err)
				}
			}
			for x := hol.Off[0]; !hol.Off[1].Before(x); x = x.AddDays(1) {
				c.off[x] = true
			}
		} else if len(h.Off) != 0 {
			return nil, fmt.Errorf("when: calendar %s holiday %d: off must be [first, last]", f.ID, i)
		}
		for _, w := range h.Work {
			wd, err := parseDate(w)
			if err != nil {
				return nil, fmt.Errorf("when: calendar %s holiday %d work: %w", f.ID, i, err)
			}
			hol.Work = append(hol.Work, wd)
			c.work[wd] = true
		}
		c.holidays = append(c.holidays, hol)
		for _, n := range h.Names {
			if !seen[n] {
				seen[n] = true
				c.names = append(c.names, n)
			}
		}
	}
	for d := range c.work {
		if c.off[d] {
			return nil, fmt.Errorf("when: calendar %s: %s is both a day off and a working day", f.ID, d)
		}
	}
	sort.SliceStable(c.names, func(i, j int) bool { return len(c.names[i]) > len(c.names[j]) })
	return c, nil
}

// Covers reports whether the calendar holds the official notice for year.
func (c *Calendar) Covers(year int) bool { return slices.Contains(c.Years, year) }

// CoverageError returns an error wrapping ErrNotCovered that names the years covered.
func (c *Calendar) CoverageError(year int) error {
	if len(c.Years) == 0 {
		return fmt.Errorf("%w: no holiday calendar is configured (asked about %d)", ErrNotCovered, year)
	}
	return fmt.Errorf("%w: asked about %d, calendar %s covers %s", ErrNotCovered, year, c.ID, c.YearsText())
}

// YearsText returns the covered years as text, e.g. "2025–2026".
func (c *Calendar) YearsText() string {
	if len(c.Years) == 0 {
		return ""
	}
	ys := slices.Sorted(slices.Values(c.Years))
	if ys[len(ys)-1]-ys[0] == len(ys)-1 && len(ys) > 1 {
		return fmt.Sprintf("%d–%d", ys[0], ys[len(ys)-1])
	}
	parts := make([]string, len(ys))
	for i, y := range ys {
		parts[i] = fmt.Sprint(y)
	}
	return strings.Join(parts, ", ")
}

// IsWorkday reports whether d is an official working day: an adjusted working day, or a
// Monday to Friday that is not a day off. Years the calendar does not cover give
// ErrNotCovered.
func (c *Calendar) IsWorkday(d Date) (bool, error) {
	if !c.Covers(d.Year) {
		return false, c.CoverageError(d.Year)
	}
	if c.work[d] {
		return true, nil
	}
	if c.off[d] {
		return false, nil
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday, nil
}

// NextWorkday returns the first working day strictly after d.
func (c *Calendar) NextWorkday(d Date) (Date, error) {
	for i := 1; i <= 31; i++ {
		x := d.AddDays(i)
		ok, err := c.IsWorkday(x)
		if err != nil {
			return Date{}, err
		}
		if ok {
			return x, nil
		}
	}
	return Date{}, fmt.Errorf("when: no working day within a month after %s", d)
}

// Holiday returns the festival called name in year.
func (c *Calendar) Holiday(name string, year int) (Holiday, error) {
	name = strings.ToLower(name)
	for _, h := range c.holidays {
		if h.Date.Year == year && slices.Contains(h.Names, name) {
			return h, nil
		}
	}
	if !c.Covers(year) {
		// Festivals on a fixed Gregorian date are known without the notice; their days
		// off are not (Off stays zero).
		for _, h := range c.holidays {
			if md, ok := fixedKeys[h.Key]; ok && slices.Contains(h.Names, name) {
				return Holiday{Key: h.Key, Names: h.Names, Date: Date{year, time.Month(md[0]), md[1]}}, nil
			}
		}
		return Holiday{}, c.CoverageError(year)
	}
	return Holiday{}, fmt.Errorf("when: no holiday %q in %d", name, year)
}

// NextHoliday returns the first occurrence of the festival called name on or after d.
func (c *Calendar) NextHoliday(name string, d Date) (Holiday, error) {
	h, err := c.Holiday(name, d.Year)
	if err != nil {
		return Holiday{}, err
	}
	if !h.Date.Before(d) {
		return h, nil
	}
	return c.Holiday(name, d.Year+1)
}

// fixedKeys are calendar festivals whose date is the same every year.
var fixedKeys = map[string][2]int{"new_year": {1, 1}, "labour_day": {5, 1}, "national_day": {10, 1}}

// matchName returns the longest holiday name that s starts with.
func (c *Calendar) matchName(s string) string {
	for _, n := range c.names {
		if strings.HasPrefix(s, n) {
			return n
		}
	}
	return ""
}
