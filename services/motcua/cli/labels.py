"""Vietnamese labels for group keys and reason codes (officials read names, not codes)."""

from __future__ import annotations

from ..domain.vocabulary import level_rank, level_short_label

# Header of the group column of a KPI table, per --by.
GROUP_HEADERS = {
    "all": "Phạm vi",
    "level": "Cấp",
    "unit": "Đơn vị",
    "procedure": "Thủ tục hành chính",
    "field": "Lĩnh vực",
}

# The key that identifies a group (shown as "Mã" beside its name); none for level / all.
GROUP_CODE_KEYS = {"unit": "unit_code", "procedure": "procedure_code", "field": "field_code"}

# Dead-letter reason codes (codec.DecodeError, events.InvalidEvent, the pipeline).
DEAD_LETTER_CODE_LABELS = {
    "BAD_JSON": "Không phải JSON hợp lệ",
    "BAD_AVRO": "Không đọc được bản ghi Avro",
    "UNKNOWN_SCHEMA": "Lược đồ Avro không xác định",
    "NOT_AN_OBJECT": "Không phải một đối tượng sự kiện",
    "OVERSIZE": "Bản ghi quá lớn",
    "MISSING_FIELD": "Thiếu trường bắt buộc",
    "BAD_FIELD": "Trường có giá trị không hợp lệ",
    "BAD_ENUM": "Giá trị ngoài danh mục cho phép",
    "BAD_INSTANT": "Thời điểm không hợp lệ",
    "INSTANT_OUT_OF_RANGE": "Thời điểm ngoài khoảng cho phép",
    "FUTURE_EVENT": "Sự kiện ở thời điểm tương lai",
    "UNKNOWN_EVENT_TYPE": "Loại sự kiện không xác định",
    "PERSONAL_DATA": "Chứa dữ liệu cá nhân (không lưu)",
    "TIME_LIMIT_TOO_LONG": "Thời hạn giải quyết quá dài",
    "CONFLICTING_DUPLICATE": "Trùng mã sự kiện nhưng khác nội dung",
    # motcua import (imports.dvcqg, imports.sheet)
    "NOT_A_REQUEST": "Không phải yêu cầu đồng bộ DVCQG",
    "UNKNOWN_SERVICE": "Dịch vụ DVCQG không được hỗ trợ",
    "NO_DOSSIER_CODE": "Thiếu mã hồ sơ",
    "NO_TIME": "Dòng tiến độ thiếu thời điểm xử lý",
    "BAD_DATE": "Ngày không hợp lệ",
    "BAD_STATUS": "Trạng thái hồ sơ không hợp lệ",
    "BAD_CHANNEL": "Kênh nộp không hợp lệ",
    "BAD_LEVEL": "Cấp đơn vị không hợp lệ",
    "BAD_FLAG": "Giá trị Có/Không không hợp lệ",
    "BAD_CODE": "Mã không hợp lệ (khoảng trắng, @, quá dài)",
    "FOLD_FAILED": "Không áp dụng được vào hồ sơ",
    "BAD_ENCODING": "Tệp không mã hóa UTF-8",
    "DAMAGED_FILE": "Phần cuối tệp bị hỏng, không đọc được",
    "SOURCE_NOT_ALLOWED": "Khóa API không được gửi thay hệ thống này",
    "BAD_FACTS_MESSAGE": "Bản ghi nội bộ (facts) không ghi được",
    "UNREADABLE_DEAD_LETTER": "Bản ghi lỗi không đọc được",
}


def level_sort_key(row: dict) -> int:
    """A row's level in the display order (domain.vocabulary)."""
    return level_rank(row.get("unit_level"))


def group_code(by: str, row: dict) -> str:
    """The code of a row's group ('' for by level / all)."""
    key = GROUP_CODE_KEYS.get(by)
    return "" if key is None else str(row.get(key) or "")


def group_label(by: str, row: dict) -> str:
    """The Vietnamese name of a row's group: from the reference registry for units,
    procedures and fields (the code itself when the registry does not know it)."""
    if by == "level":
        return level_short_label(row["unit_level"])
    if by == "all":
        return "Toàn tỉnh"
    from ..reference.registry import default_registry

    if by == "unit":
        return default_registry().unit_name(row["unit_code"])
    if by == "procedure":
        return default_registry().procedure_name(row["procedure_code"])
    return default_registry().field_name(row.get("field_code", ""))


def dead_letter_code_label(code: str) -> str:
    return DEAD_LETTER_CODE_LABELS.get(code, code)
