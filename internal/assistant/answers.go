package assistant

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qiao-gateway/qiao/internal/when"
)

const rfc3339 = time.RFC3339

func itoa(n int) string { return strconv.Itoa(n) }

func secondsDur(s int) time.Duration { return time.Duration(s) * time.Second }

// --- arithmetic ---

var errDivZero = errors.New("assistant: division by zero")

// calc evaluates an arithmetic expression over + - * / ^ √ and parentheses. It requires at
// least one operator, so a bare number is not a calculation.
type calc struct {
	s   string
	i   int
	ops int
}

func evalExpr(s string) (float64, error) {
	c := &calc{s: strings.ReplaceAll(s, " ", "")}
	if c.s == "" || len(c.s) > 200 {
		return 0, errors.New("assistant: not an expression")
	}
	v, err := c.expr(0)
	if err != nil {
		return 0, err
	}
	if c.i != len(c.s) || c.ops == 0 {
		return 0, errors.New("assistant: not an expression")
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("assistant: result out of range")
	}
	return v, nil
}

func (c *calc) peek() byte {
	if c.i < len(c.s) {
		return c.s[c.i]
	}
	return 0
}

func (c *calc) expr(depth int) (float64, error) {
	if depth > 20 {
		return 0, errors.New("assistant: expression too deep")
	}
	v, err := c.term(depth)
	if err != nil {
		return 0, err
	}
	for {
		op := c.peek()
		if op != '+' && op != '-' {
			return v, nil
		}
		c.i++
		c.ops++
		w, err := c.term(depth)
		if err != nil {
			return 0, err
		}
		if op == '+' {
			v += w
		} else {
			v -= w
		}
	}
}

func (c *calc) term(depth int) (float64, error) {
	v, err := c.power(depth)
	if err != nil {
		return 0, err
	}
	for {
		op := c.peek()
		if op != '*' && op != '/' {
			return v, nil
		}
		c.i++
		c.ops++
		w, err := c.power(depth)
		if err != nil {
			return 0, err
		}
		if op == '*' {
			v *= w
		} else {
			if w == 0 {
				return 0, errDivZero
			}
			v /= w
		}
	}
}

func (c *calc) power(depth int) (float64, error) {
	v, err := c.unary(depth)
	if err != nil {
		return 0, err
	}
	if c.peek() == '^' {
		c.i++
		c.ops++
		w, err := c.power(depth + 1)
		if err != nil {
			return 0, err
		}
		if math.Abs(w) > 1000 {
			return 0, errors.New("assistant: exponent too large")
		}
		return math.Pow(v, w), nil
	}
	return v, nil
}

func (c *calc) unary(depth int) (float64, error) {
	switch {
	case c.peek() == '-':
		c.i++
		v, err := c.unary(depth + 1)
		return -v, err
	case strings.HasPrefix(c.s[c.i:], "√"):
		c.i += len("√")
		c.ops++
		v, err := c.unary(depth + 1)
		if err != nil {
			return 0, err
		}
		if v < 0 {
			return 0, errors.New("assistant: square root of a negative number")
		}
		return math.Sqrt(v), nil
	case c.peek() == '(':
		c.i++
		v, err := c.expr(depth + 1)
		if err != nil {
			return 0, err
		}
		if c.peek() != ')' {
			return 0, errors.New("assistant: missing )")
		}
		c.i++
		return v, nil
	}
	j := c.i
	for j < len(c.s) && (c.s[j] >= '0' && c.s[j] <= '9' || c.s[j] == '.') {
		j++
	}
	if j == c.i || j-c.i > 15 {
		return 0, errors.New("assistant: number expected")
	}
	v, err := strconv.ParseFloat(c.s[c.i:j], 64)
	if err != nil {
		return 0, err
	}
	c.i = j
	return v, nil
}

