"""766 scoring on hand-computed worked examples (docs/metrics.md#index766).

Each expected value below was computed by hand from the formulas: ratio in percent,
rounded half up to 2 decimals; score from that ratio, rounded half up to 2 decimals;
group = sum of rounded scores.
"""

from decimal import Decimal

import pytest

from motcua.domain.index766 import (
    GROUPS,
    Index766Error,
    ScoringConfig,
    counts_from_figures,
    grade,
    parse_middle_bands,
    score_counts,
    score_file,
    total_and_grade,
)


def nd(n, d):
    return {"numerator": n, "denominator": d}


# (name, counts, {code: (ratio %, score)}, {group: score})
WORKED = [
    ("progress", {"PROGRESS": nd(95, 100)}, {"PROGRESS": (95.00, 19.00)}, {"progress": 19.00}),
    # 1/3 -> 33.33% -> 6 x 0.3333 = 1.9998 -> 2.00; B 75% -> min(2, 1.875) -> 1.88 (half up);
    # C 125% -> 2.5 x 1.25 = 3.125 -> 3.13, cap 10 - 2.00 - 1.88 = 6.12 does not bind
    (
        "payment, C above its max but under the cap",
        {
            "PAYMENT_DOSSIER_ONLINE": nd(1, 3),
            "PAYMENT_PROCEDURE_ONLINE": nd(3, 4),
            "PAYMENT_PROCEDURE_INTEGRATED": nd(5, 4),
        },
        {
            "PAYMENT_DOSSIER_ONLINE": (33.33, 2.00),
            "PAYMENT_PROCEDURE_ONLINE": (75.00, 1.88),
            "PAYMENT_PROCEDURE_INTEGRATED": (125.00, 3.13),
        },
        {"payment": 7.01},
    ),
    # A 100% -> 6; B 100% -> min(2, 2.5) = 2; C 100% -> 2.5, capped to 10 - 8 = 2
    (
        "payment, cap binds",
        {
            "PAYMENT_DOSSIER_ONLINE": nd(10, 10),
            "PAYMENT_PROCEDURE_ONLINE": nd(4, 4),
            "PAYMENT_PROCEDURE_INTEGRATED": nd(4, 4),
        },
        {
            "PAYMENT_DOSSIER_ONLINE": (100.00, 6.00),
            "PAYMENT_PROCEDURE_ONLINE": (100.00, 2.00),
            "PAYMENT_PROCEDURE_INTEGRATED": (100.00, 2.00),
        },
        {"payment": 10.00},
    ),
    # A 90% -> 5.40; B 100% -> 2; C 100% -> 2.5, cap 10 - 7.40 = 2.60 does not bind -> 9.90
    (
        "payment, C above 2 allowed when A is short",
        {
            "PAYMENT_DOSSIER_ONLINE": nd(9, 10),
            "PAYMENT_PROCEDURE_ONLINE": nd(4, 4),
            "PAYMENT_PROCEDURE_INTEGRATED": nd(4, 4),
        },
        {
            "PAYMENT_DOSSIER_ONLINE": (90.00, 5.40),
            "PAYMENT_PROCEDURE_ONLINE": (100.00, 2.00),
            "PAYMENT_PROCEDURE_INTEGRATED": (100.00, 2.50),
        },
        {"payment": 9.90},
    ),
    # zero denominators: A 0 (ratio 0); B 0; C 0
    (
        "payment, zero denominators",
        {
            "PAYMENT_DOSSIER_ONLINE": nd(0, 0),
            "PAYMENT_PROCEDURE_ONLINE": nd(0, 0),
            "PAYMENT_PROCEDURE_INTEGRATED": nd(0, 0),
        },
        {
            "PAYMENT_DOSSIER_ONLINE": (0.00, 0.00),
            "PAYMENT_PROCEDURE_ONLINE": (0.00, 0.00),
            "PAYMENT_PROCEDURE_INTEGRATED": (0.00, 0.00),
        },
        {"payment": 0.00},
    ),
    # 1/48 = 2.0833% -> 2.08% -> 6 x 0.0208 = 0.1248 -> 0.12 (from the exact ratio it would
    # be 0.125 -> 0.13: the score is computed from the published 2-decimal ratio)
    (
        "score from the rounded ratio",
        {"PAYMENT_DOSSIER_ONLINE": nd(1, 48)},
        {"PAYMENT_DOSSIER_ONLINE": (2.08, 0.12)},
        {},
    ),
    # ORIGINAL 1/7 -> 14.29% -> 0.8574 -> 0.86; SO_HOA 2/3 -> 66.67% -> 2.6668 -> 2.67;
    # REUSED 30/50 = 60% -> 2 x min(1, 0.75) = 1.50; SYNCED 1/4 -> 1.00;
    # CITIZEN_DOSSIER 1/3 -> 33.33% -> 0.6666 -> 0.67; FORMALITY 5/8 = 62.5% -> 1.25;
    # ECC 0/0 -> r = 1 -> 2.00. Group 9.95 (the unrounded sum 9.9408 would give 9.94).
    (
        "digitisation",
        {
            "ORIGINAL_RESULT_AVAILABLE": nd(1, 7),
            "SO_HOA_GIAY_TO_GIAI_QUYET": nd(2, 3),
            "REUSED_DIGITIZED_DATA": nd(30, 50),
            "SYNCED_WITH_DVCQG_PERSONAL_STORAGE": nd(1, 4),
            "CITIZEN_DATA_CONNECTED_DOSSIER": nd(1, 3),
            "CITIZEN_DATA_CONNECTED_FORMALITY": nd(5, 8),
            "ELECTRONIC_CERTIFIED_COPY": nd(0, 0),
        },
        {
            "ORIGINAL_RESULT_AVAILABLE": (14.29, 0.86),
            "SO_HOA_GIAY_TO_GIAI_QUYET": (66.67, 2.67),
            "REUSED_DIGITIZED_DATA": (60.00, 1.50),
            "SYNCED_WITH_DVCQG_PERSONAL_STORAGE": (25.00, 1.00),
            "CITIZEN_DATA_CONNECTED_DOSSIER": (33.33, 0.67),
            "CITIZEN_DATA_CONNECTED_FORMALITY": (62.50, 1.25),
            "ELECTRONIC_CERTIFIED_COPY": (100.00, 2.00),
        },
        {"digitisation": 9.95},
    ),
    # REUSED full at 80%: 45/50 = 90% -> 2.00; ECC with a denominator: 3/4 -> 1.50
    (
        "reuse cap, certified copy with denominator",
        {"REUSED_DIGITIZED_DATA": nd(45, 50), "ELECTRONIC_CERTIFIED_COPY": nd(3, 4)},
        {"REUSED_DIGITIZED_DATA": (90.00, 2.00), "ELECTRONIC_CERTIFIED_COPY": (75.00, 1.50)},
        {},
    ),
    # DRS 85% -> min(6, 6 x 0.85 / 0.9 = 5.6667) -> 5.67; PAKN on time 0/0 -> 6;
    # PAKN satisfaction 9/10 -> 5.40. Group 17.07
    (
        "satisfaction",
        {
            "DOSSIER_RECEIVING_SATISFACTION": nd(85, 100),
            "PETITION_PROCESSING_ON_TIME": nd(0, 0),
            "PETITION_HANDLING_SATISFACTION": nd(9, 10),
        },
        {
            "DOSSIER_RECEIVING_SATISFACTION": (85.00, 5.67),
            "PETITION_PROCESSING_ON_TIME": (100.00, 6.00),
            "PETITION_HANDLING_SATISFACTION": (90.00, 5.40),
        },
        {"satisfaction": 17.07},
    ),
    (
        "satisfaction above 90% is full",
        {"DOSSIER_RECEIVING_SATISFACTION": nd(95, 100)},
        {"DOSSIER_RECEIVING_SATISFACTION": (95.00, 6.00)},
        {},
    ),
    # default split 2/4/6: A 70% -> min(2, 2 x 0.7/0.8) = 1.75; B 75% -> 3.00;
    # C 40% -> min(6, 6 x 0.4/0.5) = 4.80. Group 9.55
    (
        "online",
        {
            "ONLINE_PROCEDURES_PROVIDED": nd(70, 100),
            "ONLINE_SERVICE_DOSSIERS": nd(30, 40),
            "ONLINE_DOSSIERS": nd(40, 100),
        },
        {
            "ONLINE_PROCEDURES_PROVIDED": (70.00, 1.75),
            "ONLINE_SERVICE_DOSSIERS": (75.00, 3.00),
            "ONLINE_DOSSIERS": (40.00, 4.80),
        },
        {"online": 9.55},
    ),
]


