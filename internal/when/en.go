package when

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// FindEN finds the first English time expression in s and resolves it against now. It
// behaves like FindZH; offsets refer to s.
func (r *Resolver) FindEN(s string, now time.Time) (m Match, ok bool, err error) {
	toks := tokenizeEN(s)
	for i := range toks {
		p := enParser{toks: toks, i: i, now: now, loc: now.Location(), cal: r.Cal, defPeriod: r.Period}
		v, perr := p.expr()
		if p.i > i && !p.empty {
			return Match{Start: toks[i].start, End: toks[p.i-1].end, Value: v}, true, perr
		}
	}
	return Match{}, false, nil
}

// ResolveEN resolves s, which must be one English time expression and nothing else.
func (r *Resolver) ResolveEN(s string, now time.Time) (Value, error) {
	toks := tokenizeEN(s)
	p := enParser{toks: toks, now: now, loc: now.Location(), cal: r.Cal, defPeriod: r.Period}
	v, err := p.expr()
	if err != nil {
		return v, err
	}
	if p.empty || p.i != len(toks) {
		return Value{}, errors.New("when: not a time expression")
	}
	return v, nil
}

type tokEN struct {
	text       string // lower case
	start, end int
}

// tokenizeEN splits s into lower-case words and numbers, keeping their byte offsets.
// "7am" gives "7" "am"; "7:30" stays one token; "a.m." becomes "am".
func tokenizeEN(s string) []tokEN {
	// ASCII-only lower-casing keeps byte offsets equal to s's (strings.ToLower does not
	// for invalid UTF-8 or some non-ASCII letters); tokens are ASCII anyway.
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	ls := strings.NewReplacer("a.m.", "am  ", "p.m.", "pm  ").Replace(string(b))
	var toks []tokEN
	kind := func(c byte) int {
		switch {
		case c >= '0' && c <= '9':
			return 1
		case c >= 'a' && c <= 'z' || c == '\'':
			return 2
		}
		return 0
	}
	for i := 0; i < len(ls); {
		k := kind(ls[i])
		if k == 0 {
			i++
			continue
		}
		j := i
		for j < len(ls) {
			c := ls[j]
			if kind(c) == k {
				j++
				continue
			}
			// keep 7:30 and 1.5 together
			if k == 1 && (c == ':' || c == '.') && j+1 < len(ls) && kind(ls[j+1]) == 1 {
				j++
				continue
			}
			break
		}
		toks = append(toks, tokEN{text: strings.Trim(ls[i:j], "'"), start: i, end: j})
		i = j
	}
	return toks
}

type enParser struct {
	defPeriod string
	toks      []tokEN
	i         int
	now       time.Time
	loc       *time.Location
	cal       *Calendar
	empty     bool
}

func (p *enParser) peek(k int) string {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k].text
	}
	return ""
}

// eat consumes a phrase (space-separated words) if the input continues with it.
func (p *enParser) eat(phrases ...string) string {
	for _, ph := range phrases {
		ws := strings.Fields(ph)
		ok := true
		for k, w := range ws {
			if p.peek(k) != w {
				ok = false
				break
			}
		}
		if ok {
			p.i += len(ws)
			return ph
		}
	}
	return ""
}