// formatNum prints v without exponent and without float noise: at most 6 decimals.
func formatNum(v float64) string {
	r := math.Round(v*1e6) / 1e6
	if r == 0 {
		r = 0 // no "-0"
	}
	if math.Abs(r) >= 1e15 {
		return strconv.FormatFloat(r, 'g', 10, 64)
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

var zhCalcOps = strings.NewReplacer("加上", "+", "加", "+", "减去", "-", "减", "-", "乘以", "*", "乘", "*", "除以", "/",
	"×", "*", "÷", "/", "（", "(", "）", ")", "的平方根", "√", "开根号", "√", "根号", "√", "的平方", "^2", "的立方", "^3", "x", "*", "X", "*", "＋", "+", "－", "-", "=", "")

var zhRootOf = regexp.MustCompile(`([0-9.]+)的平方根`)

var zhPower = regexp.MustCompile(`的([0-9一二三四五六七八九十两]+)次方`)

var zhCalcFrame = regexp.MustCompile(`^(计算一下|计算|算一下|算算|算)?(.+?)(等于多少|等于几|是多少|是几|得多少|得几|等于|多少)?$`)

// zhNumbersToDigits rewrites Chinese numerals as digits ("三点五" → "3.5").
func zhNumbersToDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
			i++
			continue
		}
		v, n := when.Number(s[i:])
		if n > 0 {
			b.WriteString(strconv.Itoa(v))
			i += n
			if strings.HasPrefix(s[i:], "点") {
				// decimal fraction: digits said one by one
				j := i + len("点")
				frac := ""
				for j < len(s) {
					d, m := when.Number(s[j:])
					r, _ := utf8.DecodeRuneInString(s[j:])
					if m == 0 || !strings.ContainsRune("零〇一二三四五六七八九", r) {
						break
					}
					_ = d
					frac += strconv.Itoa(d % 10)
					j += len(string(r))
				}
				if frac != "" {
					b.WriteString("." + frac)
					i = j
				}
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r)
		i += size
	}
	return b.String()
}

func (u *understander) zhCalc(s string) *fastResult {
	m := zhCalcFrame.FindStringSubmatch(s)
	if m == nil {
		return nil
	}
	e := m[2]
	// "2的10次方"
	e = zhPower.ReplaceAllString(e, "^$1")
	e = zhRootOf.ReplaceAllString(zhNumbersToDigits(e), "√$1") // "100的平方根" → √100
	e = zhCalcOps.Replace(zhNumbersToDigits(e))
	return u.calcResult(e)
}

func (u *understander) calcResult(e string) *fastResult {
	v, err := evalExpr(e)
	if errors.Is(err, errDivZero) {
		return &fastResult{intent: AnswerCalculate, params: map[string]any{"error": "division_by_zero"}, text: u.word("divide_by_zero", nil)}
	}
	if err != nil {
		return nil
	}
	res := formatNum(v)
	shown := strings.NewReplacer("*", "×", "/", "÷").Replace(e)
	return &fastResult{intent: AnswerCalculate, params: map[string]any{"result": res},
		text: u.word("calc_result", map[string]string{"expression": shown, "result": res})}
}

// --- units ---

type unit struct {
	code   string
	dim    string
	factor float64 // to the base unit of dim
	offset float64 // for temperatures: base = value*factor + offset
}

var units = map[string]unit{}

func init() {
	add := func(code, dim string, factor, offset float64, names ...string) {
		u := unit{code, dim, factor, offset}
		units[code] = u
		for _, n := range names {
			units[n] = u
		}
	}
	add("km", "length", 1000, 0, "公里", "千米", "kilometers", "kilometres", "kilometer", "kilometre", "kms")
	add("m", "length", 1, 0, "米", "meters", "metres", "meter", "metre")
	add("cm", "length", 0.01, 0, "厘米", "公分", "centimeters", "centimetres", "centimeter", "centimetre")
	add("mm", "length", 0.001, 0, "毫米", "millimeters", "millimetres", "millimeter", "millimetre")
	add("mi", "length", 1609.344, 0, "英里", "miles", "mile")
	add("ft", "length", 0.3048, 0, "英尺", "feet", "foot")
	add("in", "length", 0.0254, 0, "英寸", "inches", "inch")
	add("yd", "length", 0.9144, 0, "码", "yards", "yard")
	add("nmi", "length", 1852, 0, "海里", "nautical miles", "nautical mile")
	add("kg", "mass", 1000, 0, "公斤", "千克", "kilograms", "kilogram", "kilos", "kilo")
	add("g", "mass", 1, 0, "克", "grams", "gram")
	add("jin", "mass", 500, 0, "斤")
	add("lb", "mass", 453.59237, 0, "磅", "pounds", "pound", "lbs")
	add("oz", "mass", 28.349523125, 0, "盎司", "ounces", "ounce")
	add("t", "mass", 1e6, 0, "吨", "tonnes", "tonne", "metric tons")
	add("l", "volume", 1, 0, "升", "公升", "liters", "litres", "liter", "litre")
	add("ml", "volume", 0.001, 0, "毫升", "milliliters", "millilitres", "milliliter", "millilitre")
	add("gal", "volume", 3.785411784, 0, "加仑", "gallons", "gallon")
	add("c", "temperature", 1, 0, "摄氏度", "摄氏", "celsius", "degrees celsius", "°c", "centigrade")
	add("f", "temperature", 5.0/9, -32*5.0/9, "华氏度", "华氏", "fahrenheit", "degrees fahrenheit", "°f")
	add("k", "temperature", 1, -273.15, "开尔文", "kelvin", "kelvins")
}

