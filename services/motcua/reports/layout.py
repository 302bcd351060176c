"""Page and layout rules of the documents officials file (Nghị định 30/2020/NĐ-CP, Phụ lục
I, for văn bản hành chính): A4, margins, Times New Roman, and who issues, signs and
receives the monthly report.

- Paper A4 (210 × 297 mm); margins top 20–25 mm, bottom 20–25 mm, left 30–35 mm, right
  15–20 mm: we use 20 / 20 / 30 / 15 mm, also on the landscape annex pages.
- Body text Times New Roman 14 pt (13–14), justified, first-line indent 1,27 cm, at least
  6 pt between paragraphs; page numbers centred in the header from page 2.
- Header block: governing body (upright) over the issuing body (bold) with a short rule,
  "Số: …/BC-<abbr>" under them; the national motto top right with a rule as long as
  "Độc lập - Tự do - Hạnh phúc"; the place and date line in italics under it.
- "BÁO CÁO" and the trích yếu (bold, centred) with a short rule; "Nơi nhận:" bottom left
  (bold italic 12 pt, items 11 pt, the last "- Lưu: VT, …."); the position of the signer
  bottom right (bold capitals) with a placeholder for the signature, no personal names.
"""

from __future__ import annotations

from dataclasses import dataclass

from .province import ReportProvince

PAGE_W_CM, PAGE_H_CM = 21.0, 29.7
MARGIN_TOP_CM, MARGIN_BOTTOM_CM, MARGIN_LEFT_CM, MARGIN_RIGHT_CM = 2.0, 2.0, 3.0, 1.5
TEXT_W_CM = PAGE_W_CM - MARGIN_LEFT_CM - MARGIN_RIGHT_CM  # 16.5 portrait
TEXT_W_LANDSCAPE_CM = PAGE_H_CM - MARGIN_LEFT_CM - MARGIN_RIGHT_CM  # 25.2
FONT = "Times New Roman"
BODY_PT = 14
SIGNATURE_PLACEHOLDER = "(Ký, ghi rõ họ tên)"


def initials(name: str) -> str:
    """A document-symbol abbreviation from a body's name: "Sở Nội vụ" -> "SNV"; words in
    capitals stay whole ("Văn phòng UBND tỉnh" -> "VPUBNDT")."""
    out = []
    for word in name.replace("-", " ").split():
        if len(word) > 1 and word.isupper():
            out.append(word)
        elif word[0].isalpha():
            out.append(word[0].upper())
    return "".join(out)


def default_signer(issuer: str) -> str:
    low = issuer.strip().lower()
    if low.startswith("văn phòng"):
        return "CHÁNH VĂN PHÒNG"
    if low.startswith(("ủy ban", "ubnd")):
        return "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH"
    return "GIÁM ĐỐC"


@dataclass(frozen=True)
class Issuer:
    """Who issues the monthly report (default: the province's Sở Nội vụ)."""

    name: str = "Sở Nội vụ"
    abbreviation: str | None = None  # the symbol after BC-: default the initials ("SNV")
    signer: str | None = None  # position(s) in the signature block, '\n' between lines
    recipients: tuple[str, ...] | None = None  # the "Nơi nhận" list; default: recipients_for()
    archive: str = "VT, CCHC"  # "Lưu: VT, CCHC."

    @property
    def symbol(self) -> str:
        return self.abbreviation or initials(self.name)

    @property
    def position(self) -> str:
        return self.signer or default_signer(self.name)

    def number_line(self) -> str:
        """'Số:      /BC-SNV' (the number is given by the văn thư when the report is issued)."""
        return f"Số:        /BC-{self.symbol}"

    def recipient_lines(self, province: ReportProvince) -> list[str]:
        items = list(self.recipients) if self.recipients is not None else recipients_for(province, self)
        lines = [f"- {r};" for r in items]
        lines.append(f"- Lưu: {self.archive}.")
        return lines


def recipients_for(province: ReportProvince, issuer: Issuer) -> list[str]:
    """The usual recipients of a provincial body's periodic TTHC report."""
    kind = province.kind if province.known else "tỉnh"
    party = "Thành ủy" if province.known and province.is_city else "Tỉnh ủy"
    out = []
    if not issuer.name.lower().startswith(("ủy ban", "ubnd")):
        out.append(f"UBND {kind} (để báo cáo)")
    out += [
        "Văn phòng Chính phủ (Cục Kiểm soát TTHC)",
        "Bộ Nội vụ",
        f"TT {party}, TT HĐND {kind}",
        f"Chủ tịch, các Phó Chủ tịch UBND {kind}",
    ]
    if not issuer.name.lower().startswith("văn phòng"):
        out.append(f"Văn phòng UBND {kind}")
    out += [f"Các sở, ban, ngành {kind}", "UBND các xã, phường"]
    return out


def date_line(province: ReportProvince, year: int) -> str:
    """'Đồng Nai, ngày      tháng      năm 2025': day and month are written when signed."""
    return f"{province.place}, ngày        tháng        năm {year}"
