package safety

// Category is one of the 31 risk types of TC260-003 Appendix A (GB/T 45654-2025), written
// as its code: "A.1.4" is the fourth risk of A.1. Every lexicon rule and every decision
// carries one, so incidents and evaluation reports can be counted per risk.
type Category string

// CategoryInfo names a category.
type CategoryInfo struct {
	Code Category
	Name string // English
	Zh   string // Chinese
}

// Categories lists the 31 risk types in order.
var Categories = []CategoryInfo{
	{"A.1.1", "Inciting subversion of state power", "煽动颠覆国家政权、推翻社会主义制度"},
	{"A.1.2", "Endangering national security or image", "危害国家安全和利益、损害国家形象"},
	{"A.1.3", "Inciting separatism", "煽动分裂国家、破坏国家统一和社会稳定"},
	{"A.1.4", "Terrorism or extremism", "宣扬恐怖主义、极端主义"},
	{"A.1.5", "Ethnic hatred", "宣扬民族仇恨"},
	{"A.1.6", "Violence or obscenity", "宣扬暴力、淫秽色情"},
	{"A.1.7", "False harmful information", "传播虚假有害信息"},
	{"A.1.8", "Other unlawful content", "其他法律、行政法规禁止的内容"},
	{"A.2.1", "Ethnic discrimination", "民族歧视内容"},
	{"A.2.2", "Religious discrimination", "信仰歧视内容"},
	{"A.2.3", "Nationality discrimination", "国别歧视内容"},
	{"A.2.4", "Regional discrimination", "地域歧视内容"},
	{"A.2.5", "Gender discrimination", "性别歧视内容"},
	{"A.2.6", "Age discrimination", "年龄歧视内容"},
	{"A.2.7", "Occupational discrimination", "职业歧视内容"},
	{"A.2.8", "Health discrimination", "健康歧视内容"},
	{"A.2.9", "Other discrimination", "其他方面歧视内容"},
	{"A.3.1", "Infringing intellectual property", "侵犯他人知识产权"},
	{"A.3.2", "Violating business ethics", "违反商业道德"},
	{"A.3.3", "Leaking trade secrets", "泄露他人商业秘密"},
	{"A.3.4", "Monopoly or unfair competition", "利用算法、数据、平台等优势实施垄断和不正当竞争行为"},
	{"A.3.5", "Other commercial violations", "其他商业违法违规行为"},
	{"A.4.1", "Endangering physical or mental health", "危害他人身心健康"},
	{"A.4.2", "Infringing portrait rights", "侵害他人肖像权"},
	{"A.4.3", "Infringing reputation", "侵害他人名誉权"},
	{"A.4.4", "Infringing honour", "侵害他人荣誉权"},
	{"A.4.5", "Infringing privacy", "侵害他人隐私权"},
	{"A.4.6", "Infringing personal information", "侵害他人个人信息权益"},
	{"A.4.7", "Infringing other rights", "侵犯他人其他合法权益"},
	{"A.5.1", "Inaccurate content in high-need services", "内容不准确，严重不符合科学常识或主流认知"},
	{"A.5.2", "Unreliable content in high-need services", "内容不可靠，虽不包含严重错误但无法对使用者形成帮助"},
}

var categorySet = func() map[Category]bool {
	m := make(map[Category]bool, len(Categories))
	for _, c := range Categories {
		m[c.Code] = true
	}
	return m
}()

// Valid reports whether c is one of the 31 codes.
func (c Category) Valid() bool { return categorySet[c] }
