package assistant

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/qiao-gateway/qiao/internal/when"
)

// cleanEN folds the utterance and strips the wake word and politeness. Case is kept for
// names and message text; matching uses (?i).
func cleanEN(s string) string {
	s = when.Fold(s)
	s = strings.NewReplacer("’", "'", "‘", "'", "“", "\"", "”", "\"").Replace(s)
	for changed := true; changed; {
		changed = false
		s = strings.TrimLeft(s, ",. ")
		ls := strings.ToLower(s)
		for _, p := range enPrefixes {
			if strings.HasPrefix(ls, p+" ") || strings.HasPrefix(ls, p+",") {
				s = s[len(p)+1:]
				changed = true
				break
			}
		}
	}
	for changed := true; changed; {
		changed = false
		s = strings.TrimRight(s, ".!?, ")
		ls := strings.ToLower(s)
		for _, p := range enSuffixes {
			if strings.HasSuffix(ls, " "+p) || strings.HasSuffix(ls, ","+p) {
				s = s[:len(s)-len(p)-1]
				changed = true
				break
			}
		}
	}
	return s
}

var enPrefixes = []string{"hey qiao", "hi qiao", "ok qiao", "qiao", "hey", "please", "can you please", "could you please",
	"can you", "could you", "would you", "will you", "would you please", "i want you to", "i'd like you to", "i need you to",
	"go ahead and", "just", "kindly", "i need", "i want", "i'd like"}
var enSuffixes = []string{"please", "for me", "thanks", "thank you", "right now", "now"}

var enGuard = regexp.MustCompile(`(?i)\b(don't|do not|never|not|no|if|unless|when i|whenever|then|and then|also|cancel|delete|remove|change|move|reschedule|snooze|stop|why|how do|how can|should|every other|except)\b`)

func (u *understander) en(raw string) *fastResult {
	s := cleanEN(raw)
	if s == "" {
		return nil
	}
	for _, f := range []func(string) *fastResult{u.enMessage, u.enSetting, u.enDateQuestion, u.enCalc, u.enConvert} {
		if r := f(s); r != nil {
			return r
		}
	}
	if enGuard.MatchString(s) && !strings.Contains(strings.ToLower(s), "remind") {
		return nil
	}
	for _, f := range []func(string) *fastResult{u.enTimer, u.enCall, u.enAlarm, u.enReminder, u.enEvent, u.enOpenApp} {
		if r := f(s); r != nil {
			return r
		}
	}
	return nil
}

// --- settings ---

var enNoun = `(wi-?fi|wlan|wireless|bluetooth|do not disturb|do-not-disturb|dnd|flashlight|torch)`

var (
	enSwitch1  = regexp.MustCompile(`(?i)^(turn|switch|put) (on|off) (the |my )?` + enNoun + `( mode)?$`)
	enSwitch2  = regexp.MustCompile(`(?i)^(turn|switch|put) (the |my )?` + enNoun + `( mode)? (on|off)$`)
	enSwitch3  = regexp.MustCompile(`(?i)^(enable|disable|activate|deactivate|start|stop) (the |my )?` + enNoun + `( mode)?$`)
	enSwitch4  = regexp.MustCompile(`(?i)^` + enNoun + `( mode)? (on|off)$`)
	enLevelDir = regexp.MustCompile(`(?i)^(turn|crank|put) (the |my )?(volume|sound|music|brightness|screen brightness) (up|down)( a bit| a little)?$`)
	enLevelDi2 = regexp.MustCompile(`(?i)^(turn|crank) (up|down) (the |my )?(volume|sound|music|brightness|screen brightness)( a bit| a little)?$`)
	enLevelDi3 = regexp.MustCompile(`(?i)^(volume|brightness) (up|down)$`)
	enLevelVb  = regexp.MustCompile(`(?i)^(increase|decrease|raise|lower|reduce|boost) (the |my )?(volume|sound|brightness|screen brightness)( a bit| a little)?$`)
	enLevelSet = regexp.MustCompile(`(?i)^(set|change|put|turn) (the |my )?(volume|brightness|screen brightness) (to|at) ([0-9]{1,3})( percent|%)?$`)
	enLevelMax = regexp.MustCompile(`(?i)^(max|maximum|full|min|minimum) (volume|brightness)$`)
	enLevelTo  = regexp.MustCompile(`(?i)^(set|turn|put) (the |my )?(volume|brightness) (to|at|all the way) (max|maximum|full|min|minimum|the max|the maximum|the minimum)$`)
	enLoud     = regexp.MustCompile(`(?i)^(louder|quieter|softer|brighter|dimmer|darker|make it louder|make it quieter|make the screen brighter|make the screen dimmer|make the screen darker|turn it up|turn it down|dim the screen|dim the display|brighten the screen|brighten the display)( a bit| a little| please)?$`)
)

