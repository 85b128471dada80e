package when

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// FindZH finds the first Chinese time expression in the folded text s (see Fold) and
// resolves it against now (whose location is the device's time zone). ok is false when
// there is none. When an expression is found but names a time that does not exist or is
// ambiguous, the match is returned together with an error wrapping ErrNonexistent,
// ErrAmbiguous or ErrNotCovered.
func (r *Resolver) FindZH(s string, now time.Time) (m Match, ok bool, err error) {
	for i := 0; i < len(s); {
		// "记一下周日": the 下 belongs to the particle 一下, not to 下周日.
		if strings.HasPrefix(s[i:], "下") && strings.HasSuffix(s[:i], "一") && !strings.HasPrefix(s[i:], "下下") {
			i += len("下")
			continue
		}
		p := zhParser{s: s, i: i, now: now, loc: now.Location(), cal: r.Cal, defPeriod: zhPeriodOf[r.Period]}
		v, perr := p.expr()
		if p.i > i && !p.empty {
			return Match{Start: i, End: p.i, Value: v}, true, perr
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return Match{}, false, nil
}

// ResolveZH resolves s, which must be one time expression and nothing else.
func (r *Resolver) ResolveZH(s string, now time.Time) (Value, error) {
	s = Fold(s)
	p := zhParser{s: s, now: now, loc: now.Location(), cal: r.Cal, defPeriod: zhPeriodOf[r.Period]}
	v, err := p.expr()
	if err != nil {
		return v, err
	}
	if p.empty || p.i != len(s) {
		return Value{}, errors.New("when: not a time expression")
	}
	return v, nil
}

type zhParser struct {
	s     string
	i     int
	now   time.Time
	loc   *time.Location
	cal   *Calendar
	empty bool // nothing time-like was consumed
	// defPeriod applies to clock times said without a period of the day.
	defPeriod string
}

var zhPeriodOf = map[string]string{"morning": "上午", "afternoon": "下午", "evening": "晚上"}

func (p *zhParser) rest() string { return p.s[p.i:] }

// eat consumes the first of words that the input continues with.
func (p *zhParser) eat(words ...string) string {
	for _, w := range words {
		if strings.HasPrefix(p.rest(), w) {
			p.i += len(w)
			return w
		}
	}
	return ""
}

// num consumes a number.
func (p *zhParser) num() (int, bool) {
	v, n := Number(p.rest())
	if n == 0 {
		return 0, false
	}
	p.i += n
	return v, true
}

var zhWeekday = map[string]time.Weekday{"一": time.Monday, "二": time.Tuesday, "三": time.Wednesday, "四": time.Thursday,
	"五": time.Friday, "六": time.Saturday, "日": time.Sunday, "天": time.Sunday, "1": time.Monday, "2": time.Tuesday,
	"3": time.Wednesday, "4": time.Thursday, "5": time.Friday, "6": time.Saturday, "7": time.Sunday}

func (p *zhParser) weekdayDigit() (time.Weekday, bool) {
	for k, d := range zhWeekday {
		if strings.HasPrefix(p.rest(), k) {
			p.i += len(k)
			return d, true
		}
	}
	return 0, false
}

// period words, longest first.
var zhPeriods = []string{"今天早上", "凌晨", "清晨", "早晨", "早上", "一早", "上午", "中午", "午后", "下午", "傍晚", "晚上", "夜里", "夜晚", "半夜", "深夜", "午夜", "白天"}

type dateSpec struct {
	set      bool
	d        Date
	today    bool // explicitly today (今天), or implied
	weekBare bool // bare weekday: may roll over a week if the time has passed
	period   string
}

func (p *zhParser) expr() (Value, error) {
	start := p.i
	var v Value
	today := DateOf(p.now)
	recur, rerr := p.recurrence()
	if rerr != nil {
		return v, rerr
	}
	var ds dateSpec
	var rel time.Duration
	relClock := false
	if recur == nil {
		var err error
		ds, err = p.date(today)
		if err != nil {
			// Consume the rest of the expression so the match covers "2月30号早上八点".
			p.eat("的")
			p.eat(zhPeriods...)
			p.clock()
			return v, err
		}
		if !ds.set {
			d, n, clockUnit, ok := p.relative()
			if ok {
				if clockUnit {
					rel, relClock = d, true
				} else {
					ds = dateSpec{set: true, d: today.AddDays(n)}
				}
			}
		}
	} else if recur.period != "" {
		ds.period = recur.period
	}
	if relClock {
		v = Value{Time: p.now.Add(rel), HasDate: true, HasClock: true, Relative: true, Duration: rel}
		return v, nil
	}
	p.eat("的")
	period := ds.period
	if period == "" {
		period = p.eat(zhPeriods...)
		if period == "今天早上" {
			period, ds = "早上", dateSpec{set: true, d: today, today: true}
		}
	}
	h, mi, hasClock, cerr := p.clock()
	if period == "" && hasClock && p.defPeriod != "" && h >= 1 && h <= 12 {
		period = p.defPeriod
	}
	if p.i == start || (!ds.set && recur == nil && period == "" && !hasClock && cerr == nil) {
		// Nothing time-like: a lone "的" is not a time expression.
		p.i = start
		p.empty = true
		return v, nil
	}
	if cerr != nil {
		return v, cerr
	}
	// A clock range: "三点到四点", "下午两点-三点".
	var endH, endM int
	hasEnd := false
	if hasClock {
		save := p.i
		if p.eat("到", "至", "-", "~", "—", "－") != "" {
			endPeriod := p.eat(zhPeriods...)
			eh, em, ok, err := p.clock()
			if err != nil {
				return v, err
			}
			if ok {
				hasEnd, endH, endM = true, eh, em
				if endPeriod != "" {
					if endH, err = applyPeriod(endPeriod, endH); err != nil {
						return v, err
					}
				}
			} else {
				p.i = save
			}
		}
	}
	if recur != nil {
		v.Recur = &recur.Recurrence
		v.HasDate = true
		if !hasClock {
			v.Period = period
			return v, nil
		}
		hh, amb, err := p.hour(period, h, false)
		if err != nil {
			return v, err
		}
		if amb {
			return v, ambiguous(h)
		}
		first, err := p.firstOccurrence(recur, hh, mi)
		if err != nil {
			return v, err
		}
		v.Time, v.HasClock = first, true
		return v, nil
	}
	base := today
	if ds.set {
		base = ds.d
		v.HasDate = true
	}
	if !hasClock {
		v.Time = base.In(p.loc)
		v.Period = period
		return v, nil
	}
	explicitFuture := ds.set && !ds.today && base != today
	hh, amb, err := p.hour(period, h, explicitFuture)
	if err != nil {
		return v, err
	}
	dayShift := 0
	if hh >= 24 {
		hh -= 24
		dayShift = 1
	}
	if amb && explicitFuture {
		return v, ambiguous(h)
	}
	t := at(base.AddDays(dayShift), hh, mi, p.loc)
	if amb {
		// Today, no period: the next of h and h+12 that is still ahead.
		if !t.After(p.now) {
			alt := hh + 12
			if hh == 12 {
				alt = 24
			}
			t = at(base, 0, 0, p.loc).Add(time.Duration(alt)*time.Hour + time.Duration(mi)*time.Minute)
			t = at(DateOf(t), t.Hour(), t.Minute(), p.loc)
		}
	}
	if !ds.set && !t.After(p.now) {
		t = at(DateOf(t).AddDays(1), t.Hour(), t.Minute(), p.loc)
	}
	if ds.weekBare && !t.After(p.now) {
		t = at(DateOf(t).AddDays(7), t.Hour(), t.Minute(), p.loc)
	}
	if !amb {
		if err := checkExists(t, hh, mi); err != nil {
			return v, err
		}
	}
	v.Time, v.HasClock = t, true
	if hasEnd {
		eh := endH
		if period != "" && eh < 12 && t.Hour() >= 12 {
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

func ambiguous(h int) error {
	return &ambiguityError{h}
}

type ambiguityError struct{ hour int }

func (e *ambiguityError) Error() string {
	return "when: ambiguous time: " + itoa(e.hour) + " o'clock could be morning or afternoon"
}
func (e *ambiguityError) Unwrap() error { return ErrAmbiguous }

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// hour applies the period of the day to h. amb reports an hour 1–12 without a period
// that could be either half of the day. For explicit future days, 7–12 o'clock without a
// period are read as morning/noon (明天八点 is 08:00); 1–6 stay ambiguous.
func (p *zhParser) hour(period string, h int, explicitFuture bool) (hh int, amb bool, err error) {
	if period != "" {
		hh, err = applyPeriod(period, h)
		return hh, false, err
	}
	if h == 0 || h >= 13 {
		if h == 24 {
			return 24, false, nil
		}
		return h, false, nil
	}
	if explicitFuture {
		if h >= 7 {
			return h, false, nil
		}
		return h, true, nil
	}
	return h, true, nil
}

// applyPeriod turns an hour said with a period of the day into a 24-hour value; values
// of 24 or more mean the next day.
func applyPeriod(period string, h int) (int, error) {
	bad := func() (int, error) { return 0, nonexistent("%s%d点", period, h) }
	switch period {
	case "凌晨":
		switch {
		case h == 12 || h == 24:
			return 0, nil
		case h < 12:
			return h, nil
		}
		return bad()
	case "清晨", "早晨", "早上", "一早", "上午", "白天":
		if h <= 12 {
			return h, nil
		}
		return bad()
	case "中午":
		switch {
		case h == 11 || h == 12:
			return h, nil
		case h >= 1 && h <= 3:
			return h + 12, nil
		case h >= 13 && h <= 15:
			return h, nil
		}
		return bad()
	case "午后", "下午", "傍晚":
		switch {
		case h >= 1 && h < 12:
			return h + 12, nil
		case h >= 12 && h < 24:
			return h, nil
		}
		return bad()
	case "晚上", "夜里", "夜晚", "半夜", "深夜", "午夜":
		switch {
		case h == 12 || h == 0 || h == 24:
			return 24, nil
		case h >= 1 && h <= 4:
			return 24 + h, nil
		case h >= 5 && h < 12:
			return h + 12, nil
		case h >= 17 && h < 24:
			return h, nil
		}
		return bad()
	}
	return h, nil
}

// clock parses 三点, 三点半, 三点一刻, 十二点三刻, 三点零五分, 15:30, 七点整, 差五分三点.
func (p *zhParser) clock() (h, m int, ok bool, err error) {
	save := p.i
	if p.eat("差") != "" {
		n, okn := p.num()
		if okn && p.eat("分钟", "分") != "" {
			hh, okh := p.num()
			if okh && p.eat("点", "时") != "" {
				if hh > 24 || n > 59 || n == 0 {
					return 0, 0, false, nonexistent("差%d分%d点", n, hh)
				}
				t := (hh*60 - n + 24*60) % (24 * 60)
				return t / 60, t % 60, true, nil
			}
		}
		p.i = save
		return 0, 0, false, nil
	}
	if strings.HasPrefix(p.rest(), "一点") && isAmountPrefix(p.s[:p.i]) {
		return 0, 0, false, nil
	}
	hh, okh := p.num()
	if !okh || hh > 99 {
		p.i = save
		return 0, 0, false, nil
	}
	if p.eat(":") != "" {
		mm, n := Number(p.rest())
		if n != 2 || p.rest()[0] < '0' || p.rest()[0] > '9' {
			p.i = save
			return 0, 0, false, nil
		}
		p.i += n
		return checkClock(hh, mm)
	}
	if p.eat("点钟", "点", "时") == "" {
		p.i = save
		return 0, 0, false, nil
	}
	switch {
	case p.eat("半") != "":
		return checkClock(hh, 30)
	case p.eat("一刻") != "":
		return checkClock(hh, 15)
	case p.eat("三刻") != "":
		return checkClock(hh, 45)
	case p.eat("整") != "":
		return checkClock(hh, 0)
	case strings.HasPrefix(p.rest(), "差"):
		s2 := p.i
		p.i += len("差")
		if n, okn := p.num(); okn && p.eat("分钟", "分") != "" {
			if hh > 24 || n > 59 || n == 0 {
				return 0, 0, false, nonexistent("%d点差%d分", hh, n)
			}
			t := (hh*60 - n + 24*60) % (24 * 60)
			return t / 60, t % 60, true, nil
		}
		p.i = s2
	}
	s2 := p.i
	zero := p.eat("零", "〇") != ""
	if mm, okm := p.num(); okm {
		unit := p.eat("分钟", "分") != ""
		if unit || zero || mm >= 10 {
			return checkClock(hh, mm)
		}
	}
	p.i = s2
	return checkClock(hh, 0)
}

// isAmountPrefix reports whether the text before a number makes "一点" mean "a bit"
// (大一点, 亮一点, 早一点) rather than one o'clock.
func isAmountPrefix(before string) bool {
	r, _ := utf8.DecodeLastRuneInString(before)
	return strings.ContainsRune("大小亮暗高低快慢早晚多少响轻强弱长短调", r)
}

func checkClock(h, m int) (int, int, bool, error) {
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, 0, false, nonexistent("%d点%d分", h, m)
	}
	return h, m, true, nil
}

// date parses a day: relative days, weekdays, month days, holidays, working days.
func (p *zhParser) date(today Date) (dateSpec, error) {
	switch w := p.eat("大后天", "今天", "今日", "今儿", "明天", "明日", "明儿", "后天", "昨天", "前天", "今晚", "今早", "明早", "明晚", "后儿"); w {
	case "今天", "今日", "今儿":
		return dateSpec{set: true, d: today, today: true}, nil
	case "今晚":
		return dateSpec{set: true, d: today, today: true, period: "晚上"}, nil
	case "今早":
		return dateSpec{set: true, d: today, today: true, period: "早上"}, nil
	case "明天", "明日", "明儿":
		return dateSpec{set: true, d: today.AddDays(1)}, nil
	case "明早":
		return dateSpec{set: true, d: today.AddDays(1), period: "早上"}, nil
	case "明晚":
		return dateSpec{set: true, d: today.AddDays(1), period: "晚上"}, nil
	case "后天", "后儿":
		return dateSpec{set: true, d: today.AddDays(2)}, nil
	case "大后天":
		return dateSpec{set: true, d: today.AddDays(3)}, nil
	case "昨天":
		return dateSpec{set: true, d: today.AddDays(-1)}, nil
	case "前天":
		return dateSpec{set: true, d: today.AddDays(-2)}, nil
	}
	if p.eat("下一个工作日", "下个工作日", "下一工作日") != "" {
		if p.cal == nil {
			return dateSpec{}, ErrNotCovered
		}
		d, err := p.cal.NextWorkday(today)
		if err != nil {
			return dateSpec{}, err
		}
		return dateSpec{set: true, d: d}, nil
	}
	if ds, ok, err := p.weekday(today); ok || err != nil {
		return ds, err
	}
	if ds, ok, err := p.monthDay(today); ok || err != nil {
		return ds, err
	}
	return p.holiday(today)
}

func (p *zhParser) weekday(today Date) (dateSpec, bool, error) {
	save := p.i
	weeks := 0
	bare := false
	switch p.eat("下下个", "下下", "下个", "下一个", "下", "这个", "这", "本", "上个", "上") {
	case "下下个", "下下":
		weeks = 2
	case "下个", "下一个", "下":
		weeks = 1
	case "上个", "上":
		weeks = -1
	case "这个", "这", "本":
	default:
		bare = true
	}
	if p.eat("周", "星期", "礼拜") == "" {
		p.i = save
		return dateSpec{}, false, nil
	}
	var wd time.Weekday
	if p.eat("末") != "" {
		wd = time.Saturday
	} else {
		d, ok := p.weekdayDigit()
		if !ok {
			p.i = save
			return dateSpec{}, false, nil
		}
		wd = d
	}
	// Weeks start on Monday.
	off := (int(today.Weekday()) + 6) % 7
	monday := today.AddDays(-off)
	d := monday.AddDays(7*weeks + (int(wd)+6)%7)
	if bare && d.Before(today) {
		d = d.AddDays(7)
	}
	return dateSpec{set: true, d: d, weekBare: bare, today: d == today && !bare}, true, nil
}

func (p *zhParser) monthDay(today Date) (dateSpec, bool, error) {
	save := p.i
	year, month, day := 0, 0, 0
	yearSet, monthSet := false, false
	switch p.eat("今年", "明年", "去年") {
	case "今年":
		year, yearSet = today.Year, true
	case "明年":
		year, yearSet = today.Year+1, true
	case "去年":
		year, yearSet = today.Year-1, true
	}
	monthRel := -99
	switch p.eat("下个月", "下月", "这个月", "本月", "上个月", "上月") {
	case "下个月", "下月":
		monthRel = 1
	case "这个月", "本月":
		monthRel = 0
	case "上个月", "上月":
		monthRel = -1
	}
	if monthRel != -99 {
		if p.eat("底", "末") != "" {
			first := time.Date(today.Year, today.Month+time.Month(monthRel), 1, 12, 0, 0, 0, time.UTC)
			y, m := first.Year(), first.Month()
			return dateSpec{set: true, d: Date{y, m, daysIn(y, m)}}, true, nil
		}
		p.eat("的")
		d, ok := p.num()
		if !ok || p.eat("号", "日") == "" {
			p.i = save
			return dateSpec{}, false, nil
		}
		first := time.Date(today.Year, today.Month+time.Month(monthRel), 1, 12, 0, 0, 0, time.UTC)
		y, m := first.Year(), first.Month()
		if !validDate(y, m, d) {
			return dateSpec{}, true, nonexistent("%d月没有%d号", int(m), d)
		}
		return dateSpec{set: true, d: Date{y, m, d}}, true, nil
	}
	if p.eat("月底", "月末") != "" {
		return dateSpec{set: true, d: Date{today.Year, today.Month, daysIn(today.Year, today.Month)}}, true, nil
	}
	// ISO date.
	if len(p.rest()) >= 10 && p.rest()[4] == '-' && p.rest()[7] == '-' {
		if t, err := time.Parse(time.DateOnly, p.rest()[:10]); err == nil {
			p.i += 10
			return dateSpec{set: true, d: DateOf(t)}, true, nil
		}
	}
	n, ok := p.num()
	if !ok {
		p.i = save
		return dateSpec{}, false, nil
	}
	if p.eat("年") != "" {
		if yearSet || n < 1900 || n > 2200 {
			p.i = save
			return dateSpec{}, false, nil
		}
		year, yearSet = n, true
		if n, ok = p.num(); !ok {
			p.i = save
			return dateSpec{}, false, nil
		}
	}
	if p.eat("月") != "" {
		month, monthSet = n, true
		if p.eat("底", "末") != "" {
			if !yearSet {
				year = today.Year
			}
			if month < 1 || month > 12 {
				return dateSpec{}, true, nonexistent("%d月", month)
			}
			return dateSpec{set: true, d: Date{year, time.Month(month), daysIn(year, time.Month(month))}}, true, nil
		}
		if n, ok = p.num(); !ok {
			p.i = save
			return dateSpec{}, false, nil
		}
		day = n
		if p.eat("号", "日") == "" {
			// "12月5" is a date only if no unit follows.
			if strings.HasPrefix(p.rest(), "点") || strings.HasPrefix(p.rest(), "个") || strings.HasPrefix(p.rest(), "天") {
				p.i = save
				return dateSpec{}, false, nil
			}
		}
	} else if yearSet {
		p.i = save
		return dateSpec{}, false, nil
	} else if p.eat("号", "日") != "" {
		day = n
	} else {
		p.i = save
		return dateSpec{}, false, nil
	}
	if monthSet && (month < 1 || month > 12) {
		return dateSpec{}, true, nonexistent("没有%d月", month)
	}
	if !monthSet {
		// "5号": this month if still ahead (or today), else next month.
		y, m := today.Year, today.Month
		if day < today.Day {
			nm := time.Date(y, m+1, 1, 12, 0, 0, 0, time.UTC)
			y, m = nm.Year(), nm.Month()
		}
		if !validDate(y, m, day) {
			return dateSpec{}, true, nonexistent("%d月没有%d号", int(m), day)
		}
		d := Date{y, m, day}
		return dateSpec{set: true, d: d, today: d == today}, true, nil
	}
	if !yearSet {
		// The next such day that exists: 2月29号 looks ahead to the next leap year.
		year = today.Year
		for y := today.Year; y <= today.Year+8; y++ {
			if validDate(y, time.Month(month), day) && !(Date{y, time.Month(month), day}).Before(today) {
				year = y
				break
			}
		}
	}
	if !validDate(year, time.Month(month), day) {
		if month == 2 && day == 29 {
			return dateSpec{}, true, nonexistent("%d年2月没有29号", year)
		}
		return dateSpec{}, true, nonexistent("%d月没有%d号", month, day)
	}
	d := Date{year, time.Month(month), day}
	return dateSpec{set: true, d: d, today: d == today}, true, nil
}

// fixedFestivals are festivals with a fixed Gregorian date; they need no official notice.
var fixedFestivals = map[string][2]int{
	"圣诞节": {12, 25}, "圣诞": {12, 25}, "平安夜": {12, 24}, "情人节": {2, 14}, "儿童节": {6, 1},
	"妇女节": {3, 8}, "教师节": {9, 10}, "christmas day": {12, 25}, "christmas eve": {12, 24},
	"christmas": {12, 25}, "valentine's day": {2, 14}, "new year's eve": {12, 31},
}

var fixedNames = []string{"christmas day", "christmas eve", "valentine's day", "new year's eve", "圣诞节", "圣诞", "平安夜", "情人节", "儿童节", "妇女节", "教师节", "christmas"}

func (p *zhParser) holiday(today Date) (dateSpec, error) {
	save := p.i
	year := 0
	switch p.eat("今年", "明年") {
	case "今年":
		year = today.Year
	case "明年":
		year = today.Year + 1
	}
	var d Date
	found := false
	for _, n := range fixedNames {
		if strings.HasPrefix(p.rest(), n) {
			md := fixedFestivals[n]
			y := year
			if y == 0 {
				y = today.Year
				if (Date{y, time.Month(md[0]), md[1]}).Before(today) {
					y++
				}
			}
			d, found = Date{y, time.Month(md[0]), md[1]}, true
			p.i += len(n)
			break
		}
	}
	var hol Holiday
	if !found && p.cal != nil {
		name := p.cal.matchName(p.rest())
		if name == "五一" && isDigitish(p.rest()[len(name):]) {
			name = ""
		}
		if name != "" {
			p.i += len(name)
			var err error
			if year != 0 {
				hol, err = p.cal.Holiday(name, year)
			} else {
				hol, err = p.cal.NextHoliday(name, today)
			}
			if err != nil {
				return dateSpec{}, err
			}
			d, found = hol.Date, true
		}
	}
	if !found {
		p.i = save
		return dateSpec{}, nil
	}
	p.eat("节")
	if hol.Key != "" && hol.Off[0] == (Date{}) && strings.HasPrefix(p.rest(), "假期") || hol.Key != "" && hol.Off[0] == (Date{}) && strings.HasPrefix(p.rest(), "放假") {
		return dateSpec{}, p.cal.CoverageError(hol.Date.Year)
	}
	switch {
	case p.eat("假期第一天", "放假第一天") != "" && hol.Key != "":
		d = hol.Off[0]
	case p.eat("假期最后一天", "放假最后一天") != "" && hol.Key != "":
		d = hol.Off[1]
	case p.eat("放假前一天", "放假前") != "" && hol.Key != "":
		d = hol.Off[0].AddDays(-1)
	case p.eat("前一天", "前夕", "的前一天") != "":
		d = d.AddDays(-1)
	case p.eat("后一天", "的后一天", "第二天") != "":
		d = d.AddDays(1)
	default:
		s2 := p.i
		if p.eat("前", "后") != "" {
			dir := p.s[p.i-len("前") : p.i]
			if n, ok := p.num(); ok && p.eat("天") != "" && n <= 366 {
				if dir == "前" {
					d = d.AddDays(-n)
				} else {
					d = d.AddDays(n)
				}
				break
			}
			p.i = s2
		}
		p.eat("当天", "那天", "那一天")
	}
	return dateSpec{set: true, d: d, today: d == today}, nil
}

func isDigitish(s string) bool {
	for _, w := range []string{"点", "号", "日", "月", "个", "分", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"} {
		if strings.HasPrefix(s, w) {
			return true
		}
	}
	return false
}

// relative parses "十分钟后", "一个半小时以后", "过二十分钟", "三天后", "两周后".
// clockUnit reports an offset in seconds/minutes/hours (an instant), otherwise days is set.
func (p *zhParser) relative() (d time.Duration, days int, clockUnit, ok bool) {
	save := p.i
	pass := p.eat("过") != ""
	any := false
	for {
		s2 := p.i
		var n int
		half := false
		if p.eat("半") != "" {
			half = true
		} else if v, okn := p.num(); okn {
			n = v
		} else {
			break
		}
		p.eat("个")
		if !half && p.eat("半") != "" {
			// "一个半小时"
			half = true
		}
		unit := p.eat("秒钟", "秒", "分钟", "分", "刻钟", "小时", "钟头", "天", "周", "星期", "礼拜", "月")
		if unit == "" || n > 100000 {
			p.i = s2
			break
		}
		if unit != "分" && unit != "秒" && p.eat("半") != "" {
			half = true
		}
		any = true
		switch unit {
		case "秒钟", "秒":
			d += time.Duration(n) * time.Second
			clockUnit = true
		case "分钟", "分":
			d += time.Duration(n) * time.Minute
			clockUnit = true
		case "刻钟":
			d += time.Duration(n) * 15 * time.Minute
			clockUnit = true
		case "小时", "钟头":
			d += time.Duration(n) * time.Hour
			if half {
				d += 30 * time.Minute
			}
			clockUnit = true
		case "天":
			days += n
		case "周", "星期", "礼拜":
			days += 7 * n
		case "月":
			first := time.Date(p.now.Year(), p.now.Month()+time.Month(n), 1, 12, 0, 0, 0, time.UTC)
			dd := p.now.Day()
			if m := daysIn(first.Year(), first.Month()); dd > m {
				dd = m // "一个月后" on Jan 31 is the last day of February
			}
			target := Date{first.Year(), first.Month(), dd}
			days += int(target.In(time.UTC).Sub(DateOf(p.now).In(time.UTC)).Hours() / 24)
		}
	}
	if !any {
		p.i = save
		return 0, 0, false, false
	}
	if p.eat("以后", "之后", "后") == "" && !pass {
		p.i = save
		return 0, 0, false, false
	}
	if clockUnit && days != 0 {
		d += time.Duration(days) * 24 * time.Hour
		days = 0
	}
	return d, days, clockUnit, true
}

type recurSpec struct {
	Recurrence
	period string
}

func (p *zhParser) recurrence() (*recurSpec, error) {
	switch p.eat("每天", "每日", "天天", "每一天", "每晚", "每天晚上", "每早", "每个工作日", "每一个工作日", "工作日", "每个周末", "每周末") {
	case "每天", "每日", "天天", "每一天":
		return &recurSpec{Recurrence: Recurrence{Freq: "DAILY"}}, nil
	case "每晚", "每天晚上":
		return &recurSpec{Recurrence: Recurrence{Freq: "DAILY"}, period: "晚上"}, nil
	case "每早":
		return &recurSpec{Recurrence: Recurrence{Freq: "DAILY"}, period: "早上"}, nil
	case "每个工作日", "每一个工作日", "工作日":
		if p.cal != nil && p.cal.ID != "" {
			return &recurSpec{Recurrence: Recurrence{Freq: "DAILY", Workdays: p.cal.ID}}, nil
		}
		return &recurSpec{Recurrence: Recurrence{Freq: "WEEKLY", ByDay: []time.Weekday{1, 2, 3, 4, 5}}}, nil
	case "每个周末", "每周末":
		return &recurSpec{Recurrence: Recurrence{Freq: "WEEKLY", ByDay: []time.Weekday{6, 0}}}, nil
	}
	save := p.i
	if days, ok := p.weekdayRange(); ok {
		return &recurSpec{Recurrence: Recurrence{Freq: "WEEKLY", ByDay: days}}, nil
	}
	if p.eat("每") == "" {
		return nil, nil
	}
	p.eat("个")
	if days, ok := p.weekdayRange(); ok {
		return &recurSpec{Recurrence: Recurrence{Freq: "WEEKLY", ByDay: days}}, nil
	}
	p.eat("个")
	if p.eat("周", "星期", "礼拜") != "" {
		var days []time.Weekday
		for {
			d, ok := p.weekdayDigit()
			if !ok {
				break
			}
			days = append(days, d)
			s2 := p.i
			p.eat("、", "和", ",", "，", "跟", "及")
			p.eat("周", "星期", "礼拜")
			if _, ok := p.weekdayDigit(); !ok {
				p.i = s2
				break
			}
			_, size := utf8.DecodeLastRuneInString(p.s[:p.i])
			p.i -= size // read it again at the top of the loop
		}
		if len(days) == 0 {
			p.i = save
			return nil, nil
		}
		return &recurSpec{Recurrence: Recurrence{Freq: "WEEKLY", ByDay: days}}, nil
	}
	if p.eat("月") != "" {
		p.eat("的")
		n, ok := p.num()
		if !ok || p.eat("号", "日") == "" {
			p.i = save
			return nil, nil
		}
		if n < 1 || n > 31 {
			return nil, nonexistent("每月%d号", n)
		}
		return &recurSpec{Recurrence: Recurrence{Freq: "MONTHLY", ByMonthDay: n}}, nil
	}
	p.i = save
	return nil, nil
}

// weekdayRange parses "周一到周五", "星期一至星期五": every day of the range.
func (p *zhParser) weekdayRange() ([]time.Weekday, bool) {
	save := p.i
	if p.eat("周", "星期", "礼拜") == "" {
		return nil, false
	}
	a, ok := p.weekdayDigit()
	if !ok || p.eat("到", "至", "-", "~") == "" {
		p.i = save
		return nil, false
	}
	p.eat("周", "星期", "礼拜")
	b, ok := p.weekdayDigit()
	if !ok {
		p.i = save
		return nil, false
	}
	// Monday-based positions, so 周一到周日 works.
	ia, ib := (int(a)+6)%7, (int(b)+6)%7
	if ib <= ia {
		p.i = save
		return nil, false
	}
	var days []time.Weekday
	for i := ia; i <= ib; i++ {
		days = append(days, time.Weekday((i+1)%7))
	}
	return days, true
}

// firstOccurrence returns the first instant at h:m that the rule allows, at or after now.
func (p *zhParser) firstOccurrence(rs *recurSpec, h, m int) (time.Time, error) {
	return firstOccurrence(&rs.Recurrence, h, m, p.now, p.cal)
}

func firstOccurrence(r *Recurrence, h, m int, now time.Time, cal *Calendar) (time.Time, error) {
	day := DateOf(now)
	if h >= 24 {
		h -= 24
	}
	for i := 0; i < 800; i++ {
		d := day.AddDays(i)
		t := at(d, h, m, now.Location())
		if t.Before(now) {
			continue
		}
		switch {
		case r.Workdays != "":
			ok, err := cal.IsWorkday(d)
			if err != nil {
				return time.Time{}, err
			}
			if !ok {
				continue
			}
		case r.Freq == "WEEKLY":
			match := false
			for _, wd := range r.ByDay {
				match = match || wd == d.Weekday()
			}
			if !match {
				continue
			}
		case r.Freq == "MONTHLY":
			if d.Day != r.ByMonthDay {
				continue
			}
		}
		return t, nil
	}
	return time.Time{}, nonexistent("no occurrence of %s", r.RRULE())
}
