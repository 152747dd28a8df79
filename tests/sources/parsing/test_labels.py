from sources.parsing.labels import match_label, normalize_label, to_simplified
from sources.template import load_template


def t3_candidates():
    t3 = load_template("gov2021").table("t3")
    return {r.key: r.match_keys for r in t3.rows}


def test_normalize_strips_enumeration_punctuation_and_whitespace():
    assert (
        normalize_label("（二）部分公开（区分处理的，只计这一情 形，不计其他情形）")
        == "部分公开区分处理的只计这一情形不计其他情形"
    )
    assert normalize_label("(一) 予以公开") == "予以公开"
    assert normalize_label("3.危及“三安全一稳定”") == "危及三安全一稳定"
    assert normalize_label("三、本年度办理结果") == "本年度办理结果"
    assert normalize_label("第二十条第（一）项") == "第二十条第一项"
    assert normalize_label("[bookmark: _Hlk1]一、本年新收政府信息公开申请数量") == "本年新收政府信息公开申请数量"


def test_traditional_and_pinyin_are_normalised():
    assert to_simplified("結果維持") == "结果维持"
    assert normalize_label("一、本年新收政府資訊公開申請數量") == "本年新收政府信息公开申请数量"
    assert normalize_label("行政(xíng)复议") == "行政复议"
    # Taiwan-style phrases left after character-level conversion (label_phrase_map)
    assert normalize_label("政府網路資訊與程式最佳化") == "政府网络信息与程序优化"


def test_exact_alias_and_typo_matches():
    cands = t3_candidates()
    assert match_label("1.属于国家秘密", cands) == ("denied_state_secret", "exact")
    assert match_label("(七) 总计", cands) == ("result_total", "exact")
    # the typo seen in a real PDF: unique best fuzzy candidate
    assert match_label("2.其他法律行政止公开", cands) == ("denied_law_prohibited", "fuzzy")


def test_no_match_when_ambiguous_or_unrelated():
    cands = t3_candidates()
    assert match_label("本年度工作总结与展望", cands)[0] is None
    assert match_label("", cands) == (None, "none")


def test_prefix_match_only_when_unique_and_long_enough():
    from sources.parsing.labels import match_prefix

    cands = t3_candidates()
    assert (
        match_prefix("1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开", cands)
        == "other_no_correction_overdue"
    )
    assert match_prefix("申请人", cands) is None  # too short and shared by two rows
    assert match_prefix("要求行政机关确认", cands) is None  # covers too little of its label