func enSettingNoun(n string) string {
	switch strings.ToLower(n) {
	case "wifi", "wi-fi", "wlan", "wireless":
		return "wifi"
	case "bluetooth":
		return "bluetooth"
	case "do not disturb", "do-not-disturb", "dnd":
		return "do_not_disturb"
	case "flashlight", "torch":
		return "flashlight"
	}
	return ""
}

func enLevelNoun(n string) string {
	if strings.Contains(strings.ToLower(n), "bright") {
		return "brightness"
	}
	return "volume"
}

func (u *understander) enSetting(s string) *fastResult {
	if !u.declared(IntentChangeSetting) {
		return nil
	}
	ls := strings.ToLower(s)
	switch ls {
	case "mute", "mute the phone", "mute my phone", "mute sound", "silence my phone", "silent mode on":
		return u.setting("volume", "mute")
	case "unmute", "unmute the phone", "unmute my phone", "unmute sound":
		return u.setting("volume", "unmute")
	}
	if m := enSwitch1.FindStringSubmatch(s); m != nil {
		return u.setting(enSettingNoun(m[4]), strings.ToLower(m[2]))
	}
	if m := enSwitch2.FindStringSubmatch(s); m != nil {
		return u.setting(enSettingNoun(m[3]), strings.ToLower(m[5]))
	}
	if m := enSwitch3.FindStringSubmatch(s); m != nil {
		on := map[string]bool{"enable": true, "activate": true, "start": true}[strings.ToLower(m[1])]
		return u.setting(enSettingNoun(m[3]), onOff(on))
	}
	if m := enSwitch4.FindStringSubmatch(s); m != nil {
		return u.setting(enSettingNoun(m[1]), strings.ToLower(m[3]))
	}
	if m := enLevelDir.FindStringSubmatch(s); m != nil {
		return u.setting(enLevelNoun(m[3]), strings.ToLower(m[4]))
	}
	if m := enLevelDi2.FindStringSubmatch(s); m != nil {
		return u.setting(enLevelNoun(m[4]), strings.ToLower(m[2]))
	}
	if m := enLevelDi3.FindStringSubmatch(s); m != nil {
		return u.setting(enLevelNoun(m[1]), strings.ToLower(m[2]))
	}
	if m := enLevelVb.FindStringSubmatch(s); m != nil {
		dir := "down"
		switch strings.ToLower(m[1]) {
		case "increase", "raise", "boost":
			dir = "up"
		}
		return u.setting(enLevelNoun(m[3]), dir)
	}
	if m := enLevelSet.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[5])
		return u.setting(enLevelNoun(m[3]), n)
	}
	if m := enLevelMax.FindStringSubmatch(s); m != nil {
		v := "max"
		if strings.HasPrefix(strings.ToLower(m[1]), "min") {
			v = "min"
		}
		return u.setting(enLevelNoun(m[2]), v)
	}
	if m := enLevelTo.FindStringSubmatch(s); m != nil {
		v := "max"
		if strings.Contains(strings.ToLower(m[5]), "min") {
			v = "min"
		}
		return u.setting(enLevelNoun(m[3]), v)
	}
	if m := enLoud.FindStringSubmatch(s); m != nil {
		w := strings.ToLower(m[1])
		switch {
		case strings.Contains(w, "louder"), w == "turn it up":
			return u.setting("volume", "up")
		case strings.Contains(w, "quieter"), strings.Contains(w, "softer"), w == "turn it down":
			return u.setting("volume", "down")
		case strings.Contains(w, "brighter"), strings.HasPrefix(w, "brighten"):
			return u.setting("brightness", "up")
		default:
			return u.setting("brightness", "down")
		}
	}
	return nil
}

