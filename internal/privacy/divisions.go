package privacy

// divisionNames are province-level divisions and major prefecture-level cities (GB/T 2260)
// without their suffix. They anchor an address; the suffix grammar does the rest, so a
// district missing from this list is still found when the address has a street and number.
var divisionNames = []string{
	"北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽",
	"福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西",
	"甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
	"石家庄", "唐山", "秦皇岛", "邯郸", "保定", "张家口", "承德", "廊坊", "沧州", "太原", "大同",
	"呼和浩特", "包头", "沈阳", "大连", "鞍山", "长春", "哈尔滨", "大庆", "南京", "无锡", "徐州",
	"常州", "苏州", "南通", "扬州", "镇江", "杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华",
	"台州", "合肥", "芜湖", "福州", "厦门", "泉州", "南昌", "赣州", "济南", "青岛", "烟台", "潍坊",
	"淄博", "威海", "临沂", "郑州", "洛阳", "开封", "武汉", "宜昌", "襄阳", "长沙", "株洲", "湘潭",
	"岳阳", "广州", "深圳", "珠海", "汕头", "佛山", "东莞", "中山", "惠州", "江门", "湛江", "南宁",
	"桂林", "柳州", "海口", "三亚", "成都", "绵阳", "贵阳", "遵义", "昆明", "大理", "丽江", "拉萨",
	"西安", "咸阳", "兰州", "西宁", "银川", "乌鲁木齐", "喀什",
}

// Address grammar: a component is a name followed by one of these suffixes (longest first
// within each list).
var (
	adminSuffixes = []string{"特别行政区", "自治区", "自治州", "自治县", "开发区", "新区", "街道", "地区", "省", "市", "盟", "区", "县", "旗", "镇", "乡"}
	roadSuffixes  = []string{"大街", "大道", "胡同", "路", "街", "巷", "弄", "道", "里", "段"}
	placeSuffixes = []string{"写字楼", "小区", "社区", "花园", "大厦", "公寓", "广场", "家园", "新村", "宿舍", "大楼", "商城", "中心", "村", "苑", "府", "城", "园", "庄", "屯"}
	numSuffixes   = []string{"号院", "号楼", "单元", "号", "弄", "栋", "幢", "座", "层", "楼", "室", "户", "组", "排"}
)

// addrCues stand before an address: 地址：, 住在, 寄到.
var addrCues = []string{"收货地址", "家庭住址", "联系地址", "通讯地址", "地址", "住址", "住在", "家住", "居住在", "现住", "位于", "寄到", "寄往", "送到", "送至", "寄至", "发到", "邮寄到", "配送到", "搬到"}

// addrStop are characters that never occur inside an address name in running text; they
// end the backward search for an address start.
const addrStop = "的了是在我你他她它们到去来从往住把被给让请帮要想会能可就也还很吗呢吧啊说这那个于寄送过着将已为对向等其此每位啦嘛哦或及与但而并且如果因所以有没不"
