from pathlib import Path

import pytest

from qa.cleaning import clean
from qa.loading import read_file
from qa.schema import RawFile
from tests.conftest import SEEDS


def seed(prefix: str):
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    return clean(read_file(path))


@pytest.mark.parametrize(
    ("prefix", "meta"),
    [
        ("000", {"title": "构建城乡统筹基层党建新格局", "date": "2009年11月6日 08:08", "source": "嘉兴日报",
                 "author": "程茂林", "editor": "张彬"}),
        ("001", {"title": "温州:活力提升,让基层组织“强筋壮骨”", "date": "09月20日", "source": "浙江在线"}),
        ("002", {"title": "以改革创新精神构建城乡统筹的基层党建工作新机制", "date": "2009年9月30日 16:32",
                 "source": "区委组织部", "editor": "张彬"}),
        ("003", {"title": "全县基层组织建设年推进会议召开", "date": "2012-03-15", "source": "店埠镇"}),
        ("004", {"title": "城乡统筹党建途径初探", "author": "王玉新"}),
    ],
)
def test_metadata_of_real_seed_pages(prefix, meta):
    assert seed(prefix).meta.as_dict() == meta


@pytest.mark.parametrize(
    ("prefix", "kept", "dropped"),
    [
        ("000", ["在105家农业龙头企业", "会上,市委表彰了一批先锋工程"],
         ["首 页", "精彩推荐", "秀洲区20多个楼盘", "上月嘉兴市区住宅均价", "copyright", "浙ICP备", "相关稿件"]),
        ("001", ["后进支部已完成转化581个", "社区化党建加快步伐"],
         ["404 Not Found", "ZJOL", "您当前的位置", "文明上网", "复制本文", "闪光言行之星", "湖州南浔区", "视频播报"]),
        ("002", ["总面积800平方米", "实施主体:区委组织部"],
         ["您所在的位置", "世界最高男子", "北京地铁4号线", "奥巴马", "版权所有"]),
        ("003", ["在肥东宾馆召开", "县委书记、县人大主任杨宏星出席会议"], ["阅读次数", "[字体", "扫一扫"]),
        ("004", ["选配专职党务工作者256名"], ["VIP", "本文档共7页", "book118", "文档评论", "weiwoduzun", "该用户很懒", "查看更多"]),
    ],
)
def test_cleaning_keeps_body_and_drops_clutter(prefix, kept, dropped):
    body = "\n".join(seed(prefix).paragraphs)
    for text in kept:
        assert text in body
    for text in dropped:
        assert text not in body


def test_title_is_not_repeated_in_the_body():
    doc = seed("003")
    assert doc.meta.title not in doc.paragraphs


def test_html_page_loses_scripts_navigation_and_uses_its_title():
    html = """<html><head><title>温州基层组织建设 - 浙江在线</title><script>var x = "不要";</script></head>
    <body><nav>首页 | 新闻 | 体育 | 财经</nav><h1>温州基层组织建设</h1>
    <p>目前，后进支部已完成转化581个，确定的1180个重点疑难项目已解决880个。</p>
    <div>相关稿件</div><ul><li>·另一条新闻标题</li></ul><footer>copyright © 2012</footer></body></html>"""
    doc = clean(RawFile("x.html", "x.html", html, "utf-8", "0" * 64, is_html=True))
    assert doc.meta.title == "温州基层组织建设"
    assert doc.paragraphs == ["目前，后进支部已完成转化581个，确定的1180个重点疑难项目已解决880个。"]


def test_inline_markup_and_scripts_do_not_break_sentences():
    html = ("<html><body><h1>测试通知</h1><p>龙泉镇今年新建了<b>73座</b>文化礼堂，<script>x = 1</script>全部对外开放。</p>"
            "<p>正文写有字面标签 &lt;script&gt;alert(1)&lt;/script&gt; 供检查，这一句足够长。</p></body></html>")
    doc = clean(RawFile("x.html", "x.html", html, "utf-8", "0" * 64, is_html=True))
    assert doc.paragraphs == ["龙泉镇今年新建了73座文化礼堂，全部对外开放。",
                              "正文写有字面标签 <script>alert(1)</script> 供检查，这一句足够长。"]


def test_plain_file_with_a_heading_line():
    text = "泡泡战士\n基于《跑跑卡丁车》与《泡泡堂》上所开发的游戏，由韩国Nexon开发与发行。中国大陆由盛大游戏运营。\n"
    doc = clean(RawFile("a.txt", "TRIAL_800.txt", text, "utf-8", "0" * 64))
    assert doc.meta.title == "泡泡战士"
    assert doc.paragraphs[0].startswith("基于《跑跑卡丁车》")


def test_markdown_markers_are_removed():
    text = "# 标题\n\n- 第一项内容比较长，包含完整的句子和标点符号。\n- 第二项内容也比较长，同样包含完整的句子。\n"
    doc = clean(RawFile("a.md", "a.md", text, "utf-8", "0" * 64))
    assert doc.meta.title == "标题"
    assert doc.paragraphs == ["第一项内容比较长，包含完整的句子和标点符号。", "第二项内容也比较长，同样包含完整的句子。"]


def test_file_with_no_title_line_uses_its_stem():
    doc = clean(RawFile(str(Path("n.txt")), "notes.txt", "这是一段足够长的正文，讲述了一件事情的来龙去脉。", "utf-8", "0" * 64))
    assert doc.meta.title == "notes"
