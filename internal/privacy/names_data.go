package privacy

// surnames are the common single-character Chinese surnames (the ~400 that cover nearly all
// of the population, after the public-security surname rankings).
const surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由"

// compoundSurnames are two-character surnames.
var compoundSurnames = []string{"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙",
	"慕容", "长孙", "宇文", "司徒", "夏侯", "轩辕", "令狐", "独孤", "端木", "南宫", "西门",
	"百里", "呼延", "澹台", "公冶", "太史", "申屠", "钟离", "闻人", "赫连", "万俟", "濮阳",
	"淳于", "单于", "司空", "拓跋", "完颜", "左丘", "东郭", "北堂", "第五"}

// givenChars are characters common in given names. Function words (的, 是, 在, 了, ...) are
// deliberately absent: they are what ends a name in running text.
const givenChars = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华文玉兰萍红建国志海燕鹏飞宇浩然轩涵欣怡雨婷佳琪思雅嘉晨阳博俊悦诺萱梦柳青岚香夏菡珊曼乐菱柔蓉安琴彤晴霜紫翠烟若真晓灵蕊雁雪云凝冰旋绿凡松枫薇波芷蕾露丹瑶珍莲荷竹巧丝秋白子梓泽睿宸昊辰逸瀚钰琳璐颖婧倩慧婉娅媛妍姗妮莉莎菲蕙芸馨琦瑾瑜璇璟珂玥瑞祥福禄寿德仁义礼智信忠孝贤良斌彬杨林森峰岩山川江河湖洪浪清源澜渊鑫金银铭锋钢铁鸿鹤鹰龙虎豪雄威武兵帅健康宁泰庆喜春冬月星光辉耀亮晖晶昕旭晗昱曦曜东天成功立新永长远达顺利兴旺盛荣昌宏伦凯奇家宝珠翔哲卫民小伊依亦艺宜颜诗书画墨韵音歌舞嫣娴婵姝娇艾爱恩惠慈蕴杉桐楠柏槐榕樱桃梅菊芬芝芮苗茜茹莹萌蓓蔚朗峻崇嵩岳巍坤培垚城基堂增壮声尧元兆先克全凤力加勤卓南卿厚同启君咏品善喆坚均士学孟季守宗定宪宾容富寒尚展岐崎州帆希广庭延弘彦彪征心忆恒恺惟慕懿振捷政敬方昭晋景朋朝柱树栋梁楷欢正毅汉沛治泉洁津深淑渝溪滨潇潮澄灿炎炜烨焕煜熙爽玮环珏琛瑛璋生田登皓益盈硕祺程穆章童笑筠策简素绮维缘群羽翰聪育舒航芊茂菁蒙蓝虹蝶言语贝贞贺越辉运进迪道邦郁锐闻雯雷霖非韬韦飘驰骏高鸣麒黎鼎儿三四五"

// nameBefore are cues that stand before a name: 我叫张伟, 姓名：李娜.
var nameBefore = []string{"我叫", "叫做", "名叫", "姓名", "名字是", "名字叫", "联系人", "收件人", "收货人",
	"寄件人", "患者", "申请人", "法人代表", "法定代表人", "经办人", "签名", "署名", "持卡人", "户名", "户主", "紧急联系人", "本人",
	"委托人", "受托人", "代理人", "担保人", "借款人", "出借人", "投保人", "被保险人", "受益人", "租客", "租户",
	"业主", "房东", "乘客", "旅客", "甲方", "乙方", "收款人", "付款人", "开户名", "账户名", "监护人", "家长",
	"他叫", "她叫", "爸叫", "妈叫", "子叫", "儿叫", "公叫", "婆叫", "人叫", "我的名字是"}

// notName are words that start with a surname character and stand where a name would:
// 紧急联系人：母亲.
var notName = map[string]bool{"母亲": true, "父亲": true, "本人": true, "自己": true, "朋友": true,
	"家人": true, "老公": true, "老婆": true, "同事": true, "师傅": true, "司机": true, "无": true}

// nameBeforeWeak are cues that often precede other things (我是学生): the name must be
// made of given-name characters and end at punctuation or a function word.
var nameBeforeWeak = []string{"我是", "他是", "她是"}

// nameAfter are titles that follow a name or a bare surname: 王先生, 李娜女士.
var nameAfter = []string{"先生", "女士", "小姐", "老师", "经理", "医生", "大夫", "律师", "教授",
	"主任", "同学", "师傅", "阿姨", "总监", "院长", "校长", "处长", "局长", "科长", "书记", "董事长", "总经理"}