var unitNamesZH = map[string]string{"km": "公里", "m": "米", "cm": "厘米", "mm": "毫米", "mi": "英里", "ft": "英尺", "in": "英寸",
	"yd": "码", "nmi": "海里", "kg": "公斤", "g": "克", "jin": "斤", "lb": "磅", "oz": "盎司", "t": "吨", "l": "升", "ml": "毫升",
	"gal": "加仑", "c": "摄氏度", "f": "华氏度", "k": "开尔文"}

func convertUnits(v float64, from, to unit) float64 {
	base := v*from.factor + from.offset
	return (base - to.offset) / to.factor
}

func roundSig(v float64, sig int) float64 {
	if v == 0 {
		return 0
	}
	d := math.Ceil(math.Log10(math.Abs(v)))
	p := math.Pow(10, float64(sig)-d)
	return math.Round(v*p) / p
}

var zhConvertRe = regexp.MustCompile(`^(把)?(-?[0-9.]+)(.{1,6}?)(是|等于|换算成|换成|转换成|转换为|转成|合|折合|有|能换|相当于)?(多少|几)(.{1,6})$`)
var zhConvertRe2 = regexp.MustCompile(`^(把)?(-?[0-9.]+)(.{1,6}?)(换算成|换成|转换成|转换为|转成|折合成|折算成)(.{1,6})$`)

func (u *understander) zhConvert(s string) *fastResult {
	s = zhNumbersToDigits(s)
	var num, a, b string
	if m := zhConvertRe.FindStringSubmatch(s); m != nil {
		num, a, b = m[2], m[3], m[6]
	} else if m := zhConvertRe2.FindStringSubmatch(s); m != nil {
		num, a, b = m[2], m[3], m[5]
	} else {
		return nil
	}
	return u.convert(num, a, b)
}

func (u *understander) convert(num, a, b string) *fastResult {
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.Abs(v) > 1e12 {
		return nil
	}
	from, ok1 := units[strings.TrimSpace(strings.ToLower(a))]
	to, ok2 := units[strings.TrimSpace(strings.ToLower(b))]
	if !ok1 || !ok2 || from.dim != to.dim || from.code == to.code {
		return nil
	}
	res := roundSig(convertUnits(v, from, to), 4)
	fromName, toName := from.code, to.code
	if u.lang() == "zh" {
		fromName, toName = unitNamesZH[from.code], unitNamesZH[to.code]
	}
	return &fastResult{intent: AnswerConvert,
		params: map[string]any{"value": v, "from": from.code, "to": to.code, "result": res},
		text:   u.word("convert_result", map[string]string{"value": formatNum(v), "from": fromName, "result": formatNum(res), "to": toName})}
}

// --- date and time questions ---

var (
	zhAskTime    = regexp.MustCompile(`^(现在|当前|目前)?(是|的时间是)?(几点|几点了|几点钟|什么时间|什么时候了|几点几分|时间)$`)
	zhAskDate    = regexp.MustCompile(`^(.*?)(是)?(几号|几月几号|几月几日|几月几|哪天|哪一天|什么时候|哪一日|几日)$`)
	zhAskWeekday = regexp.MustCompile(`^(.*?)(是)?(星期几|周几|礼拜几)$`)
	zhAskUntil   = regexp.MustCompile(`^(距离|离|距|到)(.+?)(还有|还剩|有)?(几天|多少天|多久)$`)
	zhAskUntil2  = regexp.MustCompile(`^(.+?)(还有|还剩)(几天|多少天|多久)$`)
	zhAskWork    = regexp.MustCompile(`^(.+?)(要|用|需要|得)?(上班|放假|休息|调休)(吗|不)?$`)
	zhAskWork2   = regexp.MustCompile(`^(.+?)是(不是)?(工作日|休息日|节假日|假期)(吗)?$`)
)

