package when

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// FindDurationZH finds the first duration in the folded Chinese text s ("十分钟",
// "一个半小时", "1小时20分钟", "半小时", "一刻钟", "90秒") and returns it with its byte span.
func FindDurationZH(s string) (d time.Duration, start, end int, ok bool) {
	for i := 0; i < len(s); {
		p := zhParser{s: s, i: i}
		if d, ok := p.duration(); ok {
			return d, i, p.i, true
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return 0, 0, 0, false
}

func (p *zhParser) duration() (time.Duration, bool) {
	var d time.Duration
	any := false
	for {
		s2 := p.i
		n, half := 0, false
		if p.eat("半") != "" {
			half = true
		} else if v, ok := p.num(); ok && v <= 100000 {
			n = v
		} else {
			break
		}
		p.eat("个")
		if !half && p.eat("半") != "" {
			half = true
		}
		unit := p.eat("秒钟", "秒", "分钟", "分", "刻钟", "小时", "钟头")
		if unit == "" {
			p.i = s2
			break
		}
		if unit == "分钟" || unit == "分" || unit == "小时" || unit == "钟头" {
			if p.eat("半") != "" {
				half = true
			}
		}
		any = true
		switch unit {
		case "秒钟", "秒":
			d += time.Duration(n) * time.Second
		case "分钟", "分":
			d += time.Duration(n) * time.Minute
			if half {
				d += 30 * time.Second
			}
		case "刻钟":
			d += time.Duration(n) * 15 * time.Minute
		case "小时", "钟头":
			d += time.Duration(n) * time.Hour
			if half {
				d += 30 * time.Minute
			}
		}
		p.eat("零", "又")
	}
	return d, any && d > 0
}

// FindDurationEN finds the first duration in s ("5 minutes", "an hour and a half",
// "1 hour 30 minutes", "90 seconds", "half an hour", "1.5 hours") with its byte span.
func FindDurationEN(s string) (d time.Duration, start, end int, ok bool) {
	toks := tokenizeEN(s)
	for i := range toks {
		p := enParser{toks: toks, i: i}
		if d, ok := p.duration(); ok {
			return d, toks[i].start, toks[p.i-1].end, true
		}
	}
	return 0, 0, 0, false
}

func (p *enParser) duration() (time.Duration, bool) {
	var d time.Duration
	any := false
	andAt := -1 // position of a consumed "and" to give back if nothing follows it
	for {
		s2 := p.i
		if p.eat("half an hour", "half a hour") != "" {
			d += 30 * time.Minute
			any = true
		} else {
			var n float64
			if t := p.peek(0); strings.Contains(t, ".") {
				f, err := strconv.ParseFloat(t, 64)
				if err != nil || f > 100000 {
					break
				}
				n = f
				p.i++
			} else if v, ok := p.number(true); ok {
				n = float64(v)
				if p.eat("and a half") != "" {
					n += 0.5 // "2 and a half minutes"
				}
			} else {
				break
			}
			unit := p.eat("seconds", "second", "secs", "sec", "minutes", "minute", "mins", "min", "hours", "hour", "hrs", "hr")
			if unit == "" {
				p.i = s2
				break
			}
			any = true
			switch unit[0] {
			case 's':
				d += time.Duration(n * float64(time.Second))
			case 'm':
				d += time.Duration(n * float64(time.Minute))
			case 'h':
				d += time.Duration(n * float64(time.Hour))
				if p.eat("and a half") != "" {
					d += 30 * time.Minute
				}
			}
		}
		andAt = -1
		if s3 := p.i; p.eat("and") != "" {
			andAt = s3
		}
	}
	if andAt >= 0 {
		p.i = andAt
	}
	return d, any && d > 0
}