// --- timer ---

var enTimerFrame = regexp.MustCompile(`(?i)^((set|start|create|make|put on|run)( me)?( an?| the| one)? (timer|countdown)( for)?|(set|start|create|make|put on|run)( me)?( an?| one)?\s+(timer|countdown)|timer( for)?|countdown( for)?|count down( from)?|(set|start|create|make|run)( me)?( an?| one)?)\s*(timer|countdown)?$`)

func (u *understander) enTimer(s string) *fastResult {
	if !u.declared(IntentSetTimer) {
		return nil
	}
	ls := strings.ToLower(s)
	if !strings.Contains(ls, "timer") && !strings.Contains(ls, "count") {
		return nil
	}
	d, a, b, ok := when.FindDurationEN(s)
	if !ok {
		return nil
	}
	frame := strings.Join(strings.Fields(s[:a]+" "+s[b:]), " ")
	frame = strings.TrimSuffix(strings.TrimSuffix(frame, " long"), "-")
	if !enTimerFrame.MatchString(frame) {
		return nil
	}
	return u.timer(d)
}

// --- calls and messages ---

var (
	enCall1 = regexp.MustCompile(`(?i)^(call|phone|ring|dial|ring up|call up|phone up|facetime audio) (.{1,40}?)( on (his|her|their) (mobile|cell|phone))?$`)
	enCall2 = regexp.MustCompile(`(?i)^(give|make) (.{1,40}?) a (call|ring)$`)
	enCall3 = regexp.MustCompile(`(?i)^(make|place) a (phone )?call to (.{1,40})$`)
	enMsg1  = regexp.MustCompile(`(?i)^(text|message|msg|sms|wechat) (.{1,40}?)(,|:| saying| that says| that) ?(.*)$`)
	enMsg2  = regexp.MustCompile(`(?i)^send (an? |the )?(text|message|sms|text message|wechat|wechat message|whatsapp) to (.{1,40}?)(,|:| saying| that says| that) ?(.*)$`)
	enMsg3  = regexp.MustCompile(`(?i)^send (.{1,40}?) an? (text|message|text message|wechat|wechat message|sms)(,|:| saying| that says| that) ?(.*)$`)
	enMsg4  = regexp.MustCompile(`(?i)^(send (an? |the )?(text|message|sms|text message|wechat|wechat message) to|text|message) ([a-z][a-z.'\-]*( [a-z][a-z.'\-]*)?)$`)
	enMsg5  = regexp.MustCompile(`(?i)^tell (.{1,40}?) (that|via text that|by text that) (.+)$`)
)

var enNotContact = regexp.MustCompile(`(?i)(^(a|an|the|me|my|it|him|her|them|us|someone|somebody|anyone|home|back|again|up)$|^(a|an|the|me) |\b(and|or|at|in|on|for|with|about|to|from|tomorrow|today|tonight|minutes?|hours?|later|taxi|uber|cab|ambulance|police)\b|[0-9]{1,2}(am|pm)|[,?!])`)

// enContact cleans a contact name; "my mom" becomes "mom".
func enContact(c string) (map[string]any, bool) {
	c = strings.TrimSpace(c)
	lc := strings.ToLower(c)
	if strings.HasPrefix(lc, "my ") {
		c, lc = c[3:], lc[3:]
	}
	for _, p := range []string{"'s mobile", "'s cell", "'s phone", "'s number"} {
		if strings.HasSuffix(lc, p) {
			c, lc = c[:len(c)-len(p)], lc[:len(lc)-len(p)]
		}
	}
	if c == "" || len(strings.Fields(c)) > 4 {
		return nil, false
	}
	if digits.MatchString(c) {
		return map[string]any{"number": strings.NewReplacer(" ", "", "-", "").Replace(c)}, true
	}
	if enNotContact.MatchString(c) {
		return nil, false
	}
	return map[string]any{"contact": c}, true
}

