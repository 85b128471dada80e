package when

import (
	"strings"
	"unicode/utf8"
)

// tradToSimp folds the Traditional characters that occur in assistant requests (times,
// alarms, settings, messages) to Simplified. It is deliberately a small table, not a
// general converter: the understander only needs its own vocabulary to match.
var tradToSimp = map[rune]rune{
	'點': '点', '時': '时', '後': '后', '週': '周', '個': '个', '號': '号', '鬧': '闹', '鐘': '钟',
	'設': '设', '開': '开', '關': '关', '藍': '蓝', '響': '响', '電': '电', '話': '话', '給': '给',
	'發': '发', '訊': '讯', '幾': '几', '還': '还', '兩': '两', '曆': '历', '計': '计', '閉': '闭',
	'擾': '扰', '聲': '声', '調': '调', '節': '节', '國': '国', '慶': '庆', '禮': '礼', '這': '这',
	'們': '们', '說': '说', '為': '为', '麼': '么', '嗎': '吗', '幫': '帮', '請': '请', '媽': '妈',
	'爺': '爷', '現': '现', '換': '换', '減': '减', '於': '于', '勞': '劳', '動': '动', '傳': '传',
	'簡': '简', '寫': '写', '會': '会', '議': '议', '間': '间', '體': '体', '靜': '静', '機': '机',
	'無': '无', '線': '线', '網': '网', '絡': '络', '飛': '飞', '應': '应', '啟': '启', '車': '车',
	'氣': '气', '溫': '温', '轉': '转', '華': '华', '攝': '摄', '從': '从', '裡': '里', '裏': '里',
	'鐵': '铁', '約': '约', '級': '级', '視': '视', '頻': '频', '覽': '览', '圖': '图', '買': '买',
	'長': '长', '飯': '饭', '藥': '药', '醫': '医', '師': '师', '預': '预', '歲': '岁', '與': '与',
	'習': '习', '筆': '笔', '記': '记', '錄': '录', '樂': '乐', '單': '单', '燈': '灯', '數': '数',
	'學': '学', '曬': '晒', '澆': '浇', '繳': '缴', '費': '费', '帳': '账', '賬': '账', '貓': '猫',
	'餵': '喂', '過': '过', '將': '将', '專': '专', '業': '业', '億': '亿', '萬': '万', '塊': '块',
	'錢': '钱', '門': '门', '問': '问', '題': '题', '歡': '欢', '讓': '让', '聽': '听', '讀': '读',
	'書': '书', '認': '认', '識': '识', '較': '较', '遠': '远', '鄰': '邻', '張': '张', '陳': '陈',
	'劉': '刘', '趙': '赵', '黃': '黄', '吳': '吴', '鄭': '郑', '馬': '马', '貝': '贝', '東': '东',
	'練': '练', '課': '课', '實': '实', '驗': '验', '試': '试', '結': '结', '麵': '面', '廳': '厅',
	'層': '层', '紅': '红', '綠': '绿', '區': '区', '寶': '宝', '貼': '贴', '變': '变', '僅': '仅',
	'態': '态', '總': '总', '經': '经', '辦': '办', '場': '场', '興': '兴', '衝': '冲', '啓': '启',
	'閱': '阅', '際': '际', '協': '协', '鬥': '斗', '稱': '称', '碼': '码', '撥': '拨', '剛': '刚',
	'葉': '叶', '溝': '沟', '鍵': '键', '盤': '盘', '螢': '萤', '暫': '暂', '倆': '俩', '勵': '励',
	'邊': '边', '麗': '丽', '偉': '伟', '鳳': '凤', '龍': '龙', '軍': '军', '喚': '唤', '鈴': '铃',
	'聯': '联', '裝': '装', '載': '载', '搖': '摇', '戲': '戏', '備': '备', '訂': '订', '餘': '余',
	'額': '额', '鬆': '松',
}

// Fold normalizes an utterance for matching: full-width ASCII to half-width, the
// ideographic space to a space, Traditional characters of the assistant's vocabulary to
// Simplified, and runs of spaces collapsed. Case is kept (contact names keep theirs).
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			continue
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000 || r == '\t' || r == '\n' || r == '\r':
			r = ' '
		case r == '：':
			r = ':'
		}
		if s, ok := tradToSimp[r]; ok {
			r = s
		}
		if r == ' ' {
			if space || b.Len() == 0 {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), " ")
}

var zhDigit = map[rune]int{'零': 0, '〇': 0, '一': 1, '二': 2, '两': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}
var zhUnit = map[rune]int{'十': 10, '百': 100, '千': 1000, '万': 10000}

// Number parses the number at the start of s: ASCII digits or Chinese numerals ("十五",
// "二十三", "一百零五", "两千", "二〇二六"). It returns the value and the bytes consumed;
// n is 0 when s does not start with a number. Values above 10^8 are rejected.
func Number(s string) (v, n int) {
	if s == "" {
		return 0, 0
	}
	if s[0] >= '0' && s[0] <= '9' {
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			if v > 1e8 {
				return 0, 0
			}
			v = v*10 + int(s[n]-'0')
			n++
		}
		return v, n
	}
	// Collect the run of numeral runes.
	type tok struct {
		r    rune
		size int
	}
	var toks []tok
	units := false
	for i := 0; i < len(s) && len(toks) < 12; {
		r, size := utf8.DecodeRuneInString(s[i:])
		_, d := zhDigit[r]
		_, u := zhUnit[r]
		if !d && !u {
			break
		}
		units = units || u
		toks = append(toks, tok{r, size})
		i += size
	}
	if len(toks) == 0 {
		return 0, 0
	}
	if !units {
		// A digit string: "二〇二六" or a single digit. "两" is not used digit by digit.
		if len(toks) > 1 {
			for _, t := range toks {
				if t.r == '两' {
					return 0, 0
				}
			}
		}
		for _, t := range toks {
			v = v*10 + zhDigit[t.r]
			n += t.size
		}
		return v, n
	}
	total, section, digit := 0, 0, -1
	for _, t := range toks {
		if d, ok := zhDigit[t.r]; ok {
			if digit >= 0 && d != 0 && digit != 0 {
				break // two digits in a row after units ("十五六") — stop before the second
			}
			digit = d
			n += t.size
			continue
		}
		u := zhUnit[t.r]
		if u == 10000 {
			if digit > 0 {
				section += digit
			}
			total += section * 10000
			section, digit = 0, -1
			n += t.size
			continue
		}
		if digit < 0 {
			if u != 10 {
				break // "百" alone is not a number here
			}
			digit = 1 // "十五" = 15
		}
		section += digit * u
		digit = -1
		n += t.size
	}
	if digit > 0 {
		section += digit
	}
	return total + section, n
}