@pytest.mark.parametrize("name,counts,metrics,groups", WORKED, ids=[w[0] for w in WORKED])
def test_worked_examples(name, counts, metrics, groups):
    got = score_counts(counts)
    assert set(got["metrics"]) == set(metrics)
    for code, (ratio, score) in metrics.items():
        m = got["metrics"][code]
        assert m["ratio"] == pytest.approx(ratio, abs=0.001)
        assert m["score"] == pytest.approx(score, abs=0.001), code
    assert {g: v["score"] for g, v in got["groups"].items()} == pytest.approx(groups, abs=0.001)
    for g, v in got["groups"].items():
        assert v["max"] == GROUPS[g][1]


def test_group_maxima_and_metric_maxima_add_up():
    cfg = ScoringConfig()
    for g, (_name, gmax) in GROUPS.items():
        assert sum(cfg.by_code[c].max for c in cfg.group_codes(g)) == gmax
    assert sum(v[1] for v in GROUPS.values()) + 18 == 100  # + Công khai, minh bạch


def test_configurable_online_split():
    counts = {
        "ONLINE_PROCEDURES_PROVIDED": nd(70, 100),
        "ONLINE_SERVICE_DOSSIERS": nd(30, 40),
        "ONLINE_DOSSIERS": nd(40, 100),
    }
    # 4/4/4: 4 x 0.875 = 3.50; 4 x 0.75 = 3.00; 4 x 0.8 = 3.20 -> 9.70
    got = score_counts(counts, ScoringConfig(online_split=(4, 4, 4)))
    assert [got["metrics"][c]["score"] for c in counts] == [3.50, 3.00, 3.20]
    assert got["groups"]["online"]["score"] == pytest.approx(9.70)
    with pytest.raises(Index766Error, match="summing to 12"):
        ScoringConfig(online_split=(4, 4, 5))