func (u *understander) enCall(s string) *fastResult {
	if !u.declared(IntentCall) {
		return nil
	}
	var name string
	if m := enCall1.FindStringSubmatch(s); m != nil {
		name = m[2]
	} else if m := enCall2.FindStringSubmatch(s); m != nil {
		name = m[2]
	} else if m := enCall3.FindStringSubmatch(s); m != nil {
		name = m[3]
	} else {
		return nil
	}
	p, ok := enContact(name)
	if !ok {
		return nil
	}
	return u.call(p)
}

func (u *understander) enMessage(s string) *fastResult {
	if !u.declared(IntentSendMessage) {
		return nil
	}
	var name, body, channel string
	if m := enMsg2.FindStringSubmatch(s); m != nil {
		channel, name, body = m[2], m[3], m[5]
	} else if m := enMsg3.FindStringSubmatch(s); m != nil {
		name, channel, body = m[1], m[2], m[4]
	} else if m := enMsg1.FindStringSubmatch(s); m != nil {
		channel, name, body = m[1], m[2], m[4]
	} else if m := enMsg5.FindStringSubmatch(s); m != nil {
		name, body = m[1], m[3]
	} else if m := enMsg4.FindStringSubmatch(s); m != nil {
		channel, name = m[3], m[4]
		if channel == "" {
			channel = m[1]
		}
	} else {
		return nil
	}
	p, ok := enContact(name)
	if !ok {
		return nil
	}
	if _, ok := p["number"]; ok {
		p = map[string]any{"contact": p["number"]}
	}
	if strings.Contains(strings.ToLower(channel), "wechat") {
		p["app"] = "wechat"
	}
	body = strings.Trim(body, " \"'")
	if body == "" {
		return &fastResult{intent: AnswerClarify, clarify: true,
			text:    u.word("clarify_message", map[string]string{"contact": p["contact"].(string)}),
			pending: &pending{Lang: "en", Text: strings.TrimRight(s, ",: "), At: len(strings.TrimRight(s, ",: ")), Sep: ": ", Need: "text"}}
	}
	p["text"] = body
	return &fastResult{intent: IntentSendMessage, params: p,
		text: u.word("message_confirm", map[string]string{"contact": p["contact"].(string), "text": body})}
}

// --- alarms, reminders, events ---

var enAlarmFrame = regexp.MustCompile(`(?i)^((set|create|make|add|put|schedule|get)( me)?( up)?( an?| the| my| one)?( new)? alarm( clock)?( for| at| on)?( me)?|wake me( up)?( at| on| for)?|alarm( for| at)?|(an? )?alarm( for| at)?)$`)

func (u *understander) enAlarm(s string) *fastResult {
	if !u.declared(IntentSetAlarm) {
		return nil
	}
	ls := strings.ToLower(s)
	if !strings.Contains(ls, "alarm") && !strings.Contains(ls, "wake me") {
		return nil
	}
	m, ok, err := u.find(s)
	frame := s
	if ok {
		frame = cutEN(s, m)
	}
	frame = strings.Join(strings.Fields(strings.Trim(frame, ", ")), " ")
	if !enAlarmFrame.MatchString(frame) {
		return nil
	}
	params := map[string]any{}
	if r := u.timeParams(s, m, ok, err, true, params); r != nil {
		return r
	}
	if params["time"] == nil {
		return nil
	}
	return &fastResult{intent: IntentSetAlarm, params: params, text: u.word("alarm_set", map[string]string{"when": u.whenText(m)})}
}

var enContentGuard = regexp.MustCompile(`(?i)\b(if|unless|when i|whenever|and then|cancel|delete|change|move|reschedule|every other|except)\b`)