func (u *understander) zhDateQuestion(s string) *fastResult {
	if zhAskTime.MatchString(s) && !strings.HasPrefix(s, "时间") {
		return u.askTime()
	}
	if m := zhAskWeekday.FindStringSubmatch(s); m != nil {
		return u.askDay(m[1], "weekday")
	}
	if m := zhAskUntil.FindStringSubmatch(s); m != nil {
		return u.askDay(m[2], "days_until")
	}
	if m := zhAskUntil2.FindStringSubmatch(s); m != nil {
		return u.askDay(m[1], "days_until")
	}
	if m := zhAskWork2.FindStringSubmatch(s); m != nil {
		return u.askDay(m[1], "is_workday")
	}
	if m := zhAskWork.FindStringSubmatch(s); m != nil {
		return u.askDay(m[1], "is_workday")
	}
	if m := zhAskDate.FindStringSubmatch(s); m != nil {
		return u.askDay(m[1], "date")
	}
	return nil
}

func (u *understander) askTime() *fastResult {
	t := u.t.now.Format("15:04")
	shown := t
	if u.lang() == "en" {
		shown = u.t.now.Format("3:04 PM")
	}
	return &fastResult{intent: AnswerDateTime, params: map[string]any{"query": "time", "result": t},
		text: u.word("time_now", map[string]string{"time": shown})}
}

// askDay answers a question about the day named by expr (empty: today).
func (u *understander) askDay(expr, query string) *fastResult {
	expr = strings.TrimSpace(expr)
	label := expr
	var d when.Date
	if expr == "" || expr == "今天" || expr == "today" || expr == "it" || expr == "今天是" {
		if query == "days_until" {
			return nil
		}
		d = when.DateOf(u.t.now)
		label = map[string]string{"zh": "今天", "en": "Today"}[u.lang()]
	} else {
		var v when.Value
		var err error
		if u.lang() == "zh" {
			v, err = u.res.ResolveZH(expr, u.t.now)
		} else {
			v, err = u.res.ResolveEN(expr, u.t.now)
		}
		if errors.Is(err, when.ErrNotCovered) {
			return &fastResult{intent: AnswerDateTime, params: map[string]any{"query": query, "result": "not_covered"},
				text: u.word("not_covered", map[string]string{"years": u.res.Cal.YearsText()})}
		}
		if errors.Is(err, when.ErrNonexistent) {
			detail := strings.TrimPrefix(err.Error(), when.ErrNonexistent.Error()+": ")
			return &fastResult{intent: AnswerClarify, clarify: true, text: u.word("clarify_nonexistent", map[string]string{"detail": detail})}
		}
		if err != nil || v.HasClock || v.Recur != nil || v.Relative {
			return nil
		}
		d = when.DateOf(v.Time)
	}
	today := when.DateOf(u.t.now)
	dateText := func() string {
		if u.lang() == "zh" {
			s := fmt.Sprintf("%d月%d日 %s", int(d.Month), d.Day, zhWeekdays[d.Weekday()])
			if d.Year != today.Year {
				s = fmt.Sprintf("%d年", d.Year) + s
			}
			return s
		}
		return d.In(time.UTC).Format("Monday, January 2, 2006")
	}
	switch query {
	case "date", "weekday":
		result := d.String()
		if query == "weekday" {
			result = strings.ToLower(d.Weekday().String())
		}
		return &fastResult{intent: AnswerDateTime, params: map[string]any{"query": query, "result": result},
			text: u.word("date_is", map[string]string{"day": label, "date": dateText()})}
	case "days_until":
		n := int(d.In(time.UTC).Sub(today.In(time.UTC)).Hours() / 24)
		if n < 0 {
			return nil
		}
		return &fastResult{intent: AnswerDateTime, params: map[string]any{"query": query, "result": n},
			text: u.word("days_until", map[string]string{"day": label, "n": itoa(n)})}
	case "is_workday":
		ok, err := u.res.Cal.IsWorkday(d)
		if err != nil {
			return &fastResult{intent: AnswerDateTime, params: map[string]any{"query": query, "result": "not_covered"},
				text: u.word("not_covered", map[string]string{"years": u.res.Cal.YearsText()})}
		}
		key := "not_workday"
		if ok {
			key = "is_workday"
		}
		return &fastResult{intent: AnswerDateTime, params: map[string]any{"query": query, "result": ok},
			text: u.word(key, map[string]string{"day": label, "date": dateText()})}
	}
	return nil
}
