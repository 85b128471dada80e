package when

import (
	"errors"
	"testing"
	"time"
)

func mustCal(t testing.TB) *Calendar {
	t.Helper()
	c, err := LoadCalendar("cn")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustNow(t testing.TB, tz, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	n, err := time.ParseInLocation("2006-01-02T15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A Monday morning in Beijing.
const (
	sh    = "Asia/Shanghai"
	mon10 = "2026-11-23T10:00"
)

type resolveCase struct {
	name  string
	tz    string
	now   string
	expr  string
	want  string // RFC 3339 instant, or "err:nonexistent", "err:ambiguous", "err:notcovered"
	end   string // RFC 3339 end of a range
	rrule string
	date  bool // date only (no clock)
}

func runResolve(t *testing.T, cases []resolveCase, en bool) {
	t.Helper()
	r := NewResolver(mustCal(t))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tz := tc.tz
			if tz == "" {
				tz = sh
			}
			nowS := tc.now
			if nowS == "" {
				nowS = mon10
			}
			now := mustNow(t, tz, nowS)
			var v Value
			var err error
			if en {
				v, err = r.ResolveEN(tc.expr, now)
			} else {
				v, err = r.ResolveZH(tc.expr, now)
			}
			switch tc.want {
			case "err:nonexistent", "err:ambiguous", "err:notcovered":
				target := map[string]error{"err:nonexistent": ErrNonexistent, "err:ambiguous": ErrAmbiguous, "err:notcovered": ErrNotCovered}[tc.want]
				if !errors.Is(err, target) {
					t.Fatalf("%q: got (%v, %v), want %v", tc.expr, v.Time, err, target)
				}
				return
			}
			if err != nil {
				t.Fatalf("%q: %v", tc.expr, err)
			}
			if got := v.Time.Format(time.RFC3339); got != tc.want {
				t.Errorf("%q: time = %s, want %s", tc.expr, got, tc.want)
			}
			if v.HasClock == tc.date {
				t.Errorf("%q: HasClock = %v, want %v", tc.expr, v.HasClock, !tc.date)
			}
			gotEnd := ""
			if !v.End.IsZero() {
				gotEnd = v.End.Format(time.RFC3339)
			}
			if gotEnd != tc.end {
				t.Errorf("%q: end = %q, want %q", tc.expr, gotEnd, tc.end)
			}
			gotR := ""
			if v.Recur != nil {
				gotR = v.Recur.RRULE()
			}
			if gotR != tc.rrule {
				t.Errorf("%q: rrule = %q, want %q", tc.expr, gotR, tc.rrule)
			}
		})
	}
}

