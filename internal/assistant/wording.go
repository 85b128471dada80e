package assistant

import (
	"fmt"
	"strings"
	"time"

	"github.com/qiao-gateway/qiao/internal/when"
)

// defaultWording holds the fast path's answer templates by key and language. Regions may
// override any of them (Config.Wording). Placeholders are {name}.
var defaultWording = map[string]map[string]string{
	"alarm_set":           {"zh": "好的，闹钟定在{when}。", "en": "OK, alarm set for {when}."},
	"timer_set":           {"zh": "好的，{duration}倒计时开始。", "en": "OK, {duration} timer started."},
	"reminder_set":        {"zh": "好的，{when}提醒你：{text}。", "en": "OK, I'll remind you {when}: {text}."},
	"event_created":       {"zh": "好的，已添加日程“{title}”，{when}。", "en": "OK, added “{title}” {when}."},
	"calling":             {"zh": "要呼叫{contact}吗？", "en": "Call {contact}?"},
	"message_confirm":     {"zh": "要给{contact}发送“{text}”吗？", "en": "Send “{text}” to {contact}?"},
	"app_open":            {"zh": "正在打开{app}。", "en": "Opening {app}."},
	"setting_changed":     {"zh": "好的，{setting}{value}。", "en": "OK, {setting} {value}."},
	"calc_result":         {"zh": "{expression} = {result}", "en": "{expression} = {result}"},
	"convert_result":      {"zh": "{value}{from}约等于{result}{to}。", "en": "{value} {from} is about {result} {to}."},
	"time_now":            {"zh": "现在是{time}。", "en": "It's {time}."},
	"date_is":             {"zh": "{day}是{date}。", "en": "{day} is {date}."},
	"days_until":          {"zh": "距离{day}还有{n}天。", "en": "{n} days until {day}."},
	"is_workday":          {"zh": "{day}（{date}）要上班。", "en": "{day} ({date}) is a working day."},
	"not_workday":         {"zh": "{day}（{date}）不用上班。", "en": "{day} ({date}) is not a working day."},
	"clarify_time":        {"zh": "要定在什么时间？", "en": "For what time?"},
	"clarify_ampm":        {"zh": "是上午{h}点还是下午{h}点？", "en": "Is that {h} in the morning or in the afternoon?"},
	"clarify_nonexistent": {"zh": "这个时间不存在（{detail}），请再说一下时间。", "en": "That time doesn't exist ({detail}). What time did you mean?"},
	"clarify_past":        {"zh": "{when}已经过去了，要换个时间吗？", "en": "{when} has already passed. What time instead?"},
	"clarify_reminder":    {"zh": "要提醒你什么？", "en": "What should I remind you about?"},
	"clarify_message":     {"zh": "要给{contact}发什么内容？", "en": "What should the message to {contact} say?"},
	"clarify_event":       {"zh": "日程的标题是什么？", "en": "What's the event called?"},
	"not_covered":         {"zh": "我的节假日日历只包含{years}年的官方安排，这个日期还无法确定。", "en": "My holiday calendar only covers {years}; I can't tell that date yet."},
	"divide_by_zero":      {"zh": "不能除以零。", "en": "You can't divide by zero."},
	"cancelled":           {"zh": "好的，已取消。", "en": "OK, cancelled."},
	"done":                {"zh": "好的。", "en": "OK."},
	"no_model":            {"zh": "抱歉，这个问题我现在回答不了。", "en": "Sorry, I can't answer that right now."},
}

// word renders the template key in lang with args.
func (h *Handler) word(key, lang string, args map[string]string) string {
	tpl := ""
	if o, ok := h.cfg.Wording[key]; ok {
		tpl = o[lang]
	}
	if tpl == "" {
		tpl = defaultWording[key][lang]
	}
	if tpl == "" {
		tpl = defaultWording[key]["en"]
	}
	if len(args) == 0 {
		return tpl
	}
	pairs := make([]string, 0, 2*len(args))
	for k, v := range args {
		pairs = append(pairs, "{"+k+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(tpl)
}

var zhWeekdays = [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}

// describeTime says when t is, relative to now, for answers: "明天（11月24日 周二）07:00".
func describeTime(t, now time.Time, hasClock bool, lang string) string {
	d, today := when.DateOf(t), when.DateOf(now)
	rel := ""
	switch d {
	case today:
		rel = map[string]string{"zh": "今天", "en": "today"}[lang]
	case today.AddDays(1):
		rel = map[string]string{"zh": "明天", "en": "tomorrow"}[lang]
	case today.AddDays(2):
		if lang == "zh" {
			rel = "后天" // English has no single word for it; the date says it
		}
	}
	if lang == "zh" {
		s := fmt.Sprintf("%d月%d日 %s", int(t.Month()), t.Day(), zhWeekdays[t.Weekday()])
		if t.Year() != now.Year() {
			s = fmt.Sprintf("%d年", t.Year()) + s
		}
		if rel != "" {
			s = rel + "（" + s + "）"
		}
		if hasClock {
			s += " " + t.Format("15:04")
		}
		return s
	}
	s := t.Format("Mon, Jan 2")
	if t.Year() != now.Year() {
		s += t.Format(", 2006")
	}
	if rel != "" {
		s = rel + " (" + s + ")"
	}
	if hasClock {
		s += " at " + t.Format("3:04 PM")
	}
	return s
}

// describeRecurrence says how r repeats: "每天 07:00", "every weekday at 7:00 AM".
func describeRecurrence(r *when.Recurrence, t time.Time, lang string) string {
	var rule string
	zhDays := [...]string{"日", "一", "二", "三", "四", "五", "六"}
	switch {
	case r.Workdays != "":
		rule = map[string]string{"zh": "每个工作日", "en": "every working day"}[lang]
	case r.Freq == "DAILY":
		rule = map[string]string{"zh": "每天", "en": "every day"}[lang]
	case r.Freq == "MONTHLY":
		if lang == "zh" {
			rule = fmt.Sprintf("每月%d号", r.ByMonthDay)
		} else {
			rule = fmt.Sprintf("every month on day %d", r.ByMonthDay)
		}
	default:
		var names []string
		for _, d := range r.ByDay {
			if lang == "zh" {
				names = append(names, zhDays[d])
			} else {
				names = append(names, d.String())
			}
		}
		if lang == "zh" {
			rule = "每周" + strings.Join(names, "、")
		} else {
			rule = "every " + strings.Join(names, " and ")
		}
	}
	if lang == "zh" {
		return rule + " " + t.Format("15:04")
	}
	return rule + " at " + t.Format("3:04 PM")
}

func describeDuration(d time.Duration, lang string) string {
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	var parts []string
	if lang == "zh" {
		if h > 0 {
			parts = append(parts, fmt.Sprintf("%d小时", h))
		}
		if m > 0 {
			parts = append(parts, fmt.Sprintf("%d分钟", m))
		}
		if s > 0 {
			parts = append(parts, fmt.Sprintf("%d秒", s))
		}
		return strings.Join(parts, "")
	}
	unit := func(n int, w string) string {
		if n == 1 {
			return fmt.Sprintf("1 %s", w)
		}
		return fmt.Sprintf("%d %ss", n, w)
	}
	if h > 0 {
		parts = append(parts, unit(h, "hour"))
	}
	if m > 0 {
		parts = append(parts, unit(m, "minute"))
	}
	if s > 0 {
		parts = append(parts, unit(s, "second"))
	}
	return strings.Join(parts, " ")
}
