import json

from qa.squad import convert, split_of


def test_cjrc_style_cases_and_impossible_questions(tmp_path):
    source = tmp_path / "cjrc.json"
    source.write_text(json.dumps({"data": [{"caseid": "17", "domain": "civil", "paragraphs": [{
        "casename": "离婚纠纷", "context": "经审理查明:原告与被告于2010年结婚。",
        "qas": [{"id": "17_1", "question": "何时结婚？", "is_impossible": "false",
                 "answers": [{"text": "2010年", "answer_start": 13}, {"text": "2010年", "answer_start": 13}]},
                {"id": "17_2", "question": "有几个孩子？", "is_impossible": "true",
                 "answers": [{"text": "", "answer_start": -1}]}]}]}]}, ensure_ascii=False), "utf-8")
    assert convert(source, tmp_path / "out") == (1, 2)
    assert (tmp_path / "out" / "corpus" / "17.txt").read_text("utf-8").startswith("离婚纠纷\n经审理查明")
    rows = [json.loads(line) for line in (tmp_path / "out" / "questions.jsonl").read_text("utf-8").splitlines()]
    assert rows[0]["answers"] == ["2010年"] and rows[1]["answers"] == []
    assert rows[0]["split"] == rows[1]["split"] == split_of("17")  # one document, one side


def test_split_is_stable_and_about_half():
    sides = [split_of(f"DEV_{i}") for i in range(2000)]
    assert sides == [split_of(f"DEV_{i}") for i in range(2000)]
    assert 900 < sides.count("test") < 1100
