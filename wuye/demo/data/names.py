"""Chinese names for generated people and estates, kept as plain strings so the lists stay readable.

Surnames carry rough frequency weights (per mille of the population, after the 2020 census rankings) so a
generated estate looks like a real one: many 王, 李 and 张, the occasional 欧阳.
"""


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _weighted(text: str) -> tuple[tuple[str, int], ...]:
    """ "王72 欧阳1" → (("王", 72), ("欧阳", 1))."""
    pairs = []
    for entry in _words(text):
        name = entry.rstrip("0123456789")
        pairs.append((name, int(entry[len(name) :])))
    return tuple(pairs)


SURNAMES = _weighted(
    """
    王72 李71 张68 刘54 陈45 杨32 黄23 赵20 吴20 周19 徐15 孙15 马14 朱13 胡13 郭12 何12 林11 高11 罗10
    郑10 梁9 谢7 宋6 唐6 许6 韩5 邓5 冯5 曹5 彭5 曾5 肖5 田4 董4 潘4 袁4 蔡4 蒋4 余4 于4 杜4 叶4 程4
    魏3 苏3 吕3 丁3 任3 卢3 姚3 沈3 钟3 姜3 崔3 谭3 陆3 范3 汪3 廖3 石3 金3 韦2 贾2 夏2 付2 方2 邹2
    熊2 白2 孟2 秦2 邱2 侯2 江2 尹2 薛2 闫2 段2 雷2 龙2 黎2 史2 陶2 贺2 毛1 郝1 顾1 龚1 邵1 万1 覃1
    武1 钱1 戴1 严1 莫1 孔1 向1 常1 汤1 欧阳1 司马1 诸葛1 上官1
    """
)

# Characters common in given names; a given name is one or two of them.
GIVEN_MALE = tuple(
    "".join(
        _words(
            """
            伟强磊军勇杰涛斌超明刚平辉鹏华飞波宇浩凯健俊帆帅旭宁龙林洋峰
            建国志文东海兵晨博亮成君子轩睿泽锐航宏德荣永新振家春立
            """
        )
    )
)
GIVEN_FEMALE = tuple(
    "".join(
        _words(
            """
            芳娜敏静丽艳娟霞秀英玲燕萍红梅琳雪慧婷倩颖洁佳琴云莉兰凤
            欣怡悦晶妍雯璐瑶思雨诗涵梦薇月彤可心晓丹蕾菲宁文玉春美淑珍
            """
        )
    )
)

# Mobile number prefixes of the three carriers (China Mobile, China Unicom, China Telecom) in everyday use.
MOBILE_PREFIXES = _words(
    """
    134 135 136 137 138 139 147 150 151 152 157 158 159 172 178 182 183 184 187 188 195 198
    130 131 132 145 155 156 166 175 176 185 186 196
    133 149 153 173 177 180 181 189 190 191 193 199
    """
)

# Estate names are a first part and a second part: 阳光 + 花园 = 阳光花园.
ESTATE_NAME_FIRST = _words(
    """
    阳光 金色 碧水 锦绣 翠湖 华府 御景 紫荆 银杏 香榭 枫林 玉兰 海棠 桂园 清华 新城 东方 南湖 西溪 北辰
    滨江 明珠 星河 雅居 绿城 世纪 万象 融创 书香 春江 秋月 长安 丽都 龙湖 天悦 云栖 和平 幸福 文苑 澜庭
    """
)
ESTATE_NAME_SECOND = _words("花园 家园 雅苑 名苑 华庭 公馆 新村 小区 府 湾 里 佳苑 嘉园 苑 城")

# (city, district) for estate addresses.
CITIES = tuple(
    tuple(pair.split("/"))
    for pair in _words(
        """
        杭州市/西湖区 杭州市/拱墅区 南京市/鼓楼区 苏州市/工业园区 上海市/闵行区
        成都市/武侯区 武汉市/洪山区 长沙市/岳麓区 合肥市/蜀山区 宁波市/鄞州区
        """
    )
)
ROADS = _words("文一路 学院路 中山路 人民路 解放路 建设路 湖滨路 长江路 黄河路 滨江大道 科技路")
