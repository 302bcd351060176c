"""Which province a report is about, and how documents name it.

Events carry ``province_code`` as their source wrote it: the two-digit GSO code ("75",
"01"), sometimes "1" or the prefixed form "H75". :func:`store_provinces` groups the codes
found in a store by the province they resolve to (``reference.resolve_province``); a
code the registry does not know is kept as a province of its own, named by its code, so
a report can still be made (and shows the code) instead of refusing the store.

:func:`choose_province` applies ``--province`` (any code or name the registry accepts,
or a code exactly as stored) or, without it, takes the province with most dossiers and
says so when the store holds several.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..domain.formatting import fmt_int


@dataclass(frozen=True)
class ReportProvince:
    code: str  # GSO two-digit code ("75"), or the code as stored when the registry does not know it
    short_name: str  # "Đồng Nai", "Hà Nội"; an unknown code: "mã 99"
    is_city: bool = False  # thành phố trực thuộc Trung ương
    known: bool = True
    store_codes: tuple[str, ...] = field(
        default=()
    )  # province_code values in the store that are this province
    dossiers: int = 0

    @property
    def kind(self) -> str:
        """'thành phố', 'tỉnh', or 'tỉnh/thành phố' for an unknown code."""
        if not self.known:
            return "tỉnh/thành phố"
        return "thành phố" if self.is_city else "tỉnh"

    @property
    def full_name(self) -> str:
        """'Thành phố Hà Nội', 'Tỉnh Đồng Nai', 'Tỉnh/thành phố mã 99'."""
        return f"{self.kind[0].upper()}{self.kind[1:]} {self.short_name}"

    @property
    def in_text(self) -> str:
        """Inside a sentence: 'thành phố Hà Nội', 'tỉnh Đồng Nai'."""
        return f"{self.kind} {self.short_name}"

    @property
    def whole(self) -> str:
        """'toàn tỉnh', 'toàn thành phố' (the province total)."""
        return "toàn thành phố" if (self.known and self.is_city) else "toàn tỉnh"

    @property
    def people_committee(self) -> str:
        """'ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI'."""
        return f"ỦY BAN NHÂN DÂN {self.in_text.upper()}"

    @property
    def committee_short(self) -> str:
        """'UBND THÀNH PHỐ HÀ NỘI' (the governing body line of a sở's document)."""
        return f"UBND {self.in_text.upper()}"

    @property
    def place(self) -> str:
        """The place name of the date line (Nghị định 30/2020/NĐ-CP: the province's name;
        'Thành phố Hồ Chí Minh' in full, as the short form is a person's name)."""
        if not self.known:
            return "…"
        return "Thành phố Hồ Chí Minh" if self.code == "79" else self.short_name

    @property
    def label(self) -> str:
        """'Đồng Nai (75)', for messages."""
        return (
            f"{self.short_name} ({self.code})"
            if self.known
            else f"mã {self.code!r} (không có trong danh mục)"
        )

    @property
    def unknown_note(self) -> str | None:
        if self.known:
            return None
        return (
            f"Lưu ý: mã tỉnh “{self.code}” trong dữ liệu không có trong danh mục 34 tỉnh, thành phố; "
            "kiểm tra mã tỉnh (province_code) của hệ thống nguồn."
        )

    def merger_note(self, start: date) -> str | None:
        """For figures from before 2025-07-01 of a merged province: "Số liệu trước
        01/07/2025 gồm: tỉnh Đồng Nai, tỉnh Bình Phước" (None otherwise)."""
        from ..reference.reform import MERGER_EFFECTIVE, merged_from_text

        if not self.known or start >= MERGER_EFFECTIVE:
            return None
        return merged_from_text(self.code)

    def notes_for(self, start: date) -> list[str]:
        """The note lines of a document whose figures start on ``start``."""
        return [n for n in (self.unknown_note, self.merger_note(start)) if n]


def from_registry(code: str, store_codes: tuple[str, ...] = (), dossiers: int = 0) -> ReportProvince:
    """The province a code or name names; an unknown code becomes a province named by it."""
    from ..reference import resolve_province

    try:
        info = resolve_province(code)
    except (KeyError, ValueError, TypeError):
        text = str(code).strip()
        return ReportProvince(
            code=text, short_name=f"mã {text}", known=False, store_codes=store_codes, dossiers=dossiers
        )
    return ReportProvince(
        code=info.code,
        short_name=info.short_name,
        is_city=info.is_city,
        store_codes=store_codes,
        dossiers=dossiers,
    )


def group_codes(counts: list[tuple[str, int]]) -> list[ReportProvince]:
    """Store codes with their dossier counts -> provinces, most dossiers first."""
    groups: dict[tuple[bool, str], list[tuple[str, int]]] = {}
    for code, n in counts:
        p = from_registry(code)
        groups.setdefault((p.known, p.code), []).append((code, n))
    out = []
    for (_known, key), members in groups.items():
        p = from_registry(key if _known else members[0][0])
        out.append(
            ReportProvince(
                code=p.code,
                short_name=p.short_name,
                is_city=p.is_city,
                known=p.known,
                store_codes=tuple(sorted(c for c, _ in members)),
                dossiers=sum(n for _, n in members),
            )
        )
    out.sort(key=lambda p: (-p.dossiers, p.code))
    return out


class ProvinceChoiceError(ValueError):
    """--province names nothing the registry or the store knows."""


@dataclass(frozen=True)
class ProvinceChoice:
    province: ReportProvince
    in_store: list[ReportProvince]  # every province of the store, most dossiers first
    note: str | None = None  # what to tell the user (several provinces, none in the store, ...)

    @property
    def needs_filter(self) -> bool:
        """True when the store has dossiers of other provinces too."""
        mine = set(self.province.store_codes)
        return any(c not in mine for p in self.in_store for c in p.store_codes)


def _former_codes(p: ReportProvince) -> list[str]:
    """Stored codes of ``p`` that are a former province's, not the new one's ("70")."""
    if not p.known:
        return []
    from ..reference.reform import former_province

    out = []
    for c in p.store_codes:
        old = former_province(c)
        if old is not None and old.gso != int(p.code):
            out.append(c)
    return out


def _listing(provinces: list[ReportProvince], limit: int = 5) -> str:
    def label(p: ReportProvince) -> str:
        old = _former_codes(p)
        return f"{p.short_name} ({p.code}, gồm mã cũ {', '.join(old)})" if old else p.label

    items = [f"{label(p)} {fmt_int(p.dossiers)} hồ sơ" for p in provinces[:limit]]
    if len(provinces) > limit:
        items.append(f"và {len(provinces) - limit} tỉnh khác")
    return "; ".join(items)


def _former_only(text: str) -> str | None:
    """When ``text`` names a former province only (70, "H70", "Bình Phước"; not a code or
    name the new provinces use): the note that the report is for its new province."""
    from ..reference import resolve_province
    from ..reference.reform import former_province

    try:
        resolve_province(text)
    except ValueError:
        return None
    old = former_province(text)
    if old is None or old.unchanged:
        return None
    new_codes = {int(p.code) for p in _new_provinces()}
    digits = text[1:] if text[:1] in "Hh" else text
    if digits.isdigit() and int(digits) in new_codes:
        return None  # a code the new provinces use means the new province
    new = old.successor
    return (
        f"{old.describe()}: báo cáo cho {new.kind} {new.short_name}, gồm số liệu của "
        + ", ".join(q.in_text for q in _predecessors(new.gso))
        + "."
    )


def _new_provinces():
    from ..reference import provinces

    return provinces()


def _predecessors(gso: int):
    from ..reference.reform import predecessors

    return predecessors(gso)


def choose_province(
    counts: list[tuple[str, int]], requested: str | None, default: str = "75"
) -> ProvinceChoice:
    """The province of a report: ``requested`` (``--province``), else the store's
    province with most dossiers (``default`` for an empty store)."""
    in_store = group_codes(counts)
    if requested is None or not str(requested).strip():
        if not in_store:
            p = from_registry(default)
            return ProvinceChoice(p, in_store, "Kho dữ liệu chưa có hồ sơ nào.")
        main = in_store[0]
        note = None
        if len(in_store) > 1:
            note = (
                f"Kho dữ liệu có hồ sơ của {len(in_store)} tỉnh, thành phố ({_listing(in_store)}); "
                f"báo cáo cho {main.in_text} (nhiều hồ sơ nhất) — dùng --province để chọn tỉnh khác."
            )
        return ProvinceChoice(main, in_store, note)
    text = str(requested).strip()
    merged = _former_only(text)
    # a code exactly as stored (also one the registry does not know)
    for p in in_store:
        if text in p.store_codes:
            return ProvinceChoice(p, in_store, merged)
    wanted = from_registry(text)
    if not wanted.known:
        present = f" Các tỉnh có trong dữ liệu: {_listing(in_store)}." if in_store else ""
        raise ProvinceChoiceError(
            f"không rõ tỉnh {text!r}: không có trong danh mục 34 tỉnh, thành phố (mã GSO như 75, 01 "
            f"hoặc tên như “Đồng Nai”) và không có trong dữ liệu.{present}"
        )
    for p in in_store:
        if p.known and p.code == wanted.code:
            return ProvinceChoice(p, in_store, merged)
    present = (
        f" Các tỉnh có trong dữ liệu: {_listing(in_store)}."
        if in_store
        else " Kho dữ liệu chưa có hồ sơ nào."
    )
    return ProvinceChoice(
        wanted, in_store, f"Kho dữ liệu không có hồ sơ nào của {wanted.in_text} (mã {wanted.code}).{present}"
    )
