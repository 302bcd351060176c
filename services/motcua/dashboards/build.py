"""The control-room dashboards as code (grafana-foundation-sdk), written as Grafana
provisioning JSON into ``dashboards/``. ``python -m motcua.dashboards`` (or
``motcua dashboards``) regenerates them; a test checks that regenerating changes nothing.

All ClickHouse SQL comes from :mod:`motcua.dashboards.panels`; Prometheus expressions of
the system-health dashboard use the metric names documented in docs/control-room.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from grafana_foundation_sdk.builders import bargauge, stat, table, text, timeseries
from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import prometheus as prom_b
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dm

from ..domain.formatting import fmt_int
from ..domain.metrics import METRICS_BY_ID
from . import panels as P
from .clickhouse import PLUGIN_ID, ClickHouseQueryBuilder, register

CH = dm.DataSourceRef(type_val=PLUGIN_ID, uid="motcua-clickhouse")
PROM = dm.DataSourceRef(type_val="prometheus", uid="motcua-prometheus")
TZ = "Asia/Ho_Chi_Minh"

UID_OVERVIEW = "motcua-phong-dieu-hanh"
UID_RANKING = "motcua-xep-hang-don-vi"
UID_UNIT = "motcua-chi-tiet-don-vi"
UID_766 = "motcua-chi-so-766"
UID_HEALTH = "motcua-suc-khoe-he-thong"

COLUMN_NAMES = {
    "unit_level": "Mã cấp",
    "level_name": "Cấp",
    "metric_id": "Mã chỉ số",
    "metric_name": "Chỉ số",
    "numerator": "Tử số",
    "denominator": "Mẫu số",
    "ratio": "Kết quả",
    "target": "Chỉ tiêu",
    "comparator": "So sánh",
    "met": "Đánh giá",
    "in_progress": "Đang giải quyết",
    "overdue": "Quá hạn",
    "due_soon": "Sắp đến hạn",
    "unit_code": "Mã đơn vị",
    "unit_name": "Đơn vị",
    "ended": "Đã giải quyết",
    "ended_ok": "Đúng hạn (gồm trước hạn)",
    "gap": "Chênh lệch so với chỉ tiêu",
    "overdue_now": "Đang quá hạn",
    "code": "Mã",
    "name": "Tên",
    "received": "Tiếp nhận",
    "on_time_rate": "Tỷ lệ đúng hạn",
    "online_filing_rate": "Tỷ lệ trực tuyến",
    "dossier_digitisation_rate": "Tỷ lệ số hóa hồ sơ",
    "dossier_id": "Mã hồ sơ",
    "procedure_name": "Thủ tục",
    "received_at_local": "Ngày tiếp nhận",
    "effective_due_date": "Hạn giải quyết",
    "days_overdue": "Số ngày quá hạn",
    "supplement_requests": "Số lần yêu cầu bổ sung",
    "carried_over": "Kỳ trước chuyển sang",
    "progress": "Tiến độ (TD1)",
    "progress_score": "Điểm Tiến độ (/20)",
    "payment_dossier_online": "Hồ sơ thanh toán trực tuyến",
    "payment_dossier_score": "Điểm (/6)",
    "payment_procedure_online": "Thủ tục có thanh toán trực tuyến",
    "payment_procedure_score": "Điểm (/2)",
    "original_result_available": "Kết quả điện tử",
    "original_result_score": "Điểm (/6) ",
    "so_hoa_giay_to": "Số hóa hồ sơ",
    "so_hoa_score": "Điểm (/4)",
    "reused_digitized_data": "Tái sử dụng dữ liệu số",
    "reused_score": "Điểm (/2) ",
    "synced_personal_storage": "Đồng bộ kho dữ liệu cá nhân",
    "synced_score": "Điểm (/4) ",
    "citizen_data_dossier": "Khai thác dữ liệu dân cư",
    "citizen_data_score": "Điểm (/2)  ",
    "receiving_satisfaction": "Hài lòng tiếp nhận, giải quyết",
    "receiving_satisfaction_score": "Điểm (/6)  ",
    "dead_letters": "Số bản ghi lỗi",
    "last_seen": "Lần cuối",
}
PERCENT_COLUMNS = {
    "ratio",
    "target",
    "gap",
    "on_time_rate",
    "online_filing_rate",
    "dossier_digitisation_rate",
    "progress",
    "payment_dossier_online",
    "payment_procedure_online",
    "original_result_available",
    "so_hoa_giay_to",
    "reused_digitized_data",
    "synced_personal_storage",
    "citizen_data_dossier",
    "receiving_satisfaction",
}
COUNT_COLUMNS = {
    "numerator",
    "denominator",
    "in_progress",
    "overdue",
    "due_soon",
    "ended",
    "ended_ok",
    "overdue_now",
    "received",
    "carried_over",
    "dead_letters",
}
HIDDEN_COLUMNS = {"unit_level", "metric_id", "comparator"}


def ch(sql: str, ref: str = "A", series: bool = False) -> ClickHouseQueryBuilder:
    q = ClickHouseQueryBuilder().ref_id(ref).raw_sql(sql).datasource(CH)
    return q.time_series() if series else q.table()


def pos(x: int, y: int, w: int, h: int) -> dm.GridPos:
    return dm.GridPos(h=h, w=w, x=x, y=y)


def _dyn(id_: str, value) -> dm.DynamicConfigValue:
    return dm.DynamicConfigValue(id_val=id_, value=value)


def _thresholds(steps: list[tuple[float | None, str]]) -> dash_b.ThresholdsConfig:
    return (
        dash_b.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=v, color=c) for v, c in steps])
    )


def _columns(
    panel: table.Panel, columns: Iterable[str], links: dict[str, list[dict]] | None = None
) -> table.Panel:
    """Vietnamese display names, units and visibility per column."""
    for c in columns:
        props = [_dyn("displayName", COLUMN_NAMES.get(c, c))]
        if c in PERCENT_COLUMNS:
            props += [_dyn("unit", "percentunit"), _dyn("decimals", 2 if c != "gap" else 1)]
        elif c in COUNT_COLUMNS:
            props += [_dyn("unit", "locale"), _dyn("decimals", 0)]
        if c in HIDDEN_COLUMNS:
            props.append(_dyn("custom.hidden", True))
        if c == "met":
            props += [
                _dyn(
                    "mappings",
                    [
                        {
                            "type": "value",
                            "options": {
                                "1": {"text": "Đạt", "color": "green", "index": 0},
                                "0": {"text": "Chưa đạt", "color": "red", "index": 1},
                            },
                        }
                    ],
                ),
                _dyn("custom.cellOptions", {"type": "color-background"}),
            ]
        if links and c in links:
            props.append(_dyn("links", links[c]))
        panel = panel.override_by_name(c, props)
    return panel


def _table(
    title: str,
    sql: str,
    columns: Iterable[str],
    grid: dm.GridPos,
    description: str = "",
    links: dict[str, list[dict]] | None = None,
) -> table.Panel:
    p = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(CH)
        .with_target(ch(sql))
        .grid_pos(grid)
        .no_value("Không có dữ liệu")
        .align(common.FieldTextAlignment.AUTO)
        .inspect(False)
    )
    return _columns(p, columns, links)


def _stat_percent(title: str, sql: str, grid: dm.GridPos, description: str = "") -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(CH)
        .with_target(ch(sql))
        .grid_pos(grid)
        .unit("percentunit")
        .decimals(1)
        .no_value("–")
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]).fields("/^ratio$/").values(False))
        .thresholds(_thresholds([(None, "red"), (0.9, "orange"), (0.96, "green")]))
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
    )


def _backlog_stat(grid: dm.GridPos) -> stat.Panel:
    p = (
        stat.Panel()
        .title("Hồ sơ đang giải quyết, quá hạn, sắp đến hạn (tại thời điểm cuối khoảng)")
        .description(
            "Đang giải quyết: đã tiếp nhận, chưa kết thúc. Quá hạn: quá hạn giải quyết "
            "(hoặc đã 2 lần yêu cầu bổ sung). Sắp đến hạn: đến hạn trong ngày hoặc ngày làm việc kế tiếp."
        )
        .datasource(CH)
        .with_target(ch(P.backlog_counts(False)))
        .grid_pos(grid)
        .unit("locale")
        .decimals(0)
        .no_value("0")
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .color_mode(common.BigValueColorMode.VALUE)
        .graph_mode(common.BigValueGraphMode.NONE)
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
    )
    p = p.override_by_name(
        "in_progress",
        [_dyn("displayName", "Đang giải quyết"), _dyn("color", {"mode": "fixed", "fixedColor": "blue"})],
    )
    p = p.override_by_name(
        "overdue", [_dyn("displayName", "Quá hạn"), _dyn("color", {"mode": "fixed", "fixedColor": "red"})]
    )
    p = p.override_by_name(
        "due_soon",
        [_dyn("displayName", "Sắp đến hạn"), _dyn("color", {"mode": "fixed", "fixedColor": "orange"})],
    )
    return p


def _trend(metric: str, grid: dm.GridPos) -> timeseries.Panel:
    m = METRICS_BY_ID[metric]
    return (
        timeseries.Panel()
        .title(f"{m.label_vi} theo cấp và chỉ tiêu")
        .description(
            "Theo ngày (theo tuần khi khoảng thời gian dài hơn 62 ngày); đường nét đứt là chỉ tiêu kế hoạch đang áp dụng."
        )
        .datasource(CH)
        .with_target(ch(P.trend(metric), "A", series=True))
        .with_target(ch(P.trend_targets(metric), "B", series=True))
        .grid_pos(grid)
        .unit("percentunit")
        .decimals(1)
        .min(0)
        .max(1)
        .display_name("${__field.labels.series}")
        .line_width(2)
        .fill_opacity(0)
        .span_nulls(True)
        .legend(
            common_b.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .override_by_regexp(
            "/Chỉ tiêu.*/",
            [_dyn("custom.lineStyle", {"fill": "dash", "dash": [10, 10]}), _dyn("custom.lineWidth", 1)],
        )
    )


# -- variables ---------------------------------------------------------------------------
def _query_var(name: str, label: str, sql: str, multi: bool = True) -> dash_b.QueryVariable:
    return (
        dash_b.QueryVariable(name)
        .label(label)
        .datasource(CH)
        .query(sql)
        .refresh(dm.VariableRefresh.ON_DASHBOARD_LOAD)
        .multi(multi)
        .include_all(True)
        .current(
            dm.VariableOption(
                selected=True, text=["Tất cả"] if multi else "Tất cả", value=["$__all"] if multi else "$__all"
            )
        )
        .sort(dm.VariableSort.DISABLED)
    )


def _level_var() -> dash_b.CustomVariable:
    values = ",".join(f"{n} : {c}" for c, n in zip(P.LEVEL_CODES, P.LEVEL_NAMES))
    return (
        dash_b.CustomVariable("level")
        .label("Cấp")
        .values(values)
        .multi(True)
        .include_all(True)
        .current(dm.VariableOption(selected=True, text=["Tất cả"], value=["$__all"]))
    )


def _scope_variables(unit_multi: bool = True) -> list:
    return [
        _query_var("province", "Tỉnh", P.VAR_PROVINCE),
        _level_var(),
        _query_var("unit", "Đơn vị", P.VAR_UNIT, multi=unit_multi),
        _query_var("field", "Lĩnh vực", P.VAR_FIELD),
    ]


def _custom_var(name: str, label: str, values: list[str], default: str) -> dash_b.CustomVariable:
    return (
        dash_b.CustomVariable(name)
        .label(label)
        .values(",".join(values))
        .current(dm.VariableOption(selected=True, text=default, value=default))
    )


def _base(uid: str, title: str, description: str, time_from: str, tags: list[str]) -> dash_b.Dashboard:
    d = (
        dash_b.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["motcua"] + tags)
        .timezone(TZ)
        .week_start("monday")
        .time(time_from, "now")
        .refresh("5m")
        .editable()
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
    )
    for other_uid, other_title in (
        (UID_OVERVIEW, "Phòng điều hành"),
        (UID_RANKING, "Xếp hạng đơn vị"),
        (UID_766, "Chỉ số 766"),
        (UID_HEALTH, "Sức khỏe hệ thống"),
    ):
        if other_uid != uid:
            d = d.link(
                dash_b.DashboardLink(other_title)
                .type(dm.DashboardLinkType.LINK)
                .url(f"/d/{other_uid}")
                .include_vars(True)
                .keep_time(True)
                .icon("dashboard")
                .tooltip(other_title)
            )
    return d


# -- dashboards --------------------------------------------------------------------------
RATES_COLUMNS = (
    "unit_level",
    "level_name",
    "metric_id",
    "metric_name",
    "numerator",
    "denominator",
    "ratio",
    "target",
    "comparator",
    "met",
)


def overview() -> dash_b.Dashboard:
    d = _base(
        UID_OVERVIEW,
        "Phòng điều hành — Kết quả giải quyết TTHC",
        "Các chỉ số giải quyết thủ tục hành chính theo cấp so với chỉ tiêu kế hoạch CCHC: hôm nay, "
        "tháng này, năm nay (tính đến cuối khoảng thời gian đã chọn), xu hướng và hồ sơ tồn.",
        "now-30d",
        ["phong-dieu-hanh"],
    )
    for v in _scope_variables():
        d = d.with_variable(v)
    y = 0
    d = d.with_row(dash_b.Row("Tổng quan").grid_pos(pos(0, y, 24, 1)))
    y += 1
    d = d.with_panel(
        _stat_percent(
            "Tỷ lệ đúng hạn — tháng này",
            P.headline("on_time_rate", "month"),
            pos(0, y, 5, 5),
            "Hồ sơ giải quyết đúng hạn (gồm trước hạn) / hồ sơ đã giải quyết trong tháng.",
        )
    )
    d = d.with_panel(
        _stat_percent("Tỷ lệ đúng hạn — năm nay", P.headline("on_time_rate", "year"), pos(5, y, 5, 5))
    )
    d = d.with_panel(_backlog_stat(pos(10, y, 14, 5)))
    y += 5
    d = d.with_panel(
        _table(
            "Hồ sơ tồn theo cấp",
            P.backlog_counts(True),
            ("unit_level", "level_name", "in_progress", "overdue", "due_soon"),
            pos(0, y, 24, 6),
        )
    )
    y += 6
    for period, h in (("day", 12), ("month", 12), ("year", 12)):
        d = d.with_row(
            dash_b.Row(f"Các chỉ số theo cấp — {P.PERIOD_TITLES[period].lower()}").grid_pos(pos(0, y, 24, 1))
        )
        y += 1
        d = d.with_panel(
            _table(
                f"{P.PERIOD_TITLES[period]}: chỉ số theo cấp so với chỉ tiêu",
                P.rates_by_level(period),
                RATES_COLUMNS,
                pos(0, y, 24, h),
                "Tỷ lệ = tổng tử số / tổng mẫu số của kỳ; chỉ tiêu theo kế hoạch CCHC đang áp dụng.",
            )
        )
        y += h
    d = d.with_row(dash_b.Row("Xu hướng so với chỉ tiêu").grid_pos(pos(0, y, 24, 1)))
    y += 1
    for i, metric in enumerate(P.TREND_METRICS):
        d = d.with_panel(_trend(metric, pos(12 * (i % 2), y + 8 * (i // 2), 12, 8)))
    y += 8 * ((len(P.TREND_METRICS) + 1) // 2)
    d = d.with_row(dash_b.Row("Dự báo cuối kỳ").grid_pos(pos(0, y, 24, 1)))
    y += 1
    for i, kind in enumerate(FORECAST_KINDS):
        d = d.with_panel(_forecast_band(kind, pos(12 * i, y, 12, 9)))
    y += 9
    return _closed_periods(d, y)


def _closed_periods(d: dash_b.Dashboard, y: int) -> dash_b.Dashboard:
    """The restatements of closed periods (exporter gauges, docs/control-room.md)."""
    d = d.with_row(dash_b.Row("Số liệu đã chốt — điều chỉnh sau khi chốt").grid_pos(pos(0, y, 24, 1)))
    y += 1
    d = d.with_panel(
        _prom_table(
            "Số ô số liệu đã chốt thay đổi, theo kỳ",
            "restated_cells",
            pos(0, y, 10, 8),
            "Số ô của các báo cáo đã chốt (Biểu II.06a, chỉ số theo cấp và đơn vị, Chỉ số 766) có số liệu "
            "hiện tại khác số liệu đã chốt. Xem chi tiết: motcua period show KỲ.",
        )
    )
    return d.with_panel(
        _prom_table(
            "Tỷ lệ đúng hạn đã chốt thay đổi (điểm %)",
            "restated_on_time",
            pos(10, y, 14, 8),
            "Tỷ lệ hiện tại trừ tỷ lệ đã chốt, theo cấp và toàn tỉnh; cảnh báo khi quá ngưỡng "
            "MOTCUA_RESTATEMENT_ALERT_POINTS.",
        )
    )


def _prom_table(title: str, key: str, grid: dm.GridPos, description: str = "") -> table.Panel:
    from grafana_foundation_sdk.models.prometheus import PromQueryFormat

    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(PROM)
        .with_target(
            prom_b.Dataquery().expr(PROM_QUERIES[key]).instant().format(PromQueryFormat.TABLE).ref_id("A")
        )
        .grid_pos(grid)
        .no_value("Không có kỳ nào đã chốt thay đổi")
        .inspect(False)
    )


FORECAST_KINDS = {"official": "kỳ chốt số liệu (15 → 14)", "calendar": "tháng theo lịch"}
FORECAST_LEGENDS = {"best": "tốt nhất", "worst": "xấu nhất", "expected": "dự báo", "target": "chỉ tiêu"}


def _forecast_band(kind: str, grid: dm.GridPos) -> timeseries.Panel:
    """The forecast of the on-time rate at the end of the running period, per level, as
    the exporter computed it over time: the band from worst to best, the expected value,
    and the plan target (dashed)."""
    p = (
        timeseries.Panel()
        .title(f"Dự báo tỷ lệ đúng hạn cuối {FORECAST_KINDS[kind]} so với chỉ tiêu")
        .description(
            "Vùng tô: từ trường hợp xấu nhất đến tốt nhất kỳ này còn có thể đạt; đường đậm: giá trị dự báo; "
            "nét đứt: chỉ tiêu. Khi đường tốt nhất nằm dưới chỉ tiêu, kỳ này không thể đạt chỉ tiêu "
            "(docs/forecast.md)."
        )
        .datasource(PROM)
        .grid_pos(grid)
        .unit("percentunit")
        .decimals(1)
        .max(1)
        .line_width(1)
        .fill_opacity(0)
        .span_nulls(True)
        .legend(
            common_b.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
    )
    for ref, (bound, expr) in zip("ABCD", P.forecast_band_queries(kind).items()):
        p = p.with_target(
            prom_b.Dataquery()
            .expr(expr)
            .legend_format(f"{{{{level_name}}}} — {FORECAST_LEGENDS[bound]}")
            .ref_id(ref)
        )
    for name in P.LEVEL_NAMES:
        p = p.override_by_name(
            f"{name} — tốt nhất",
            [_dyn("custom.fillBelowTo", f"{name} — xấu nhất"), _dyn("custom.fillOpacity", 15)],
        )
    p = p.override_by_regexp("/.* — dự báo/", [_dyn("custom.lineWidth", 3)])
    return p.override_by_regexp(
        "/.* — chỉ tiêu/",
        [_dyn("custom.lineStyle", {"fill": "dash", "dash": [10, 10]}), _dyn("custom.lineWidth", 1)],
    )


RANKING_COLUMNS = (
    "unit_code",
    "unit_name",
    "unit_level",
    "level_name",
    "ended",
    "ended_ok",
    "ratio",
    "target",
    "gap",
    "overdue_now",
)


def _unit_link() -> dict[str, list[dict]]:
    url = (
        f"/d/{UID_UNIT}?var-unit=${{__data.fields.unit_code}}&${{province:queryparam}}&${{__url_time_range}}"
    )
    return {
        "unit_name": [{"title": "Xem chi tiết đơn vị", "url": url}],
        "unit_code": [{"title": "Xem chi tiết đơn vị", "url": url}],
    }


def ranking() -> dash_b.Dashboard:
    d = _base(
        UID_RANKING,
        "Xếp hạng đơn vị — tỷ lệ giải quyết đúng hạn",
        "Các đơn vị xếp theo tỷ lệ đúng hạn và theo chênh lệch so với chỉ tiêu; nhấn tên đơn vị để xem chi tiết.",
        "now/M",
        ["xep-hang"],
    )
    for v in _scope_variables():
        d = d.with_variable(v)
    d = d.with_variable(_custom_var("bottom_n", "Số đơn vị cuối bảng", ["10", "20", "50", "100"], "20"))
    d = d.with_variable(
        _custom_var("min_volume", "Số hồ sơ giải quyết tối thiểu", ["1", "10", "30", "100"], "10")
    )
    links = _unit_link()
    d = d.with_panel(
        _table(
            "$bottom_n đơn vị có tỷ lệ đúng hạn thấp nhất",
            P.ranking("rate"),
            RANKING_COLUMNS,
            pos(0, 0, 12, 14),
            "Chỉ tính đơn vị có ít nhất $min_volume hồ sơ đã giải quyết trong kỳ.",
            links,
        )
    )
    d = d.with_panel(
        _table(
            "$bottom_n đơn vị cách xa chỉ tiêu nhất",
            P.ranking("gap"),
            RANKING_COLUMNS,
            pos(12, 0, 12, 14),
            "Chênh lệch = tỷ lệ đúng hạn − chỉ tiêu của đơn vị (hoặc của cấp).",
            links,
        )
    )
    bar = (
        bargauge.Panel()
        .title("Tỷ lệ đúng hạn của các đơn vị cuối bảng")
        .datasource(CH)
        .with_target(ch(P.ranking("rate")))
        .grid_pos(pos(0, 14, 24, 12))
        .unit("percentunit")
        .decimals(1)
        .min(0)
        .max(1)
        .orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.BASIC)
        .reduce_options(common_b.ReduceDataOptions().values(True).fields("/^ratio$/").calcs(["lastNotNull"]))
        .thresholds(_thresholds([(None, "red"), (0.9, "orange"), (0.96, "green")]))
        .display_name("${__data.fields.unit_name}")
        .data_links(
            [
                dash_b.DashboardLink("Xem chi tiết đơn vị")
                .type(dm.DashboardLinkType.LINK)
                .url(links["unit_name"][0]["url"])
            ]
        )
    )
    return d.with_panel(bar)


BREAKDOWN_COLUMNS = (
    "code",
    "name",
    "received",
    "ended",
    "on_time_rate",
    "online_filing_rate",
    "dossier_digitisation_rate",
)
OVERDUE_COLUMNS = (
    "dossier_id",
    "unit_code",
    "procedure_name",
    "received_at_local",
    "effective_due_date",
    "days_overdue",
    "supplement_requests",
)


WORKLIST_COLUMNS = (
    "dossier_id",
    "unit_name",
    "procedure_name",
    "field_name",
    "received_at_local",
    "due_date",
    "working_days_left",
    "waiting_for_supplement",
    "rate_impact_points",
)
# The worklist's headers: those of `motcua worklist` (reports/worklist.py HEADERS).
WORKLIST_COLUMN_NAMES = {
    "field_name": "Lĩnh vực",
    "due_date": "Hạn xử lý",
    "working_days_left": "Số ngày làm việc còn lại",
    "waiting_for_supplement": "Chờ bổ sung",
    "rate_impact_points": "Ảnh hưởng tỷ lệ đúng hạn",
}
COLUMN_NAMES.update({k: v for k, v in WORKLIST_COLUMN_NAMES.items() if k not in COLUMN_NAMES})


def _worklist_table(grid: dm.GridPos) -> table.Panel:
    """Hồ sơ cần xử lý gấp: ``motcua worklist`` for the selected unit at the range end."""
    p = _table(
        "Hồ sơ cần xử lý gấp",
        P.worklist_panel(),
        WORKLIST_COLUMNS,
        grid,
        f"Hồ sơ đang giải quyết đã quá hạn hoặc đến hạn trong {P.WORKLIST_WITHIN} ngày làm việc tới, tại "
        "cuối khoảng thời gian (mặc định: bây giờ), gấp nhất trước (tối đa "
        f"{P.WORKLIST_LIMIT} hồ sơ; đủ danh sách: motcua worklist). Số ngày làm việc còn lại: 0 = đến hạn "
        "hôm nay, số âm = đã quá hạn. Ảnh hưởng: số điểm tỷ lệ đúng hạn của đơn vị trong kỳ chốt số liệu "
        "đang chạy (15 → 14) giảm đi nếu hồ sơ trễ hạn thay vì đúng hạn.",
    )
    p = p.override_by_name("working_days_left", [_dyn("decimals", 0)])
    return p.override_by_name("rate_impact_points", [_dyn("unit", "suffix: điểm"), _dyn("decimals", 1)])


def unit_drilldown() -> dash_b.Dashboard:
    d = _base(
        UID_UNIT,
        "Chi tiết đơn vị — thủ tục, lĩnh vực, kênh, hồ sơ quá hạn",
        "Kết quả của đơn vị đã chọn theo thủ tục, lĩnh vực, kênh tiếp nhận và danh sách hồ sơ đang quá hạn.",
        "now/M",
        ["chi-tiet-don-vi"],
    )
    for v in _scope_variables(unit_multi=False):
        d = d.with_variable(v)
    d = d.with_panel(_backlog_stat(pos(0, 0, 12, 5)))
    d = d.with_panel(
        _trend("on_time_rate", pos(12, 0, 12, 8)).title("Tỷ lệ đúng hạn của đơn vị theo thời gian")
    )
    d = d.with_panel(
        _table("Theo thủ tục", P.unit_breakdown("procedure"), BREAKDOWN_COLUMNS, pos(0, 8, 24, 10))
    )
    d = d.with_panel(_table("Theo lĩnh vực", P.unit_breakdown("field"), BREAKDOWN_COLUMNS, pos(0, 18, 12, 8)))
    d = d.with_panel(
        _table("Theo kênh tiếp nhận", P.unit_breakdown("channel"), BREAKDOWN_COLUMNS, pos(12, 18, 12, 8))
    )
    d = d.with_panel(
        _table(
            "Danh sách hồ sơ đang quá hạn",
            P.OVERDUE_LIST,
            OVERDUE_COLUMNS,
            pos(0, 26, 24, 12),
            "Hồ sơ chưa kết thúc đã quá hạn giải quyết (ngày hiệu lực sau khi trừ thời gian chờ bổ sung) "
            "hoặc đã 2 lần yêu cầu bổ sung, tại ngày cuối khoảng thời gian "
            f"(tối đa {fmt_int(P.OVERDUE_LIMIT)} hồ sơ, quá hạn lâu nhất trước).",
        )
    )
    d = d.with_panel(_worklist_table(pos(0, 38, 24, 12)))
    return d


INDEX766_COLUMNS = (
    "unit_code",
    "unit_name",
    "level_name",
    "received",
    "carried_over",
    "progress",
    "progress_score",
    "payment_dossier_online",
    "payment_dossier_score",
    "payment_procedure_online",
    "payment_procedure_score",
    "original_result_available",
    "original_result_score",
    "so_hoa_giay_to",
    "so_hoa_score",
    "reused_digitized_data",
    "reused_score",
    "synced_personal_storage",
    "synced_score",
    "citizen_data_dossier",
    "citizen_data_score",
    "receiving_satisfaction",
    "receiving_satisfaction_score",
)


def index766() -> dash_b.Dashboard:
    d = _base(
        UID_766,
        "Chỉ số 766 — các nhóm chỉ số theo hồ sơ, theo đơn vị",
        "Bộ chỉ số chỉ đạo, điều hành theo Quyết định 766/QĐ-TTg: phần tính từ hồ sơ (Tiến độ, Thanh toán, "
        "Số hóa, Hài lòng) theo đơn vị, tỷ lệ theo % và điểm làm tròn 2 chữ số.",
        "now/y",
        ["chi-so-766"],
    )
    for v in _scope_variables():
        d = d.with_variable(v)
    d = d.with_panel(
        text.Panel()
        .title("Cách tính")
        .grid_pos(pos(0, 0, 24, 4))
        .content(
            "**Tiến độ (TD1)** = (hồ sơ giải quyết trước hạn, đúng hạn + hồ sơ đang giải quyết trong hạn) / "
            "(hồ sơ tiếp nhận trong kỳ + hồ sơ kỳ trước chuyển sang); điểm = 20 × tỷ lệ. "
            "Thanh toán: hồ sơ thanh toán trực tuyến / hồ sơ có nghĩa vụ tài chính (6 điểm), thủ tục có thanh toán trực tuyến (2 điểm). "
            "Số hóa: kết quả điện tử (6), số hóa hồ sơ (4), tái sử dụng dữ liệu (2, đủ điểm từ 80%), kho dữ liệu cá nhân (4), "
            "dữ liệu dân cư (2). Hài lòng: 100% − tỷ lệ trễ hạn − tỷ lệ không hài lòng (6, đủ điểm từ 90%). "
            "Hồ sơ đang giải quyết trong hạn tính tại thời điểm hiện tại (chính xác khi khoảng thời gian kết thúc hôm nay)."
        )
    )
    d = d.with_panel(
        _table(
            "Chỉ số 766 theo đơn vị (thấp nhất ở trên)",
            P.INDEX_766,
            INDEX766_COLUMNS,
            pos(0, 4, 24, 20),
            links=_unit_link(),
        )
    )
    return d


PROM_QUERIES = {
    "throughput": "sum by (service) (rate(motcua_events_in_total[5m]))",
    "lag": "sum by (service, topic, partition) (motcua_consumer_lag)",
    "dead_letters": "sum by (code) (increase(motcua_dead_letters_total[1h]))",
    "insert_p95": "histogram_quantile(0.95, sum by (le, table) (rate(motcua_insert_latency_seconds_bucket[5m])))",
    "freshness": "histogram_quantile(0.95, sum by (le) (rate(motcua_freshness_seconds_bucket[5m])))",
    "exporter_age": "time() - max(motcua_exporter_last_refresh_timestamp_seconds)",
    "restated_cells": "sum by (province, period) (motcua_period_restated_cells) > 0",
    "restated_on_time": 'motcua_period_restated_rate_points{metric="on_time_rate"} != 0',
}


def _prom_ts(
    title: str, key: str, unit: str, legend: str, grid: dm.GridPos, description: str = ""
) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(PROM)
        .with_target(prom_b.Dataquery().expr(PROM_QUERIES[key]).legend_format(legend).ref_id("A"))
        .grid_pos(grid)
        .unit(unit)
        .line_width(2)
        .fill_opacity(10)
    )


def health() -> dash_b.Dashboard:
    d = _base(
        UID_HEALTH,
        "Sức khỏe hệ thống — luồng dữ liệu hồ sơ",
        "Tốc độ xử lý sự kiện, độ trễ Kafka, bản ghi lỗi (dead letters), độ mới của số liệu.",
        "now-6h",
        ["suc-khoe"],
    )
    d = d.with_panel(_prom_ts("Sự kiện xử lý mỗi giây", "throughput", "ops", "{{service}}", pos(0, 0, 12, 8)))
    d = d.with_panel(
        _prom_ts(
            "Độ trễ tiêu thụ Kafka (số bản ghi chưa xử lý)",
            "lag",
            "locale",
            "{{service}} {{topic}}/{{partition}}",
            pos(12, 0, 12, 8),
        )
    )
    d = d.with_panel(
        _prom_ts("Bản ghi lỗi (dead letters) mỗi giờ", "dead_letters", "locale", "{{code}}", pos(0, 8, 12, 8))
    )
    d = d.with_panel(
        _prom_ts("Thời gian ghi ClickHouse (p95)", "insert_p95", "s", "{{table}}", pos(12, 8, 12, 8))
    )
    d = d.with_panel(
        _prom_ts(
            "Độ trễ từ tiếp nhận đến ClickHouse (p95)",
            "freshness",
            "s",
            "p95",
            pos(0, 16, 12, 8),
            "Từ khi cổng tiếp nhận sự kiện đến khi ClickHouse ghi xong; cảnh báo khi p95 quá 30 giây.",
        )
    )
    d = d.with_panel(
        _prom_ts(
            "Tuổi số liệu của bộ xuất chỉ số (exporter)", "exporter_age", "s", "exporter", pos(12, 16, 12, 8)
        )
    )
    d = d.with_panel(
        _table(
            "Bản ghi lỗi trong ClickHouse theo mã lỗi",
            P.DEAD_LETTERS_BY_CODE,
            ("code", "dead_letters", "last_seen"),
            pos(0, 24, 12, 8),
        )
    )
    d = d.with_panel(
        timeseries.Panel()
        .title("Bản ghi lỗi trong ClickHouse theo giờ")
        .datasource(CH)
        .with_target(ch(P.DEAD_LETTERS_TREND, series=True))
        .grid_pos(pos(12, 24, 12, 8))
        .unit("locale")
        .display_name("${__field.labels.series}")
        .draw_style(common.GraphDrawStyle.BARS)
        .fill_opacity(60)
    )
    return d


DASHBOARDS = {
    UID_OVERVIEW: overview,
    UID_RANKING: ranking,
    UID_UNIT: unit_drilldown,
    UID_766: index766,
    UID_HEALTH: health,
}


def to_json_text(d: dash_b.Dashboard) -> str:
    return json.dumps(d.build(), cls=JSONEncoder, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate(out_dir: Path) -> list[Path]:
    """Write every dashboard as ``<uid>.json`` into ``out_dir`` (the setting
    ``dashboards_dir`` for the commands; the repository's ``dashboards/`` is provisioned)."""
    register()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for uid, make in DASHBOARDS.items():
        path = out_dir / f"{uid}.json"
        path.write_text(to_json_text(make()), encoding="utf-8")
        paths.append(path)
    return paths


def load(path: Path) -> dm.Dashboard:
    """Decode a provisioning JSON file back into the SDK's model."""
    register()
    return dm.Dashboard.from_json(json.loads(path.read_text(encoding="utf-8")))