// enEventRelative finds times relative to the user's day that only the model can place.
var enEventRelative = regexp.MustCompile(`(?i)\b(after|before|when|once) (work|school|lunch|dinner|breakfast|class|the meeting|my meeting|i get|i arrive|i leave|i wake|i'm|we)\b`)

var (
	enRemindHead = regexp.MustCompile(`(?i)^(remind me|set a reminder|set me a reminder|create a reminder|add a reminder|make a reminder|set reminder|reminder)( for me)?( to| about| that| of)?\b`)
)

func (u *understander) enReminder(s string) *fastResult {
	if !u.declared(IntentCreateReminder) {
		return nil
	}
	if !strings.Contains(strings.ToLower(s), "remind") {
		return nil
	}
	m, ok, err := u.find(s)
	frame := s
	if ok {
		frame = cutEN(s, m)
	}
	frame = strings.Join(strings.Fields(frame), " ")
	loc := enRemindHead.FindStringIndex(frame)
	if loc == nil || loc[0] != 0 {
		return nil
	}
	content := strings.TrimSpace(frame[loc[1]:])
	lc := strings.ToLower(content)
	for _, p := range []string{"to ", "about ", "that ", "of "} {
		if strings.HasPrefix(lc, p) {
			content, lc = content[len(p):], lc[len(p):]
			break
		}
	}
	// A dangling preposition left where the time was cut out: "call mom at" → "call mom".
	for _, p := range []string{" at", " on", " in", " by", " for"} {
		if strings.HasSuffix(lc, p) {
			content, lc = content[:len(content)-len(p)], lc[:len(lc)-len(p)]
		}
	}
	content = strings.Trim(content, " ,.:;-")
	// Negation inside the content is fine ("not to forget the keys"); conditions and
	// edits of other items are not.
	if enContentGuard.MatchString(content) {
		return nil
	}
	if enEventRelative.MatchString(content) {
		return nil
	}
	if content != "" {
		if _, ok2, _ := u.find(content); ok2 {
			return nil
		}
	}
	if content == "" {
		if !ok || err != nil {
			return nil
		}
		return &fastResult{intent: AnswerClarify, clarify: true, text: u.word("clarify_reminder", nil),
			pending: &pending{Lang: "en", Text: s, At: len(s), Sep: " to ", Need: "text"}}
	}
	params := map[string]any{"text": content}
	if r := u.timeParams(s, m, ok, err, false, params); r != nil {
		return r
	}
	return &fastResult{intent: IntentCreateReminder, params: params,
		text: u.word("reminder_set", map[string]string{"when": u.whenText(m), "text": content})}
}

var (
	enEventHead     = regexp.MustCompile(`(?i)^(add|create|schedule|put|make|set up|book|new)( an?| the| my)?( new)? (calendar event|event|meeting|appointment|calendar entry)( to my calendar| in my calendar| on my calendar| to the calendar| on the calendar)?( called| titled| named| for| about|:|,)?\s*`)
	enEventSchedule = regexp.MustCompile(`(?i)^(schedule|book) ([a-z0-9][a-z0-9 '&:-]{0,40})$`)
	enEventTail     = regexp.MustCompile(`(?i)^(add|put|schedule|save) (.+?) (to|on|in|into) (my |the )?calendar$`)
)

