package assistant

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/qiao-gateway/qiao/internal/when"
)

// cleanZH folds the utterance and strips the wake word, politeness and trailing
// particles that do not change the request.
func cleanZH(s string) string {
	s = when.Fold(s)
	s = dropCJKSpaces(s)
	polite := false
	for changed := true; changed; {
		changed = false
		s = strings.TrimLeft(s, "，,。、 ")
		for _, p := range zhPrefixes {
			if strings.HasPrefix(s, p) && len(s) > len(p) {
				s = s[len(p):]
				changed = true
				polite = polite || zhPoliteModal[p]
			}
		}
	}
	if polite {
		// "能帮我打开蓝牙吗" is a request, not a question about Bluetooth.
		s = strings.TrimRight(s, "。.!！?？~～，, ")
		s = strings.TrimSuffix(s, "吗")
	}
	for changed := true; changed; {
		changed = false
		s = strings.TrimRight(s, "。.!！?？~～，, ")
		for _, p := range zhSuffixes {
			if strings.HasSuffix(s, p) && len(s) > len(p) {
				s = s[:len(s)-len(p)]
				changed = true
			}
		}
	}
	return s
}

var zhPrefixes = []string{"小乔小乔", "小乔同学", "小乔", "你好", "早上好", "上午好", "下午好", "晚上好", "早安", "嗨", "那个", "请你", "请", "麻烦你", "麻烦", "能不能", "能否", "可不可以", "可以", "你能", "能", "你帮我", "你给我", "帮我", "帮忙", "替我", "我想要", "我想", "我要", "我需要"}
var zhPoliteModal = map[string]bool{"能不能": true, "能否": true, "可不可以": true, "可以": true, "你能": true, "能": true, "麻烦你": true, "麻烦": true, "请你": true, "请": true}

var zhSuffixes = []string{"好吗", "好不好", "可以吗", "行吗", "行不行", "谢谢你", "谢谢", "吧", "呀", "啊", "哦", "呢", "啦", "嘛"}