var enSmall = map[string]int{"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
	"eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
	"sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "a": 1, "an": 1}
var enTens = map[string]int{"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
var enOrd = map[string]int{"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
	"eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
	"fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20, "thirtieth": 30}

// numberEN parses digits or number words up to 59; "a"/"an" count as 1 only if allowArticle.
func (p *enParser) number(allowArticle bool) (int, bool) {
	t := p.peek(0)
	if t == "" {
		return 0, false
	}
	if t[0] >= '0' && t[0] <= '9' {
		if strings.ContainsAny(t, ":.") {
			return 0, false
		}
		n, err := strconv.Atoi(t)
		if err != nil || n > 100000 {
			return 0, false
		}
		p.i++
		return n, true
	}
	if (t == "a" || t == "an") && !allowArticle {
		return 0, false
	}
	if v, ok := enSmall[t]; ok {
		p.i++
		return v, true
	}
	if v, ok := enTens[t]; ok {
		p.i++
		if u, ok := enSmall[p.peek(0)]; ok && u >= 1 && u <= 9 && p.peek(0) != "a" && p.peek(0) != "an" {
			p.i++
			v += u
		}
		return v, true
	}
	return 0, false
}

// ordinal parses 5, 5th, fifth, twenty first.
func (p *enParser) ordinal() (int, bool) {
	save := p.i
	t := p.peek(0)
	if t != "" && t[0] >= '0' && t[0] <= '9' && !strings.ContainsAny(t, ":.") {
		n, err := strconv.Atoi(t)
		if err != nil {
			return 0, false
		}
		p.i++
		p.eat("st", "nd", "rd", "th")
		return n, true
	}
	if v, ok := enTens[t]; ok {
		p.i++
		if u, ok := enOrd[p.peek(0)]; ok && u <= 9 {
			p.i++
			return v + u, true
		}
		p.i = save
		return 0, false
	}
	if v, ok := enOrd[t]; ok {
		p.i++
		return v, true
	}
	return 0, false
}

var enWeekdays = map[string]time.Weekday{"monday": 1, "mon": 1, "tuesday": 2, "tue": 2, "tues": 2, "wednesday": 3,
	"wed": 3, "thursday": 4, "thu": 4, "thurs": 4, "friday": 5, "fri": 5, "saturday": 6, "sat": 6, "sunday": 0, "sun": 0}
var enMonths = map[string]time.Month{"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3,
	"april": 4, "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
	"september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12}

func (p *enParser) expr() (Value, error) {
	start := p.i
	today := DateOf(p.now)
	var v Value
	p.eat("on", "at")
	recur, period, err := p.recurrence()
	if err != nil {
		return v, err
	}
	var ds dateSpec
	if recur == nil {
		if d, ok := p.relative(); ok {
			if d.clock {
				return Value{Time: p.now.Add(d.d), HasDate: true, HasClock: true, Relative: true, Duration: d.d}, nil
			}
			ds = dateSpec{set: true, d: today.AddDays(d.days)}
		} else if ds, err = p.date(today); err != nil {
			p.eat("at", "by")
			p.clock()
			return v, err
		}
		if ds.period != "" {
			period = ds.period
		}
	}
	if period == "" {
		period = p.period()
	}
	p.eat("at", "by", "from")
	h, m, hasClock, suffix, err := p.clock()
	if err != nil {
		return v, err
	}
	if period == "" {
		period = p.period()
	}
	if !ds.set && recur == nil && hasClock {
		// "at 7 tomorrow", "3pm on Friday"
		p.eat("on")
		if ds, err = p.date(today); err != nil {
			return v, err
		}
		if period == "" && ds.period != "" {
			period = ds.period
		}
	}
	if recur == nil && !hasClock {
		// "every day at 7" is handled above; here a trailing recurrence: "7am every day"
	}
	if hasClock && recur == nil && !ds.set {
		if r2, p2, err := p.recurrence(); err != nil {
			return v, err
		} else if r2 != nil {
			recur = r2
			if period == "" {
				period = p2
			}
		}
	}
	var endH, endM int
	hasEnd := false
	endSuffix := ""
	if hasClock {
		save := p.i
		if p.eat("to", "until", "till", "-") != "" {
			eh, em, ok, es, err := p.clock()
			if err != nil {
				return v, err
			}
			if ok {
				hasEnd, endH, endM, endSuffix = true, eh, em, es
				if suffix == "" && es != "" {
					// "3 to 4 pm": the suffix applies to both ends
					suffix = es
				}
			} else {
				p.i = save
			}
		}
	}
	if p.i == start || (p.i == start+1 && (p.toks[start].text == "on" || p.toks[start].text == "at")) {
		p.i = start
		p.empty = true
		return v, nil
	}
	if hasClock && period == "" && suffix == "" && p.defPeriod != "" && h >= 1 && h <= 12 {
		period = p.defPeriod
	}
	if hasClock {
		if h, err = applySuffix(h, suffix); err != nil {
			return v, err
		}
	}
	if recur != nil {
		v.Recur, v.HasDate = recur, true
		if !hasClock {
			v.Period = period
			return v, nil
		}
		hh, amb, err := hourEN(period, h, suffix, true)
		if err != nil {
			return v, err
		}
		if amb {
			return v, ambiguous(h)
		}
		t, err := firstOccurrence(recur, hh, m, p.now, p.cal)
		if err != nil {
			return v, err
		}
		v.Time, v.HasClock = t, true
		return v, nil
	}
	base := today
	if ds.set {
		base, v.HasDate = ds.d, true
	}
	if !hasClock {
		v.Time = base.In(p.loc)
		v.Period = period
		return v, nil
	}
	explicitFuture := ds.set && !ds.today && base != today
	hh, amb, err := hourEN(period, h, suffix, explicitFuture)
	if err != nil {
		return v, err
	}
	if amb && explicitFuture {
		return v, ambiguous(h)
	}
	shift := 0
	if hh >= 24 {
		hh, shift = hh-24, 1
	}
	t := at(base.AddDays(shift), hh, m, p.loc)
	if amb && !t.After(p.now) {
		alt := hh + 12
		if alt >= 24 {
			t = at(base.AddDays(1), alt-24, m, p.loc)
		} else {
			t = at(base, alt, m, p.loc)
		}
	}
	if !ds.set && !t.After(p.now) {
		t = at(DateOf(t).AddDays(1), t.Hour(), t.Minute(), p.loc)
	}
	if ds.weekBare && !t.After(p.now) {
		t = at(DateOf(t).AddDays(7), t.Hour(), t.Minute(), p.loc)
	}
	if !amb {
		if err := checkExists(t, hh, m); err != nil {
			return v, err
		}
	}
	v.Time, v.HasClock = t, true
	if hasEnd {
		eh, err := applySuffix(endH, endSuffix)
		if err != nil {
			return v, err
		}
		if endSuffix == "" && eh < 12 && t.Hour() >= 12 {
			eh += 12
		}
		end := at(DateOf(t), eh%24, endM, p.loc)
		if !end.After(t) && eh < 12 {
			end = end.Add(12 * time.Hour)
		}
		if !end.After(t) {
			return v, nonexistent("the end %02d:%02d is not after the start", endH, endM)
		}
		v.End = end
	}
	return v, nil
}

func applySuffix(h int, suffix string) (int, error) {
	switch suffix {
	case "am":
		if h < 1 || h > 12 {
			return 0, nonexistent("%d am", h)
		}
		if h == 12 {
			return 0, nil
		}
	case "pm":
		if h < 1 || h > 12 {
			return 0, nonexistent("%d pm", h)
		}
		if h != 12 {
			return h + 12, nil
		}
	}
	return h, nil
}

// hourEN applies the period of day ("in the evening") to an hour without am/pm.
func hourEN(period string, h int, suffix string, explicitFuture bool) (int, bool, error) {
	if suffix == "am" || suffix == "pm" || suffix == "noon" || suffix == "midnight" || h == 0 || h >= 13 {
		return h, false, nil
	}
	zh := map[string]string{"morning": "上午", "afternoon": "下午", "evening": "晚上", "night": "晚上"}[period]
	if zh != "" {
		hh, err := applyPeriod(zh, h)
		return hh, false, err
	}
	if explicitFuture && h >= 7 {
		return h, false, nil
	}
	return h, true, nil
}

func (p *enParser) period() string {
	switch p.eat("in the morning", "in the afternoon", "in the evening", "at night", "this morning", "this afternoon",
		"this evening", "morning", "afternoon", "evening", "night") {
	case "in the morning", "this morning", "morning":
		return "morning"
	case "in the afternoon", "this afternoon", "afternoon":
		return "afternoon"
	case "in the evening", "this evening", "evening":
		return "evening"
	case "at night", "night":
		return "night"
	}
	return ""
}

// clock parses 7, 7:30, 7am, 7 o'clock, noon, midnight, half past seven, quarter to 8,
// ten past six, seven thirty. suffix is "am", "pm", "noon", "midnight" or "".
func (p *enParser) clock() (h, m int, ok bool, suffix string, err error) {
	save := p.i
	switch p.eat("noon", "midday", "midnight") {
	case "noon", "midday":
		return 12, 0, true, "noon", nil
	case "midnight":
		return 24, 0, true, "midnight", nil
	}
	// half past 7, quarter to 8, 10 past 6, 20 to 9
	if w := p.eat("half past", "quarter past", "a quarter past", "quarter to", "a quarter to"); w != "" {
		hh, okh := p.number(false)
		if !okh {
			p.i = save
			return 0, 0, false, "", nil
		}
		if hh > 12 {
			return 0, 0, false, "", nonexistent("%s %d", w, hh)
		}
		suffix = p.ampm()
		switch w {
		case "half past":
			return hh, 30, true, suffix, nil
		case "quarter past", "a quarter past":
			return hh, 15, true, suffix, nil
		default:
			return (hh + 11) % 12, 45, true, suffix, nil
		}
	}
	t := p.peek(0)
	if strings.Contains(t, ":") || (strings.Contains(t, ".") && p.peek(1) != "" && (p.peek(1) == "am" || p.peek(1) == "pm")) {
		sep := ":"
		if !strings.Contains(t, ":") {
			sep = "."
		}
		hs, ms, _ := strings.Cut(t, sep)
		hh, err1 := strconv.Atoi(hs)
		mm, err2 := strconv.Atoi(ms)
		if err1 != nil || err2 != nil || len(ms) != 2 {
			return 0, 0, false, "", nil
		}
		p.i++
		suffix = p.ampm()
		if hh > 24 || mm > 59 || (hh == 24 && mm != 0) {
			return 0, 0, false, "", nonexistent("%02d:%02d", hh, mm)
		}
		return hh, mm, true, suffix, nil
	}
	hh, okh := p.number(false)
	if !okh {
		return 0, 0, false, "", nil
	}
	// "N minutes past/to H"
	s2 := p.i
	// "ten to six" and "5 minutes to 6" are clock times; "2 to 4" is a range.
	isWord := p.toks[p.i-1].text[0] > '9'
	withUnit := p.eat("minutes", "minute") != ""
	if w := p.eat("past", "to", "after", "before"); w != "" && hh < 60 && (isWord || withUnit) {
		if target, okt := p.number(false); okt && target <= 12 {
			suffix = p.ampm()
			if w == "past" || w == "after" {
				return target, hh, true, suffix, nil
			}
			tm := (target*60 - hh + 12*60) % (12 * 60)
			return tm / 60, tm % 60, true, suffix, nil
		}
	}
	p.i = s2
	mm := 0
	if t := p.peek(0); t == "o'clock" || t == "oclock" {
		p.i++
	} else if _, ok := enTens[t]; ok {
		// seven thirty, eight forty five
		mm, _ = p.number(false)
	} else if v, ok := enSmall[t]; ok && v >= 10 && t != "a" && t != "an" {
		p.i++
		mm = v
	} else if t == "oh" {
		// seven oh five
		p.i++
		if u, ok := enSmall[p.peek(0)]; ok && u < 10 {
			p.i++
			mm = u
		} else {
			p.i = s2
		}
	}
	suffix = p.ampm()
	hasAt := save > 0 && (p.toks[save-1].text == "at" || p.toks[save-1].text == "by" || p.toks[save-1].text == "from" || p.toks[save-1].text == "for")
	if suffix == "" && mm == 0 && !hasAt && !(p.i > s2) {
		// A bare number is not a clock time ("5 miles", "call 10086").
		p.i = save
		return 0, 0, false, "", nil
	}
	if hh > 24 || mm > 59 {
		return 0, 0, false, "", nonexistent("%d:%02d", hh, mm)
	}
	return hh, mm, true, suffix, nil
}

func (p *enParser) ampm() string {
	switch p.eat("am", "pm", "in the morning", "in the afternoon", "in the evening", "at night", "tonight") {
	case "am", "in the morning":
		return "am"
	case "pm", "in the afternoon", "in the evening", "at night", "tonight":
		return "pm"
	}
	return ""
}

func (p *enParser) date(today Date) (dateSpec, error) {
	switch p.eat("the day after tomorrow", "day after tomorrow", "the day before yesterday", "today", "tonight",
		"tomorrow morning", "tomorrow afternoon", "tomorrow evening", "tomorrow night", "tomorrow", "yesterday", "this morning", "this afternoon", "this evening") {
	case "today":
		return dateSpec{set: true, d: today, today: true}, nil
	case "tonight", "this evening":
		return dateSpec{set: true, d: today, today: true, period: "evening"}, nil
	case "this morning":
		return dateSpec{set: true, d: today, today: true, period: "morning"}, nil
	case "this afternoon":
		return dateSpec{set: true, d: today, today: true, period: "afternoon"}, nil
	case "tomorrow":
		return dateSpec{set: true, d: today.AddDays(1)}, nil
	case "tomorrow morning":
		return dateSpec{set: true, d: today.AddDays(1), period: "morning"}, nil
	case "tomorrow afternoon":
		return dateSpec{set: true, d: today.AddDays(1), period: "afternoon"}, nil
	case "tomorrow evening":
		return dateSpec{set: true, d: today.AddDays(1), period: "evening"}, nil
	case "tomorrow night":
		return dateSpec{set: true, d: today.AddDays(1), period: "night"}, nil
	case "the day after tomorrow", "day after tomorrow":
		return dateSpec{set: true, d: today.AddDays(2)}, nil
	case "yesterday":
		return dateSpec{set: true, d: today.AddDays(-1)}, nil
	case "the day before yesterday":
		return dateSpec{set: true, d: today.AddDays(-2)}, nil
	}
	if p.eat("the next working day", "next working day", "the next workday", "next workday", "next business day", "the next business day") != "" {
		if p.cal == nil {
			return dateSpec{}, ErrNotCovered
		}
		d, err := p.cal.NextWorkday(today)
		if err != nil {
			return dateSpec{}, err
		}
		return dateSpec{set: true, d: d}, nil
	}
	if p.eat("the end of the month", "end of the month", "end of this month", "the end of this month") != "" {
		return dateSpec{set: true, d: Date{today.Year, today.Month, daysIn(today.Year, today.Month)}}, nil
	}
	if p.eat("the end of next month", "end of next month") != "" {
		f := time.Date(today.Year, today.Month+1, 1, 12, 0, 0, 0, time.UTC)
		return dateSpec{set: true, d: Date{f.Year(), f.Month(), daysIn(f.Year(), f.Month())}}, nil
	}
	// weekdays
	save := p.i
	weeks, bare := 0, true
	switch p.eat("next", "this", "last", "coming", "this coming") {
	case "next":
		weeks, bare = 1, false
	case "last":
		weeks, bare = -1, false
	case "this", "coming", "this coming":
		bare = false
	}
	if wd, ok := enWeekdays[p.peek(0)]; ok {
		p.i++
		off := (int(today.Weekday()) + 6) % 7
		monday := today.AddDays(-off)
		d := monday.AddDays(7*weeks + (int(wd)+6)%7)
		if (bare || p.toks[save].text == "coming" || p.toks[save].text == "this") && d.Before(today) {
			d = d.AddDays(7)
		}
		return dateSpec{set: true, d: d, weekBare: bare, today: d == today && !bare}, nil
	}
	if p.eat("weekend") != "" && !bare {
		off := (int(today.Weekday()) + 6) % 7
		d := today.AddDays(-off + 5 + 7*weeks)
		return dateSpec{set: true, d: d}, nil
	}
	p.i = save
	if ds, ok, err := p.monthDay(today); ok || err != nil {
		return ds, err
	}
	return p.holiday(today)
}

func (p *enParser) monthDay(today Date) (dateSpec, bool, error) {
	save := p.i
	p.eat("the")
	var month time.Month
	day := 0
	if m, ok := enMonths[p.peek(0)]; ok && !(p.peek(0) == "may" && p.peek(1) == "i") {
		p.i++
		d, ok := p.ordinal()
		if !ok {
			p.i = save
			return dateSpec{}, false, nil
		}
		month, day = m, d
	} else if d, ok := p.ordinal(); ok {
		p.eat("of")
		if m, ok := enMonths[p.peek(0)]; ok {
			p.i++
			month, day = m, d
		} else {
			// "the 5th" of this or next month — requires an ordinal suffix or "the"
			t := p.toks[p.i-1].text
			if t != "st" && t != "nd" && t != "rd" && t != "th" && enOrd[t] == 0 && enTens[t] == 0 {
				p.i = save
				return dateSpec{}, false, nil
			}
			if p.eat("of next month", "next month") != "" {
				f := time.Date(today.Year, today.Month+1, 1, 12, 0, 0, 0, time.UTC)
				if !validDate(f.Year(), f.Month(), d) {
					return dateSpec{}, true, nonexistent("%s has no day %d", f.Month(), d)
				}
				return dateSpec{set: true, d: Date{f.Year(), f.Month(), d}}, true, nil
			}
			y, m := today.Year, today.Month
			if d < today.Day {
				f := time.Date(y, m+1, 1, 12, 0, 0, 0, time.UTC)
				y, m = f.Year(), f.Month()
			}
			if !validDate(y, m, d) {
				return dateSpec{}, true, nonexistent("%s has no day %d", m, d)
			}
			dd := Date{y, m, d}
			return dateSpec{set: true, d: dd, today: dd == today}, true, nil
		}
	} else {
		// ISO date
		t := p.peek(0)
		if len(t) == 4 && p.i+2 < len(p.toks) {
			if y, err := strconv.Atoi(t); err == nil && p.toks[p.i+1].start == p.toks[p.i].end+1 {
				mo, err1 := strconv.Atoi(p.peek(1))
				da, err2 := strconv.Atoi(p.peek(2))
				if err1 == nil && err2 == nil {
					p.i += 3
					if !validDate(y, time.Month(mo), da) {
						return dateSpec{}, true, nonexistent("%d-%02d-%02d", y, mo, da)
					}
					return dateSpec{set: true, d: Date{y, time.Month(mo), da}}, true, nil
				}
			}
		}
		p.i = save
		return dateSpec{}, false, nil
	}
	year := 0
	if t := p.peek(0); len(t) == 4 {
		if y, err := strconv.Atoi(t); err == nil && y >= 1900 && y <= 2200 {
			year = y
			p.i++
		}
	}
	if year == 0 {
		year = today.Year
		if validDate(year, month, day) && (Date{year, month, day}).Before(today) {
			year++
		}
	}
	if !validDate(year, month, day) {
		return dateSpec{}, true, nonexistent("%s %d does not exist in %d", month, day, year)
	}
	d := Date{year, month, day}
	return dateSpec{set: true, d: d, today: d == today}, true, nil
}

func (p *enParser) rest() string {
	if p.i >= len(p.toks) {
		return ""
	}
	var b strings.Builder
	for k := p.i; k < len(p.toks) && k < p.i+5; k++ {
		if k > p.i {
			b.WriteByte(' ')
		}
		b.WriteString(p.toks[k].text)
	}
	return b.String()
}

func (p *enParser) eatName(name string) bool {
	ws := strings.Fields(strings.ReplaceAll(name, "-", " "))
	for k, w := range ws {
		if p.peek(k) != w {
			return false
		}
	}
	p.i += len(ws)
	return true
}

func (p *enParser) holiday(today Date) (dateSpec, error) {
	save := p.i
	shift := 0
	switch p.eat("the day before", "day before", "the eve of", "the day after", "day after") {
	case "the day before", "day before", "the eve of":
		shift = -1
	case "the day after", "day after":
		shift = 1
	}
	p.eat("the")
	year := 0
	if p.eat("next year's") != "" || p.eat("next years") != "" {
		year = today.Year + 1
	}
	for _, n := range fixedNames {
		if n[0] < 'a' || n[0] > 'z' {
			continue
		}
		if p.eatName(n) {
			md := fixedFestivals[n]
			y := year
			if y == 0 {
				y = today.Year
				if (Date{y, time.Month(md[0]), md[1]}).Before(today) {
					y++
				}
			}
			return dateSpec{set: true, d: Date{y, time.Month(md[0]), md[1]}.AddDays(shift)}, nil
		}
	}
	if p.cal != nil {
		for _, n := range p.cal.names {
			if n[0] < 'a' || n[0] > 'z' {
				continue
			}
			if p.eatName(n) {
				var h Holiday
				var err error
				if year != 0 {
					h, err = p.cal.Holiday(n, year)
				} else {
					h, err = p.cal.NextHoliday(n, today)
				}
				if err != nil {
					return dateSpec{}, err
				}
				d := h.Date.AddDays(shift)
				return dateSpec{set: true, d: d, today: d == today}, nil
			}
		}
	}
	p.i = save
	return dateSpec{}, nil
}

type relEN struct {
	d     time.Duration
	days  int
	clock bool
}

// relative parses "in 10 minutes", "in an hour and a half", "in half an hour",
// "in 2 hours and 30 minutes", "10 minutes from now", "in 3 days", "in two weeks".
func (p *enParser) relative() (relEN, bool) {
	save := p.i
	in := p.eat("in", "after") != ""
	var r relEN
	any := false
	for {
		s2 := p.i
		if p.eat("half an hour", "half a hour") != "" {
			r.d += 30 * time.Minute
			r.clock, any = true, true
		} else {
			var n float64
			if t := p.peek(0); strings.Contains(t, ".") {
				f, err := strconv.ParseFloat(t, 64)
				if err != nil {
					break
				}
				n = f
				p.i++
			} else if v, ok := p.number(true); ok {
				n = float64(v)
			} else {
				break
			}
			unit := p.eat("seconds", "second", "secs", "sec", "minutes", "minute", "mins", "min", "hours", "hour", "hrs", "hr", "days", "day", "weeks", "week")
			if unit == "" {
				p.i = s2
				break
			}
			any = true
			switch unit {
			case "seconds", "second", "secs", "sec":
				r.d += time.Duration(n * float64(time.Second))
				r.clock = true
			case "minutes", "minute", "mins", "min":
				r.d += time.Duration(n * float64(time.Minute))
				r.clock = true
			case "hours", "hour", "hrs", "hr":
				r.d += time.Duration(n * float64(time.Hour))
				r.clock = true
				if p.eat("and a half") != "" {
					r.d += 30 * time.Minute
				}
			case "days", "day":
				r.days += int(n)
			case "weeks", "week":
				r.days += 7 * int(n)
			}
		}
		if p.eat("and") == "" {
			break
		}
	}
	if !any {
		p.i = save
		return relEN{}, false
	}
	if !in && p.eat("from now", "later") == "" {
		p.i = save
		return relEN{}, false
	}
	if r.clock && r.days != 0 {
		r.d += time.Duration(r.days) * 24 * time.Hour
		r.days = 0
	}
	return r, true
}

// recurrence parses "every day", "daily", "every weekday", "every monday and friday",
// "every morning", "on weekdays", "every month on the 5th".
func (p *enParser) recurrence() (*Recurrence, string, error) {
	switch p.eat("every day", "everyday", "daily", "each day", "every morning", "every evening", "every night",
		"every weekday", "every working day", "every workday", "on weekdays", "weekdays", "every weekend", "on weekends") {
	case "every day", "everyday", "daily", "each day":
		return &Recurrence{Freq: "DAILY"}, "", nil
	case "every morning":
		return &Recurrence{Freq: "DAILY"}, "morning", nil
	case "every evening":
		return &Recurrence{Freq: "DAILY"}, "evening", nil
	case "every night":
		return &Recurrence{Freq: "DAILY"}, "night", nil
	case "every weekday", "every working day", "every workday", "on weekdays", "weekdays":
		if p.cal != nil && p.cal.ID != "" {
			return &Recurrence{Freq: "DAILY", Workdays: p.cal.ID}, "", nil
		}
		return &Recurrence{Freq: "WEEKLY", ByDay: []time.Weekday{1, 2, 3, 4, 5}}, "", nil
	case "every weekend", "on weekends":
		return &Recurrence{Freq: "WEEKLY", ByDay: []time.Weekday{6, 0}}, "", nil
	}
	save := p.i
	if p.eat("every") != "" {
		var days []time.Weekday
		for {
			wd, ok := enWeekdays[strings.TrimSuffix(p.peek(0), "s")]
			if !ok {
				wd, ok = enWeekdays[p.peek(0)]
			}
			if !ok {
				break
			}
			p.i++
			days = append(days, wd)
			s2 := p.i
			if p.eat("and") == "" {
				if _, ok := enWeekdays[p.peek(0)]; !ok {
					break
				}
				continue
			}
			if _, ok := enWeekdays[p.peek(0)]; !ok {
				p.i = s2
				break
			}
		}
		if len(days) > 0 {
			return &Recurrence{Freq: "WEEKLY", ByDay: days}, "", nil
		}
		if p.eat("month on the", "month on") != "" {
			d, ok := p.ordinal()
			if ok {
				if d < 1 || d > 31 {
					return nil, "", nonexistent("day %d of the month", d)
				}
				return &Recurrence{Freq: "MONTHLY", ByMonthDay: d}, "", nil
			}
		}
		p.i = save
	}
	return nil, "", nil
}