func (u *understander) enEvent(s string) *fastResult {
	if !u.declared(IntentCreateEvent) {
		return nil
	}
	ls := strings.ToLower(s)
	if !strings.Contains(ls, "calendar") && !strings.Contains(ls, "event") && !strings.Contains(ls, "meeting") && !strings.Contains(ls, "appointment") && !strings.HasPrefix(ls, "schedule ") && !strings.HasPrefix(ls, "book ") {
		return nil
	}
	m, ok, err := u.find(s)
	frame := s
	if ok {
		frame = cutEN(s, m)
	}
	frame = strings.Join(strings.Fields(frame), " ")
	title, kind := "", ""
	if mm := enEventTail.FindStringSubmatch(frame); mm != nil {
		title = mm[2]
	} else if mm := enEventSchedule.FindStringSubmatch(frame); mm != nil && ok && !enEventHead.MatchString(frame) {
		title = mm[2] // "schedule team lunch on wednesday at 12:30"
	} else if mm := enEventHead.FindStringSubmatchIndex(frame); mm != nil {
		kind = strings.ToLower(frame[mm[8]:mm[9]])
		title = frame[mm[1]:]
	} else {
		return nil
	}
	title = strings.Trim(title, " ,.:\"")
	lt := strings.ToLower(title)
	for _, p := range []string{" at", " on", " for", " from", " in"} {
		if strings.HasSuffix(lt, p) {
			title, lt = title[:len(title)-len(p)], lt[:len(lt)-len(p)]
		}
	}
	for _, p := range []string{"called ", "titled ", "named ", "for ", "about ", "a ", "an ", "the ", "my "} {
		if strings.HasPrefix(lt, p) {
			title, lt = title[len(p):], lt[len(p):]
		}
	}
	title = strings.TrimSpace(title)
	if strings.HasPrefix(lt, "with ") && kind != "" && kind != "event" && kind != "calendar event" {
		title = kind + " " + title // "an appointment with the doctor"
	}
	if enGuard.MatchString(title) {
		return nil
	}
	if title == "" {
		switch kind {
		case "meeting":
			title = "Meeting"
		case "appointment":
			title = "Appointment"
		}
	}
	if !ok {
		return &fastResult{intent: AnswerClarify, clarify: true, text: u.word("clarify_time", nil),
			pending: &pending{Lang: "en", Text: s, At: len(s), Sep: " ", Need: "time"}}
	}
	if err != nil {
		r, _ := u.clarifyTime(s, m, err)
		return r
	}
	if title == "" {
		return &fastResult{intent: AnswerClarify, clarify: true, text: u.word("clarify_event", nil),
			pending: &pending{Lang: "en", Text: s, At: len(s), Sep: " called ", Need: "text"}}
	}
	if _, ok2, _ := u.find(title); ok2 {
		return nil
	}
	return u.event(title, s, m)
}

// --- apps ---

var enOpen = regexp.MustCompile(`(?i)^(open|launch|start|run|open up|fire up|go to) (the |my )?([a-z0-9][a-z0-9 .&'+-]{0,30}?)( app| application)?$`)
var enNotApp = regexp.MustCompile(`(?i)\b(doors?|windows?|garage|light|lights|curtains?|tv|television|car|trunk|and|with|for|to|on|in|at|file|link|url|page|website|timer|alarm|reminder|meeting|conversation|countdown|game of|a |an )\b|\.(com|cn|org|net|io)\b`)

func (u *understander) enOpenApp(s string) *fastResult {
	if !u.declared(IntentOpenApp) {
		return nil
	}
	m := enOpen.FindStringSubmatch(s)
	if m == nil {
		return nil
	}
	app := strings.TrimSpace(m[3])
	if app == "" || enSettingNoun(app) != "" || enNotApp.MatchString(" "+app+" ") || len(strings.Fields(app)) > 3 {
		return nil
	}
	if _, ok, _ := u.find(app); ok {
		return nil
	}
	return u.openApp(app)
}

// --- answers ---

var enCalcFrame = regexp.MustCompile(`(?i)^(what is|what's|whats|calculate|compute|how much is|what does|solve|evaluate)?\s*(.+?)\s*(equals?|equal to|=|make)?\??$`)

var enTimesX = regexp.MustCompile(`([0-9])\s*x\s*([0-9])`)

var enCalcOps = strings.NewReplacer(" plus ", "+", " minus ", "-", " times ", "*", " multiplied by ", "*", " divided by ", "/",
	" over ", "/", " to the power of ", "^", " squared", "^2", " cubed", "^3", "square root of ", "√", "the square root of ", "√",
	" x ", "*", "×", "*", "÷", "/")

var enNumWord = regexp.MustCompile(`(?i)\b(zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand)( (one|two|three|four|five|six|seven|eight|nine|hundred|thousand))*\b`)