// dropCJKSpaces removes spaces next to CJK characters ("打开 微信"), keeping those
// between Latin words ("Wi Fi", "Tom Lee").
func dropCJKSpaces(s string) string {
	if !strings.Contains(s, " ") {
		return s
	}
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if r == ' ' && i > 0 && i+1 < len(rs) && (isCJK(rs[i-1]) || isCJK(rs[i+1])) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isCJK(r rune) bool { return unicode.Is(unicode.Han, r) || (r >= 0x3000 && r <= 0x303F) }

// zhGuard lists words that make a request something the rules do not handle: negation,
// conditions, several steps, changes to existing items. Such frames go to the model.
var zhGuard = []string{"不要", "别", "不用", "不想", "如果", "要是", "假如", "的时候", "然后", "并且", "同时", "再", "之前", "以前", "之后", "以后", "取消", "删除", "删掉", "改成", "改到", "改为", "推迟", "提前", "延后", "为什么", "怎么", "是不是", "有没有", "或者", "还是", "所有", "每隔", "除了"}

func guardedZH(frame string) bool { return containsAny(frame, zhGuard...) }

func (u *understander) zh(raw string) *fastResult {
	s := cleanZH(raw)
	if s == "" {
		return nil
	}
	// These match whole, strict patterns, so words like 取消 (取消静音) or a message's
	// own content cannot mislead them; the guard below protects the looser domains.
	for _, f := range []func(string) *fastResult{u.zhMessage, u.zhSetting, u.zhDateQuestion, u.zhCalc, u.zhConvert} {
		if r := f(s); r != nil {
			return r
		}
	}
	if guardedZH(s) && !strings.Contains(s, "提醒") {
		return nil
	}
	for _, f := range []func(string) *fastResult{u.zhTimer, u.zhCall, u.zhAlarm, u.zhReminder, u.zhEvent, u.zhOpenApp} {
		if r := f(s); r != nil {
			return r
		}
	}
	return nil
}

// --- settings ---

var zhSettingNouns = []struct {
	re      *regexp.Regexp
	setting string
}{
	{regexp.MustCompile(`^(?i:wi-?fi|wlan|无线网络|无线网|无线局域网)$`), "wifi"},
	{regexp.MustCompile(`^(?i:蓝牙|bluetooth)$`), "bluetooth"},
	{regexp.MustCompile(`^(勿扰模式|免打扰模式|免打扰|勿扰|请勿打扰模式|请勿打扰)$`), "do_not_disturb"},
	{regexp.MustCompile(`^(手电筒|手电|闪光灯)$`), "flashlight"},
}

var (
	zhSwitchA  = regexp.MustCompile(`^(?:给我)?把?(打开|开启|开一下|开|启用|连上|连接|关闭|关掉|关上|关了|关|断开|禁用|停用)(一下)?(.{1,12}?)(模式)?(一下)?$`)
	zhSwitchB  = regexp.MustCompile(`^(?:给我)?把?(.{1,12}?)(模式)?(给我)?(打开|开启|开开|开一下|开了|启用|连上|关闭|关掉|关上|关了|关|断开|禁用)(一下)?$`)
	zhLevelDir = regexp.MustCompile(`^把?(音量|声音|媒体音量|铃声音量|屏幕亮度|亮度|屏幕)(再)?(调|调得|开|变|弄)?(大|高|亮|小|低|暗)(一点|一些|点|些|一点儿|点儿)?$`)
	zhLevelVb  = regexp.MustCompile(`^(调大|调高|增大|加大|提高|开大|调小|调低|降低|减小|关小|调亮|调暗)(一下|一点)?(音量|声音|媒体音量|屏幕亮度|亮度|屏幕)(一点|一些)?$`)
	zhLevelSet = regexp.MustCompile(`^把?(音量|声音|媒体音量|铃声音量|屏幕亮度|亮度)(调到|调成|设为|设置为|设置成|调至|设成|改成|开到|调整到|调)(百分之)?([0-9一二三四五六七八九十百两零]+)(%)?$`)
	zhLevelMax = regexp.MustCompile(`^把?(音量|声音|屏幕亮度|亮度|屏幕)(调到|开到|调成)?(最大|最小|最亮|最暗|最高|最低)$`)
	zhLoud     = regexp.MustCompile(`^(大声|小声|亮|暗|调亮|调暗)(一)?(点|些)(儿)?$`)
)

var zhOn = map[string]bool{"打开": true, "开启": true, "开一下": true, "开": true, "启用": true, "连上": true, "连接": true, "开开": true, "开了": true}

func settingNoun(x string) string {
	for _, n := range zhSettingNouns {
		if n.re.MatchString(x) {
			return n.setting
		}
	}
	return ""
}

func (u *understander) setting(setting string, value any) *fastResult {
	names := map[string]map[string]string{
		"wifi": {"zh": "Wi-Fi", "en": "Wi-Fi"}, "bluetooth": {"zh": "蓝牙", "en": "Bluetooth"},
		"do_not_disturb": {"zh": "勿扰模式", "en": "Do Not Disturb"}, "flashlight": {"zh": "手电筒", "en": "the flashlight"},
		"volume": {"zh": "音量", "en": "volume"}, "brightness": {"zh": "亮度", "en": "brightness"},
	}
	values := map[string]map[string]string{
		"on": {"zh": "已打开", "en": "on"}, "off": {"zh": "已关闭", "en": "off"}, "up": {"zh": "已调高", "en": "up"},
		"down": {"zh": "已调低", "en": "down"}, "max": {"zh": "已调到最大", "en": "to maximum"}, "min": {"zh": "已调到最小", "en": "to minimum"},
		"mute": {"zh": "已静音", "en": "muted"}, "unmute": {"zh": "已取消静音", "en": "unmuted"},
	}
	vs := ""
	switch v := value.(type) {
	case string:
		vs = values[v][u.lang()]
	case int:
		if v < 0 || v > 100 {
			return nil
		}
		if u.lang() == "zh" {
			vs = "已调到" + itoa(v) + "%"
		} else {
			vs = "set to " + itoa(v) + "%"
		}
	}
	return &fastResult{intent: IntentChangeSetting, params: map[string]any{"setting": setting, "value": value},
		text: u.word("setting_changed", map[string]string{"setting": names[setting][u.lang()], "value": vs})}
}

func (u *understander) zhSetting(s string) *fastResult {
	if !u.declared(IntentChangeSetting) {
		return nil
	}
	switch s {
	case "静音", "开启静音", "打开静音", "设为静音", "调成静音", "手机静音":
		return u.setting("volume", "mute")
	case "取消静音", "关闭静音", "关掉静音":
		return u.setting("volume", "unmute")
	case "把声音关掉", "把声音关了", "声音关掉", "关掉声音", "关闭声音", "把声音关闭", "静音模式", "打开静音模式", "开启静音模式":
		return u.setting("volume", "mute")
	}
	if m := zhSwitchA.FindStringSubmatch(s); m != nil {
		if n := settingNoun(m[3]); n != "" {
			return u.setting(n, onOff(zhOn[m[1]]))
		}
	}
	if m := zhSwitchB.FindStringSubmatch(s); m != nil {
		if n := settingNoun(m[1]); n != "" {
			return u.setting(n, onOff(zhOn[m[4]]))
		}
	}
	if m := zhLevelDir.FindStringSubmatch(s); m != nil {
		return u.levelDir(zhLevelNoun(m[1]), m[4])
	}
	if m := zhLevelVb.FindStringSubmatch(s); m != nil {
		return u.levelDir(zhLevelNoun(m[3]), string([]rune(m[1])[1]))
	}
	if m := zhLevelSet.FindStringSubmatch(s); m != nil {
		n, size := when.Number(m[4])
		if size != len(m[4]) {
			return nil
		}
		return u.setting(zhLevelNoun(m[1]), n)
	}
	if m := zhLevelMax.FindStringSubmatch(s); m != nil {
		v := "max"
		if strings.ContainsAny(m[3], "小暗低") {
			v = "min"
		}
		return u.setting(zhLevelNoun(m[1]), v)
	}
	if m := zhLoud.FindStringSubmatch(s); m != nil {
		switch m[1] {
		case "大声":
			return u.setting("volume", "up")
		case "小声":
			return u.setting("volume", "down")
		case "亮", "调亮":
			return u.setting("brightness", "up")
		default:
			return u.setting("brightness", "down")
		}
	}
	return nil
}

func zhLevelNoun(n string) string {
	if strings.Contains(n, "亮") || n == "屏幕" {
		return "brightness"
	}
	return "volume"
}

// levelDir maps a direction word to up/down, refusing combinations that do not fit
// ("音量调亮").
func (u *understander) levelDir(setting, dir string) *fastResult {
	switch dir {
	case "大", "高", "加", "增", "提", "开":
		if setting == "brightness" && dir == "大" {
			return nil
		}
		return u.setting(setting, "up")
	case "亮":
		if setting != "brightness" {
			return nil
		}
		return u.setting(setting, "up")
	case "小", "低", "降", "减", "关":
		if setting == "brightness" && dir == "小" {
			return nil
		}
		return u.setting(setting, "down")
	case "暗":
		if setting != "brightness" {
			return nil
		}
		return u.setting(setting, "down")
	}
	return nil
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// --- timer ---

var zhTimerFrame = regexp.MustCompile(`^(?:(?:计时器|定时器|倒计时)(?:设置为|设为|设成|定为|设置成|调到|定在)|(?:给我)?(设置|设定|设|定|来|开始|启动|开|开启|新建|建)?(一个|个|一下)?(的)?(计时器|倒计时|定时器|计时|定时)(一下)?)$`)

func (u *understander) zhTimer(s string) *fastResult {
	if !u.declared(IntentSetTimer) {
		return nil
	}
	if !containsAny(s, "计时", "定时") {
		return nil
	}
	d, a, b, ok := when.FindDurationZH(s)
	if !ok {
		return nil
	}
	frame := s[:a] + s[b:]
	if !zhTimerFrame.MatchString(frame) {
		return nil
	}
	return u.timer(d)
}

// --- calls and messages ---

var (
	zhCall1 = regexp.MustCompile(`^(给|跟|和)(.{1,30}?)(打|拨|回|打一|打个|拨个|回个|打一个|回一个|打一通|拨一)(个|通)?(电话|过去)$`)
	zhCall2 = regexp.MustCompile(`^(打电话|打个电话|打一个电话|拨电话|拨个电话|打通电话|致电|打给|拨给|打电话给|打个电话给)(给)?(.{1,30})$`)
	zhCall4 = regexp.MustCompile(`^(打|拨|拨打)(.{1,30}?)的(电话|手机|号码)$`)
	zhCall3 = regexp.MustCompile(`^(呼叫|拨打|拨通|拨)(一下)?(.{1,30}?)(的电话|的手机|的号码|电话)?$`)
	zhMsg1  = regexp.MustCompile(`^(给|跟|和)(.{1,30}?)(发|发送|发一条|发个|发条|发一个|回|回个|回一条)(一条|个|条|一个)?(短信|消息|信息|微信消息|微信|短消息|讯息)([，,:：。\s]*(说|内容是|内容为|告诉他|告诉她|告诉他们)?[，,:：\s]*)(.*)$`)
	zhMsg2  = regexp.MustCompile(`^(发|发送|发一条|发个|发条)(一条|个|条|一个)?(短信|消息|信息|微信消息|微信)(给|到)(.{1,30}?)(([，,:：。\s]+(说|内容是)?|说|内容是)[，,:：\s]*)(.*)$`)
	zhMsg2b = regexp.MustCompile(`^(发|发送|发一条|发个|发条)(一条|个|条|一个)?(短信|消息|信息|微信消息|微信)(给|到)(.{1,30}?)$`)
	zhMsg3  = regexp.MustCompile(`^(微信|短信)?(告诉|通知)(.{1,30}?)[，,:：]+(说)?(.+)$`)
	digits  = regexp.MustCompile(`^\+?[0-9][0-9\- ]{1,18}[0-9]$`)
)

// zhContact cleans a contact name; ok is false when it is not a plausible name.
func zhContact(c string) (map[string]any, bool) {
	c = strings.TrimSpace(c)
	for _, p := range []string{"我的", "我"} {
		if strings.HasPrefix(c, p) && len(c) > len(p) {
			c = c[len(p):]
			break
		}
	}
	for _, p := range []string{"的手机", "的电话", "手机", "的号码"} {
		c = strings.TrimSuffix(c, p)
	}
	if c == "" || strings.ContainsAny(c, "我你，,。:：？?!！和、") || guardedZH(c) || utf8.RuneCountInString(c) > 12 {
		return nil, false
	}
	if digits.MatchString(c) {
		return map[string]any{"number": strings.NewReplacer(" ", "", "-", "").Replace(c)}, true
	}
	for _, w := range []string{"电话", "短信", "消息", "微信", "视频", "一下", "打", "发", "说"} {
		if strings.Contains(c, w) {
			return nil, false
		}
	}
	return map[string]any{"contact": c}, true
}

func (u *understander) zhCall(s string) *fastResult {
	if !u.declared(IntentCall) {
		return nil
	}
	var name string
	if m := zhCall1.FindStringSubmatch(s); m != nil {
		name = m[2]
	} else if m := zhCall2.FindStringSubmatch(s); m != nil {
		name = m[3]
	} else if m := zhCall4.FindStringSubmatch(s); m != nil {
		name = m[2]
	} else if m := zhCall3.FindStringSubmatch(s); m != nil {
		name = m[3]
	} else {
		return nil
	}
	if _, ok, _ := u.find(s); ok {
		return nil // "明天给妈妈打电话" is a reminder or a plan, not a call now
	}
	p, ok := zhContact(name)
	if !ok {
		return nil
	}
	return u.call(p)
}

func (u *understander) call(p map[string]any) *fastResult {
	who, _ := p["contact"].(string)
	if who == "" {
		who, _ = p["number"].(string)
	}
	return &fastResult{intent: IntentCall, params: p, text: u.word("calling", map[string]string{"contact": who})}
}

func (u *understander) zhMessage(s string) *fastResult {
	if !u.declared(IntentSendMessage) {
		return nil
	}
	var name, body, channel, frame string
	if m := zhMsg1.FindStringSubmatch(s); m != nil {
		name, channel, body = m[2], m[5], m[8]
		frame = m[1] + m[3] + m[4] + m[5]
	} else if m := zhMsg2.FindStringSubmatch(s); m != nil {
		name, channel, body = m[5], m[3], m[9]
		frame = m[1] + m[3] + m[4]
	} else if m := zhMsg2b.FindStringSubmatch(s); m != nil {
		name, channel = m[5], m[3]
		frame = m[1] + m[3] + m[4]
	} else if m := zhMsg3.FindStringSubmatch(s); m != nil {
		name, channel, body = m[3], m[1], m[5]
		frame = m[2]
	} else {
		return nil
	}
	if guardedZH(frame) {
		return nil
	}
	p, ok := zhContact(name)
	if !ok {
		return nil
	}
	if _, ok := p["number"]; ok {
		p = map[string]any{"contact": p["number"]}
	}
	body = strings.Trim(body, "，,:：。 “”\"")
	if containsAny(body, "然后", "顺便", "再给", "同时给", "接着") {
		return nil // several requests in one: the model sorts them out
	}
	if strings.Contains(channel, "微信") {
		p["app"] = "wechat"
	}
	if body == "" {
		return &fastResult{intent: AnswerClarify, clarify: true,
			text:    u.word("clarify_message", map[string]string{"contact": p["contact"].(string)}),
			pending: &pending{Lang: "zh", Text: strings.TrimRight(s, "，,:：。 "), At: len(strings.TrimRight(s, "，,:：。 ")), Sep: "，", Need: "text"}}
	}
	p["text"] = body
	return &fastResult{intent: IntentSendMessage, params: p,
		text: u.word("message_confirm", map[string]string{"contact": p["contact"].(string), "text": body})}
}

// --- alarms, reminders, events ---

var zhAlarmFrame = regexp.MustCompile(`^((帮忙|给我)?(设置|设定|设|定|订|来|建|加|添加|新建|弄|调|开)?(一下|一个|个|一只)?(的)?(闹钟|闹铃|叫醒我|叫我起床|叫我起来|喊我起床|喊我起来|叫醒|叫我|喊我|起床)(一下|一个|一声)?(起床)?|(闹钟|闹铃)(设|定|设置|设定|调)(在|到|为|成)?)$`)

func (u *understander) zhAlarm(s string) *fastResult {
	if !u.declared(IntentSetAlarm) {
		return nil
	}
	if !containsAny(s, "闹钟", "闹铃", "叫我", "喊我", "叫醒", "起床") {
		return nil
	}
	m, ok, err := u.find(s)
	frame := s
	if ok {
		m = withZai(s, m)
		frame = s[:m.Start] + s[m.End:]
	}
	frame = strings.Trim(frame, "，,的 ")
	if !zhAlarmFrame.MatchString(frame) {
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

// zhEventRelative finds times relative to the user's day ("下班前", "到家后") that only
// the model can place.
var zhEventRelative = regexp.MustCompile(`(下班|上班|放学|睡觉|睡前|出门|到家|回家|起床|吃饭|饭后|饭前|开会|会后|到公司|上车|下车)(前|后|的时候|之前|之后|以后|时)`)

var (
	zhRemindHead = regexp.MustCompile(`^(记得|到时候|到时|准时)?(在)?(提醒我一下|提醒一下我|提醒下我|提醒我|提醒一下|叫我)`)
	zhRemindSet  = regexp.MustCompile(`^(设置|设定|设|定|加|添加|建|新建|来)(一个|个|一条|条)?(提醒)([，,:：]*(内容是|内容为)?[，,:：]*)`)
)

func (u *understander) zhReminder(s string) *fastResult {
	if !u.declared(IntentCreateReminder) {
		return nil
	}
	if !strings.Contains(s, "提醒") {
		return nil
	}
	m, ok, err := u.find(s)
	frame := s
	if ok {
		m = withZai(s, m)
		frame = cut(s, m.Start, m.End, "")
	}
	loc := zhRemindHead.FindStringSubmatchIndex(frame)
	if loc == nil {
		loc = zhRemindSet.FindStringSubmatchIndex(frame)
	}
	if loc == nil {
		return nil
	}
	head := frame[:loc[1]]
	if guardedZH(head) {
		return nil
	}
	content := strings.Trim(frame[loc[1]:], "，,:：。 ")
	for _, p := range []string{"一下", "我", "要", "记得", "说"} {
		content = strings.TrimPrefix(content, p)
	}
	content = strings.Trim(content, "，,:：。 ")
	if strings.HasPrefix(content, "的") || strings.HasPrefix(content, "在") {
		return nil // the time belongs to the content: "提醒我明天三点的会"
	}
	if ok && m.Start > 0 && !strings.HasPrefix(frame, s[:m.Start]) {
		// The time came after the content ("提醒我开会明天"): unusual, leave it.
		return nil
	}
	if content != "" {
		if _, ok2, _ := u.find(content); ok2 {
			return nil // a second time in the content
		}
		if containsAny(content, "不要", "不想", "如果", "的时候", "然后", "取消", "删除", "改成", "推迟") || zhEventRelative.MatchString(content) {
			return nil
		}
	}
	if content == "" {
		if ok && err == nil {
			return &fastResult{intent: AnswerClarify, clarify: true, text: u.word("clarify_reminder", nil),
				pending: &pending{Lang: "zh", Text: strings.TrimRight(s, "，,:： "), At: len(strings.TrimRight(s, "，,:： ")), Sep: "，", Need: "text"}}
		}
		if !ok {
			return nil
		}
	}
	params := map[string]any{"text": content}
	if r := u.timeParams(s, m, ok, err, false, params); r != nil {
		return r
	}
	return &fastResult{intent: IntentCreateReminder, params: params,
		text: u.word("reminder_set", map[string]string{"when": u.whenText(m), "text": content})}
}

var (
	zhEventHead = regexp.MustCompile(`^(在|往)?(日历|日程)?(上|里|中)?(添加|新建|创建|建|加|安排|记|约|预约|加个|加一个|记一下|写上|记上)(一下|一个|个|一条|条)?(的)?(日程|日历事件|日历提醒|行程|会议|会|约会|事件|活动|日历)?([，,:：]*(叫|名为|标题是|主题是|内容是|内容为|是)?[，,:：]*)`)
	zhEventTail = regexp.MustCompile(`[，,]?(帮我|给我)?(加到|记到|添加到|放到|写到|放进|记在|加进)(我的)?(日历|日程)(里|上|中)?(去)?$`)
)

func (u *understander) zhEvent(s string) *fastResult {
	if !u.declared(IntentCreateEvent) {
		return nil
	}
	if !containsAny(s, "日程", "日历", "会议", "行程", "约会", "事件", "活动", "会") {
		return nil
	}
	m, ok, err := u.find(s)
	frame := s
	if ok {
		m = withZai(s, m)
		frame = cut(s, m.Start, m.End, "")
	}
	title, kind := "", ""
	if loc := zhEventHead.FindStringSubmatchIndex(frame); loc != nil {
		if loc[14] >= 0 {
			kind = frame[loc[14]:loc[15]]
		}
		title = frame[loc[1]:]
		if !containsAny(frame[:loc[1]], "日历", "日程", "行程") && !containsAny(kind, "日程", "日历", "行程", "会议", "会", "约会") {
			return nil
		}
	} else if loc := zhEventTail.FindStringIndex(frame); loc != nil {
		title = frame[:loc[0]]
	} else {
		return nil
	}
	title = strings.Trim(title, "，,:：。 ")
	title = strings.TrimPrefix(title, "的")
	title = strings.TrimPrefix(title, "全天") // all-day is what a date without a clock means anyway
	if guardedZH(title) {
		return nil
	}
	if title == "" {
		switch kind {
		case "会议", "会":
			title = "会议"
		case "约会":
			title = "约会"
		}
	}
	if !ok {
		return &fastResult{intent: AnswerClarify, clarify: true, text: u.word("clarify_time", nil),
			pending: &pending{Lang: "zh", Text: s, At: 0, Need: "time"}}
	}
	if err != nil {
		r, _ := u.clarifyTime(s, m, err)
		return r
	}
	if title == "" {
		return &fastResult{intent: AnswerClarify, clarify: true, text: u.word("clarify_event", nil),
			pending: &pending{Lang: "zh", Text: s, At: len(s), Sep: "，标题是", Need: "text"}}
	}
	if _, ok2, _ := u.find(title); ok2 {
		return nil
	}
	return u.event(title, s, m)
}

func (u *understander) event(title, full string, m when.Match) *fastResult {
	v := m.Value
	params := map[string]any{"title": title}
	if v.Recur != nil {
		return nil // repeating events are left to the model
	}
	if !v.HasClock && v.Period != "" {
		sep := map[string]string{"zh": "", "en": " "}[u.lang()]
		return &fastResult{intent: AnswerClarify, clarify: true, text: u.word("clarify_time", nil),
			pending: &pending{Lang: u.lang(), Text: full, At: m.End, Sep: sep, Need: "time"}}
	}
	if v.HasClock {
		if !v.Time.After(u.t.now) {
			return u.past(full, m)
		}
		params["start"] = v.Time.Format(rfc3339)
		if !v.End.IsZero() {
			params["end"] = v.End.Format(rfc3339)
		}
	} else {
		if when.DateOf(v.Time).Before(when.DateOf(u.t.now)) {
			return nil
		}
		params["start"] = when.DateOf(v.Time).String()
		params["all_day"] = true
	}
	return &fastResult{intent: IntentCreateEvent, params: params,
		text: u.word("event_created", map[string]string{"title": title, "when": u.whenText(m)})}
}

// --- apps ---

var zhOpen = regexp.MustCompile(`^(?:给我)?(打开|启动|开启|运行|进入|开)(一下)?(我的)?(.{1,10}?)(应用|软件|app|App|APP)?$`)

func (u *understander) zhOpenApp(s string) *fastResult {
	if !u.declared(IntentOpenApp) {
		return nil
	}
	m := zhOpen.FindStringSubmatch(s)
	if m == nil {
		return nil
	}
	app := strings.TrimSpace(m[4])
	if app == "" || settingNoun(app) != "" || containsAny(app, "搜索", "搜", "找", "查", "看", "发", "给", "导航", "去", "到", "扫", "播放", "听", "的", "和", "并", "跟", "门", "窗", "灯", "空调", "电视", "车", "会", "玩笑", "始", "心", "闹钟", "提醒", "计时", "静音", "一点", "模式", "拍", "录", "写", "买", "读", "音量", "声音", "亮度", "屏幕", "，", ",") {
		return nil
	}
	if _, ok, _ := u.find(app); ok {
		return nil
	}
	return u.openApp(app)
}

func (u *understander) openApp(app string) *fastResult {
	return &fastResult{intent: IntentOpenApp, params: map[string]any{"app": app}, text: u.word("app_open", map[string]string{"app": app})}
}

func (u *understander) timer(d interface{ Seconds() float64 }) *fastResult {
	secs := int(d.Seconds())
	if secs < 1 || secs > 24*3600 {
		return nil
	}
	return &fastResult{intent: IntentSetTimer, params: map[string]any{"duration_seconds": secs},
		text: u.word("timer_set", map[string]string{"duration": describeDuration(secondsDur(secs), u.lang())})}
}