def test_group_only_when_all_its_metrics_are_given():
    got = score_counts({"PAYMENT_DOSSIER_ONLINE": nd(1, 2), "PROGRESS": nd(1, 2)})
    assert set(got["groups"]) == {"progress"}


def test_grades_and_bands():
    cfg = ScoringConfig()
    assert grade(Decimal("90"), cfg) == "Xuất sắc"
    assert grade(Decimal("89.99"), cfg) == "Tốt"
    assert grade(Decimal("50"), cfg) == "Trung bình"
    assert grade(Decimal("49.99"), cfg) == "Yếu"
    custom = ScoringConfig(bands=parse_middle_bands("70:Khá,50:Trung bình"))
    assert grade(Decimal("75"), custom) == "Khá" and grade(Decimal("85"), custom) == "Khá"
    with pytest.raises(Index766Error):
        parse_middle_bands("95:Tốt")
    scored = score_counts({"PROGRESS": nd(95, 100)})
    assert total_and_grade(scored) == {"score": 19.0, "max": 20.0, "percent": 95.0, "grade": "Xuất sắc"}


@pytest.mark.parametrize(
    "data,msg",
    [
        ({"unit_code": "X"}, "JSON array"),
        ([{"counts": {}}], "unit_code"),
        ([{"unit_code": "X", "counts": {"NOPE": nd(1, 1)}}], "unknown metric code 'NOPE'"),
        ([{"unit_code": "X", "counts": {"PROGRESS": nd(-1, 1)}}], "non-negative integer"),
        ([{"unit_code": "X", "counts": {"PROGRESS": nd(1.5, 2)}}], "non-negative integer"),
        ([{"unit_code": "X", "counts": {"PROGRESS": nd(3, 2)}}], "exceeds"),
        ([{"unit_code": "X", "counts": {"PROGRESS": {"numerator": 1}}}], "needs"),
    ],
)
def test_bad_input_is_refused(data, msg):
    with pytest.raises(Index766Error, match=msg):
        score_file(data)


def test_score_file_output_shape():
    out = score_file([{"unit_code": "H75.SO.STP", "counts": {"PROGRESS": nd(1, 3)}}])
    assert out == [
        {
            "unit_code": "H75.SO.STP",
            "metrics": {"PROGRESS": {"ratio": 33.33, "score": 6.67, "max": 20.0}},
            "groups": {"progress": {"score": 6.67, "max": 20.0}},
        }
    ]


def test_counts_from_figures():
    kpi = {"progress_766_num": 8, "progress_766_den": 10}
    counters = {
        "received": 10,
        "received_online": 6,
        "has_fee": 4,
        "paid_online": 3,
        "ended": 8,
        "ended_late": 2,
        "rated": 5,
        "rated_satisfied": 4,
        "electronic_result_any": 6,
        "digitised_all": 5,
        "reused": 2,
        "personal_store": 1,
        "population_data": 7,
    }
    procs = [
        ("P1", {"received": 6, "received_online": 6, "has_fee": 4, "paid_online": 3, "population_data": 7}),
        ("P2", {"received": 3, "received_online": 0}),
        ("P3", {"received": 1, "received_online": 0, "has_fee": 0}),
    ]
    online = {"P1": "FULL", "P2": "PARTIAL", "P3": "NONE"}
    c = counts_from_figures(kpi, counters, procs, online.get)
    assert c["PROGRESS"] == nd(8, 10)
    assert c["ONLINE_PROCEDURES_PROVIDED"] == nd(2, 3)  # P1, P2 of 3
    assert c["ONLINE_SERVICE_DOSSIERS"] == nd(1, 2)  # P1 had online dossiers
    assert c["PAYMENT_PROCEDURE_ONLINE"] == nd(1, 1)
    assert c["ORIGINAL_RESULT_AVAILABLE"] == nd(6, 8)
    assert c["CITIZEN_DATA_CONNECTED_FORMALITY"] == nd(1, 3)
    # 1 - 2/8 - 1/5 = 11/20
    assert c["DOSSIER_RECEIVING_SATISFACTION"] == nd(11, 20)
    assert c["PETITION_PROCESSING_ON_TIME"] == nd(0, 0)
    scored = score_counts(c)
    assert set(scored["groups"]) == set(GROUPS)