var enWordVal = map[string]int{"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
	"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
	"eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}

func enWordsToDigits(s string) string {
	return enNumWord.ReplaceAllStringFunc(s, func(w string) string {
		total, cur := 0, 0
		for _, f := range strings.Fields(strings.ToLower(w)) {
			switch f {
			case "hundred":
				if cur == 0 {
					cur = 1
				}
				cur *= 100
			case "thousand":
				if cur == 0 {
					cur = 1
				}
				total += cur * 1000
				cur = 0
			default:
				cur += enWordVal[f]
			}
		}
		return strconv.Itoa(total + cur)
	})
}

func (u *understander) enCalc(s string) *fastResult {
	m := enCalcFrame.FindStringSubmatch(s)
	if m == nil {
		return nil
	}
	e := " " + strings.ToLower(enWordsToDigits(m[2])) + " "
	e = enTimesX.ReplaceAllString(e, "$1*$2")
	e = strings.TrimSpace(enCalcOps.Replace(e))
	return u.calcResult(e)
}

var (
	enConvert1 = regexp.MustCompile(`(?i)^(convert |what is |what's |how much is )?(-?[0-9.]+) ?([a-z° ]{1,20}?) (to|in|into|as|is how many|in terms of) ([a-z° ]{1,20})$`)
	enConvert2 = regexp.MustCompile(`(?i)^how many ([a-z° ]{1,20}?) (is|are|in|make|make up) (-?[0-9.]+) ?([a-z° ]{1,20})$`)
)

func (u *understander) enConvert(s string) *fastResult {
	s2 := enWordsToDigits(s)
	if m := enConvert1.FindStringSubmatch(s2); m != nil {
		return u.convert(m[2], m[3], m[5])
	}
	if m := enConvert2.FindStringSubmatch(s2); m != nil {
		return u.convert(m[3], m[4], m[1])
	}
	return nil
}

var (
	enAskTime    = regexp.MustCompile(`(?i)^(what time is it|what's the time|whats the time|what is the time|what time is it now|do you know what time it is|time now|current time|what's the time now|tell me the time)$`)
	enAskDate    = regexp.MustCompile(`(?i)^(what's|what is|whats|tell me) (the date|today's date|the date today|todays date)( today)?$`)
	enAskDay     = regexp.MustCompile(`(?i)^what day (of the week )?is (it|today)( today)?$`)
	enAskWeekday = regexp.MustCompile(`(?i)^what day (of the week )?(is|will be|was|does) (.+?)( fall on| be| on)?$`)
	enAskWhen    = regexp.MustCompile(`(?i)^(when is|what date is|what's the date of|what is the date of|which day is) (.+)$`)
	enAskUntil   = regexp.MustCompile(`(?i)^how many days (are there |is it |left )?(until|till|til|to|before) (.+)$`)
	enAskWork    = regexp.MustCompile(`(?i)^is (.+?) a (working day|workday|work day|business day|day off|holiday)$`)
	enAskWork2   = regexp.MustCompile(`(?i)^do i (have to )?work (on )?(.+)$`)
)

func (u *understander) enDateQuestion(s string) *fastResult {
	switch {
	case enAskTime.MatchString(s):
		return u.askTime()
	case enAskDate.MatchString(s):
		return u.askDay("", "date")
	case enAskDay.MatchString(s):
		return u.askDay("", "weekday")
	}
	if m := enAskWeekday.FindStringSubmatch(s); m != nil {
		return u.askDay(m[3], "weekday")
	}
	if m := enAskWhen.FindStringSubmatch(s); m != nil {
		return u.askDay(m[2], "date")
	}
	if m := enAskUntil.FindStringSubmatch(s); m != nil {
		return u.askDay(m[3], "days_until")
	}
	if m := enAskWork.FindStringSubmatch(s); m != nil {
		// "is X a day off" asks the opposite question; the answer text says which it is.
		return u.askDay(m[1], "is_workday")
	}
	if m := enAskWork2.FindStringSubmatch(s); m != nil {
		return u.askDay(m[3], "is_workday")
	}
	return nil
}