func TestResolveZH(t *testing.T) {
	runResolve(t, []resolveCase{
		{name: "tomorrow morning", expr: "明天早上七点", want: "2026-11-24T07:00:00+08:00"},
		{name: "today half past", expr: "今天下午三点半", want: "2026-11-23T15:30:00+08:00"},
		{name: "quarter", expr: "后天晚上八点一刻", want: "2026-11-25T20:15:00+08:00"},
		{name: "three quarters", expr: "十二点三刻", want: "2026-11-23T12:45:00+08:00"},
		{name: "noon big after tomorrow", expr: "大后天中午十二点", want: "2026-11-26T12:00:00+08:00"},
		{name: "bare hour passed morning", expr: "三点", want: "2026-11-23T15:00:00+08:00"},
		{name: "bare nine", expr: "九点", want: "2026-11-23T21:00:00+08:00"},
		{name: "bare eleven", expr: "十一点", want: "2026-11-23T11:00:00+08:00"},
		{name: "early morning rolls", expr: "凌晨三点", want: "2026-11-24T03:00:00+08:00"},
		{name: "midnight", expr: "晚上十二点", want: "2026-11-24T00:00:00+08:00"},
		{name: "in ten minutes", expr: "十分钟后", want: "2026-11-23T10:10:00+08:00"},
		{name: "hour and a half", expr: "一个半小时后", want: "2026-11-23T11:30:00+08:00"},
		{name: "half hour", expr: "半小时以后", want: "2026-11-23T10:30:00+08:00"},
		{name: "pass twenty minutes", expr: "过二十分钟", want: "2026-11-23T10:20:00+08:00"},
		{name: "hour twenty", expr: "一小时二十分钟后", want: "2026-11-23T11:20:00+08:00"},
		{name: "next wednesday", expr: "下周三下午两点", want: "2026-12-02T14:00:00+08:00"},
		{name: "bare friday", expr: "周五", want: "2026-11-27T00:00:00+08:00", date: true},
		{name: "this sunday", expr: "这周日", want: "2026-11-29T00:00:00+08:00", date: true},
		{name: "last friday", expr: "上周五", want: "2026-11-20T00:00:00+08:00", date: true},
		{name: "libai", expr: "礼拜六上午十点", want: "2026-11-28T10:00:00+08:00"},
		{name: "next month fifth", expr: "下个月五号", want: "2026-12-05T00:00:00+08:00", date: true},
		{name: "year end", expr: "12月31号晚上11点59分", want: "2026-12-31T23:59:00+08:00"},
		{name: "month day next year", expr: "3月5号", want: "2027-03-05T00:00:00+08:00", date: true},
		{name: "full date", expr: "2026年11月30号", want: "2026-11-30T00:00:00+08:00", date: true},
		{name: "15 oclock", expr: "十五点", want: "2026-11-23T15:00:00+08:00"},
		{name: "colon", expr: "下午3:30", want: "2026-11-23T15:30:00+08:00"},
		{name: "minutes to", expr: "三点差五分", want: "2026-11-23T14:55:00+08:00"},
		{name: "zero five", expr: "明天早上六点零五分", want: "2026-11-24T06:05:00+08:00"},
		{name: "traditional", expr: "明天晚上八點", want: "2026-11-24T20:00:00+08:00"},
		{name: "full width", expr: "明天下午３：１５", want: "2026-11-24T15:15:00+08:00"},
		{name: "three days later", expr: "三天后早上八点", want: "2026-11-26T08:00:00+08:00"},
		{name: "explicit today past", expr: "今天早上七点", want: "2026-11-23T07:00:00+08:00"},
		{name: "range", expr: "明天下午两点到四点", want: "2026-11-24T14:00:00+08:00", end: "2026-11-24T16:00:00+08:00"},
		{name: "weekday roll", now: "2026-11-27T18:00", expr: "周五下午三点", want: "2026-12-04T15:00:00+08:00"},

		{name: "feb 30", expr: "2月30号", want: "err:nonexistent"},
		{name: "hour 25", expr: "25点", want: "err:nonexistent"},
		{name: "minute 61", expr: "三点61分", want: "err:nonexistent"},
		{name: "morning 15", expr: "上午十五点", want: "err:nonexistent"},
		{name: "november 31", expr: "11月31号", want: "err:nonexistent"},
		{name: "ambiguous tomorrow three", expr: "明天三点", want: "err:ambiguous"},
		{name: "tomorrow eight is morning", expr: "明天八点", want: "2026-11-24T08:00:00+08:00"},

		{name: "leap day next", now: "2027-11-01T09:00", expr: "2月29号", want: "2028-02-29T00:00:00+08:00", date: true},
		{name: "leap day missing", expr: "2027年2月29号", want: "err:nonexistent"},
		{name: "leap day exists", expr: "2028年2月29号", want: "2028-02-29T00:00:00+08:00", date: true},
		{name: "month end feb", now: "2026-02-10T09:00", expr: "月底", want: "2026-02-28T00:00:00+08:00", date: true},
		{name: "month end leap", now: "2028-02-10T09:00", expr: "这个月底", want: "2028-02-29T00:00:00+08:00", date: true},
		{name: "month later clamps", now: "2026-01-31T09:00", expr: "一个月后", want: "2026-02-28T00:00:00+08:00", date: true},
		{name: "next month 31 missing", now: "2026-10-15T09:00", expr: "下个月31号", want: "err:nonexistent"},
		{name: "next month across year", now: "2026-12-15T09:00", expr: "下个月五号", want: "2027-01-05T00:00:00+08:00", date: true},

		{name: "next workday plain", expr: "下一个工作日", want: "2026-11-24T00:00:00+08:00", date: true},
		{name: "next workday golden week", now: "2026-09-30T10:00", expr: "下一个工作日", want: "2026-10-08T00:00:00+08:00", date: true},
		{name: "next workday adjusted sunday", now: "2026-09-18T10:00", expr: "下个工作日", want: "2026-09-20T00:00:00+08:00", date: true},
		{name: "next workday adjusted saturday", now: "2026-02-13T10:00", expr: "下一个工作日", want: "2026-02-14T00:00:00+08:00", date: true},
		{name: "next workday spring festival", now: "2026-02-14T10:00", expr: "下一个工作日", want: "2026-02-24T00:00:00+08:00", date: true},
		{name: "next workday 2025 golden week", now: "2025-09-30T10:00", expr: "下一个工作日", want: "2025-10-09T00:00:00+08:00", date: true},
		{name: "next workday not covered", now: "2026-12-31T10:00", expr: "下一个工作日", want: "err:notcovered"},
		{name: "national day eve", now: "2026-09-01T10:00", expr: "国庆节前一天", want: "2026-09-30T00:00:00+08:00", date: true},
		{name: "national day fixed date next year", expr: "国庆节前一天", want: "2027-09-30T00:00:00+08:00", date: true},
		{name: "spring festival next year not covered", expr: "春节", want: "err:notcovered"},
		{name: "holiday days off not covered", expr: "国庆假期最后一天", want: "err:notcovered"},
		{name: "spring festival", now: "2026-01-10T10:00", expr: "春节", want: "2026-02-17T00:00:00+08:00", date: true},
		{name: "next year spring festival", now: "2025-06-01T10:00", expr: "明年春节", want: "2026-02-17T00:00:00+08:00", date: true},
		{name: "new years eve", now: "2025-12-01T10:00", expr: "除夕晚上八点", want: "2026-02-16T20:00:00+08:00"},
		{name: "mid autumn 2025", now: "2025-09-01T10:00", expr: "中秋节", want: "2025-10-06T00:00:00+08:00", date: true},
		{name: "holiday last day", now: "2026-09-01T10:00", expr: "国庆假期最后一天", want: "2026-10-07T00:00:00+08:00", date: true},
		{name: "labour day 3 days before", now: "2026-04-01T10:00", expr: "五一前三天", want: "2026-04-28T00:00:00+08:00", date: true},
		{name: "christmas fixed", expr: "圣诞节晚上七点", want: "2026-12-25T19:00:00+08:00"},

		{name: "daily", expr: "每天早上七点", want: "2026-11-24T07:00:00+08:00", rrule: "FREQ=DAILY"},
		{name: "workdays golden week", now: "2026-09-30T10:00", expr: "每个工作日早上八点", want: "2026-10-08T08:00:00+08:00", rrule: "FREQ=DAILY;X-QIAO-WORKDAYS=cn"},
		{name: "mon wed fri", expr: "每周一三五晚上九点", want: "2026-11-23T21:00:00+08:00", rrule: "FREQ=WEEKLY;BYDAY=MO,WE,FR"},
		{name: "monthly", expr: "每月15号上午十点", want: "2026-12-15T10:00:00+08:00", rrule: "FREQ=MONTHLY;BYMONTHDAY=15"},
		{name: "monthly 31 skips short months", expr: "每个月31号晚上八点", want: "2026-12-31T20:00:00+08:00", rrule: "FREQ=MONTHLY;BYMONTHDAY=31"},
		{name: "weekday range", expr: "周一到周五早上七点", want: "2026-11-24T07:00:00+08:00", rrule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"},
		{name: "every evening", expr: "每晚十点", want: "2026-11-23T22:00:00+08:00", rrule: "FREQ=DAILY"},

		{name: "tokyo zone", tz: "Asia/Tokyo", now: "2026-11-23T23:30", expr: "明天早上七点", want: "2026-11-24T07:00:00+09:00"},
		{name: "berlin dst gap", tz: "Europe/Berlin", now: "2026-03-28T12:00", expr: "明天凌晨两点半", want: "err:nonexistent"},
	}, false)
}

func TestResolveEN(t *testing.T) {
	ny := "America/New_York"
	runResolve(t, []resolveCase{
		{name: "tomorrow 7am", expr: "tomorrow at 7am", want: "2026-11-24T07:00:00+08:00"},
		{name: "tomorrow morning", expr: "tomorrow morning at 7:30", want: "2026-11-24T07:30:00+08:00"},
		{name: "tonight", expr: "tonight at 9", want: "2026-11-23T21:00:00+08:00"},
		{name: "in 10 minutes", expr: "in 10 minutes", want: "2026-11-23T10:10:00+08:00"},
		{name: "in an hour and a half", expr: "in an hour and a half", want: "2026-11-23T11:30:00+08:00"},
		{name: "in half an hour", expr: "in half an hour", want: "2026-11-23T10:30:00+08:00"},
		{name: "from now", expr: "20 minutes from now", want: "2026-11-23T10:20:00+08:00"},
		{name: "next monday", expr: "next monday at 8", want: "2026-11-30T08:00:00+08:00"},
		{name: "friday", expr: "on friday at 3pm", want: "2026-11-27T15:00:00+08:00"},
		{name: "half past", expr: "half past seven in the evening", want: "2026-11-23T19:30:00+08:00"},
		{name: "quarter to", expr: "tomorrow at quarter to eight", want: "2026-11-24T07:45:00+08:00"},
		{name: "noon", expr: "noon", want: "2026-11-23T12:00:00+08:00"},
		{name: "midnight", expr: "midnight", want: "2026-11-24T00:00:00+08:00"},
		{name: "date ordinal", expr: "december 31st at 11:59pm", want: "2026-12-31T23:59:00+08:00"},
		{name: "the 5th", expr: "the 5th", want: "2026-12-05T00:00:00+08:00", date: true},
		{name: "words", expr: "tomorrow at seven thirty", want: "2026-11-24T07:30:00+08:00"},
		{name: "bare 3 today", expr: "at 3", want: "2026-11-23T15:00:00+08:00"},
		{name: "range", expr: "tomorrow from 2 to 4pm", want: "2026-11-24T14:00:00+08:00", end: "2026-11-24T16:00:00+08:00"},
		{name: "clock then date", expr: "7am tomorrow", want: "2026-11-24T07:00:00+08:00"},

		{name: "feb 30", expr: "february 30", want: "err:nonexistent"},
		{name: "at 25", expr: "at 25", want: "err:nonexistent"},
		{name: "13pm", expr: "at 13pm", want: "err:nonexistent"},
		{name: "ambiguous", expr: "tomorrow at 3", want: "err:ambiguous"},

		{name: "next working day golden week", now: "2026-09-30T10:00", expr: "next working day", want: "2026-10-08T00:00:00+08:00", date: true},
		{name: "day before national day", now: "2026-09-01T10:00", expr: "the day before national day", want: "2026-09-30T00:00:00+08:00", date: true},
		{name: "christmas", expr: "christmas", want: "2026-12-25T00:00:00+08:00", date: true},
		{name: "christmas next year after", now: "2026-12-26T10:00", expr: "christmas eve", want: "2027-12-24T00:00:00+08:00", date: true},
		{name: "not covered", now: "2026-12-31T10:00", expr: "next business day", want: "err:notcovered"},

		{name: "every weekday", expr: "every weekday at 7am", want: "2026-11-24T07:00:00+08:00", rrule: "FREQ=DAILY;X-QIAO-WORKDAYS=cn"},
		{name: "every mon and wed", expr: "every monday and wednesday at 6pm", want: "2026-11-23T18:00:00+08:00", rrule: "FREQ=WEEKLY;BYDAY=MO,WE"},
		{name: "daily", expr: "daily at 9pm", want: "2026-11-23T21:00:00+08:00", rrule: "FREQ=DAILY"},

		{name: "dst spring tomorrow offset", tz: ny, now: "2026-03-07T10:00", expr: "tomorrow at 9am", want: "2026-03-08T09:00:00-04:00"},
		{name: "dst gap", tz: ny, now: "2026-03-07T10:00", expr: "tomorrow at 2:30am", want: "err:nonexistent"},
		{name: "dst relative across gap", tz: ny, now: "2026-03-08T01:00", expr: "in 2 hours", want: "2026-03-08T04:00:00-04:00"},
		{name: "dst fall back first", tz: ny, now: "2026-10-31T12:00", expr: "tomorrow at 1:30am", want: "2026-11-01T01:30:00-04:00"},
		{name: "dst fall after", tz: ny, now: "2026-10-31T12:00", expr: "tomorrow at 9am", want: "2026-11-01T09:00:00-05:00"},
		{name: "la evening before", tz: "America/Los_Angeles", now: "2026-11-22T18:00", expr: "tomorrow at 9am", want: "2026-11-23T09:00:00-08:00"},
		{name: "month end leap", tz: "Europe/London", now: "2028-02-10T09:00", expr: "end of the month", want: "2028-02-29T00:00:00Z", date: true},
	}, true)
}

func TestFindZHParticle(t *testing.T) {
	r := NewResolver(mustCal(t))
	now := mustNow(t, sh, mon10)
	s := "在日历里记一下周日下午两点看电影"
	m, ok, err := r.FindZH(s, now)
	if !ok || err != nil {
		t.Fatalf("FindZH(%q) = %v, %v", s, ok, err)
	}
	if got, want := s[m.Start:m.End], "周日下午两点"; got != want {
		t.Errorf("span = %q, want %q", got, want)
	}
	if got, want := m.Value.Time.Format(time.RFC3339), "2026-11-29T14:00:00+08:00"; got != want {
		t.Errorf("time = %s, want %s", got, want)
	}
	if _, ok, _ := r.FindZH("给妈妈的手机打电话", now); ok {
		t.Error("a lone 的 must not be a time expression")
	}
}

func TestCalendarCoverage(t *testing.T) {
	c := mustCal(t)
	if _, err := c.IsWorkday(Date{2027, 1, 4}); !errors.Is(err, ErrNotCovered) {
		t.Fatalf("2027: err = %v, want ErrNotCovered", err)
	}
	if got := c.YearsText(); got != "2025–2026" {
		t.Errorf("YearsText = %q", got)
	}
	cases := []struct {
		name string
		d    Date
		want bool
	}{
		{"weekday", Date{2026, 11, 24}, true},
		{"saturday", Date{2026, 11, 28}, false},
		{"national day", Date{2026, 10, 5}, false},
		{"adjusted sunday", Date{2026, 9, 20}, true},
		{"adjusted saturday", Date{2026, 10, 10}, true},
		{"spring festival monday", Date{2026, 2, 23}, false},
		{"new year 2025", Date{2025, 1, 1}, false},
		{"2025 adjusted", Date{2025, 4, 27}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.IsWorkday(tc.d)
			if err != nil || got != tc.want {
				t.Errorf("IsWorkday(%s) = %v, %v; want %v", tc.d, got, err, tc.want)
			}
		})
	}
	if _, err := LoadCalendar("../x"); !errors.Is(err, ErrUnknownCalendar) {
		t.Errorf("bad id: %v", err)
	}
}

func TestNumber(t *testing.T) {
	cases := []struct {
		in   string
		v, n int
	}{
		{"十五", 15, 6}, {"二十三", 23, 9}, {"一百零五", 105, 12}, {"两千", 2000, 6}, {"二〇二六", 2026, 12},
		{"十", 10, 3}, {"三十", 30, 6}, {"12点", 12, 2}, {"两", 2, 3}, {"百", 0, 0}, {"x", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			v, n := Number(tc.in)
			if v != tc.v || n != tc.n {
				t.Errorf("Number(%q) = %d, %d; want %d, %d", tc.in, v, n, tc.v, tc.n)
			}
		})
	}
}

func FuzzFind(f *testing.F) {
	for _, s := range []string{"明天早上七点提醒我", "每周一三五晚上九点", "国庆节前一天", "in 10 minutes", "every monday and wednesday at 6pm", "2月30号", "三点差五分"} {
		f.Add(s)
	}
	r := NewResolver(mustCal(f))
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	f.Fuzz(func(t *testing.T, s string) {
		fs := Fold(s)
		if m, ok, _ := r.FindZH(fs, now); ok && (m.Start < 0 || m.End > len(fs) || m.Start >= m.End) {
			t.Fatalf("bad span %d..%d of %d", m.Start, m.End, len(fs))
		}
		if m, ok, _ := r.FindEN(s, now); ok && (m.Start < 0 || m.End > len(s) || m.Start >= m.End) {
			t.Fatalf("bad span %d..%d of %d", m.Start, m.End, len(s))
		}
	})
}
