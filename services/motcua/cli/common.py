"""Shared pieces of the command line: store option, dates, calendar, progress, output."""

from __future__ import annotations

import errno
import os
import sys
from datetime import date, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse, urlunparse

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from typer.core import TyperGroup

from ..domain.calendar import VN_TZ, WorkingCalendar, local_midnight_ms
from ..settings import get_settings

console = Console(stderr=True)  # progress and summaries
# Results go to stdout; when piped, use a width that keeps Vietnamese labels on one line.
out_console = Console(width=None if sys.stdout.isatty() else 170)

StoreOption = typer.Option(
    None,
    "--store",
    help="Store DSN: chdb:///path (embedded ClickHouse) or http(s)://user:pass@host:8123/db. "
    "Default: $MOTCUA_STORE, else the embedded store under $MOTCUA_DATA_DIR (./.motcua).",
)


def store_dsn(store: str | None) -> str:
    return store or get_settings().store_dsn()


# -- errors a user can act on: one Vietnamese line and exit code 2 ----------------------


class CliError(Exception):
    """A problem the user can fix (a path, a store, a file). The command group prints it
    as one line ``Lỗi: …`` on stderr and exits with code 2; passwords of the DSNs seen are
    never shown."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        self.message = redact_text(message)
        super().__init__(self.message)


_SECRETS: set[str] = set()


def redact_dsn(dsn: str) -> str:
    """The DSN with its password replaced by ``***`` (and remembered, so no later message
    shows it either)."""
    url = urlparse(dsn)
    if url.password is None:
        return dsn
    _SECRETS.add(url.password)
    _SECRETS.add(unquote(url.password))
    netloc = f"{url.username or ''}:***@{url.hostname or ''}" + (f":{url.port}" if url.port else "")
    return urlunparse(url._replace(netloc=netloc))


def redact_text(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


_ERRNO_VI = {
    errno.EACCES: "không có quyền truy cập (permission denied)",
    errno.EPERM: "không có quyền truy cập (operation not permitted)",
    errno.ENOENT: "không có tệp hoặc thư mục này (no such file or directory)",
    errno.EISDIR: "đây là một thư mục (is a directory)",
    errno.ENOTDIR: "một phần của đường dẫn không phải thư mục (not a directory)",
    errno.EEXIST: "đã có một tệp cùng tên (file exists)",
    errno.EROFS: "hệ thống tệp chỉ đọc (read-only file system)",
    errno.ENOSPC: "hết dung lượng đĩa (no space left on device)",
    errno.EDQUOT: "vượt hạn mức dung lượng (disk quota exceeded)",
    errno.ENAMETOOLONG: "tên tệp quá dài (file name too long)",
    errno.ECONNREFUSED: "máy chủ từ chối kết nối (connection refused)",
    errno.ECONNRESET: "máy chủ ngắt kết nối (connection reset)",
    errno.ETIMEDOUT: "quá thời gian chờ (timed out)",
    errno.EHOSTUNREACH: "không tới được máy chủ (no route to host)",
    errno.ENETUNREACH: "không tới được mạng của máy chủ (network unreachable)",
}


def os_reason(err: OSError) -> str:
    """An OSError as a short Vietnamese reason (the English words kept in brackets)."""
    import socket

    if isinstance(err, socket.gaierror):
        return "không tìm thấy tên máy chủ (unknown host)"
    if isinstance(err, (TimeoutError, socket.timeout)) and err.errno is None:
        return "quá thời gian chờ (timed out)"
    if err.errno in _ERRNO_VI:
        return _ERRNO_VI[err.errno]
    return err.strerror or str(err) or type(err).__name__


def _first_line(text: str, limit: int = 160) -> str:
    line = (text.strip().splitlines() or [""])[0].strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


# ClickHouse server error codes a user (not a bug of ours) causes, by name.
_CLICKHOUSE_CODES_VI = {
    516: "sai tên đăng nhập hoặc mật khẩu (AUTHENTICATION_FAILED)",
    497: "tài khoản không có quyền cần thiết (ACCESS_DENIED)",
    164: "tài khoản chỉ được đọc (READONLY)",
    81: "không có cơ sở dữ liệu này (UNKNOWN_DATABASE)",
    192: "không có tài khoản này (UNKNOWN_USER)",
    159: "truy vấn quá thời gian cho phép (TIMEOUT_EXCEEDED)",
    202: "máy chủ đang có quá nhiều truy vấn (TOO_MANY_SIMULTANEOUS_QUERIES)",
    241: "máy chủ hết bộ nhớ cho truy vấn (MEMORY_LIMIT_EXCEEDED)",
    209: "quá thời gian chờ (SOCKET_TIMEOUT)",
    210: "lỗi mạng (NETWORK_ERROR)",
    243: "máy chủ hết dung lượng đĩa (NOT_ENOUGH_SPACE)",
}


def _causes(err: BaseException):
    """``err`` and what it wraps: __cause__, __context__ and urllib3's ``reason``."""
    seen: set[int] = set()
    stack = [err]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        stack.extend(
            x
            for x in (getattr(e, "reason", None), e.__context__, e.__cause__)
            if isinstance(x, BaseException)
        )


def connection_reason(err: BaseException) -> str:
    """Why a store could not be reached or answered, in a few Vietnamese words."""
    import ssl

    code = getattr(err, "code", None)
    if isinstance(code, int) and code in _CLICKHOUSE_CODES_VI:
        return _CLICKHOUSE_CODES_VI[code]
    for e in _causes(err):
        if isinstance(e, ssl.SSLError):
            return f"lỗi TLS/SSL ({_first_line(str(e), 100)})"
        if type(e).__module__.startswith("urllib3") and "Timeout" in type(e).__name__:
            return "quá thời gian chờ (timed out)"
        if isinstance(e, OSError) and not type(e).__module__.startswith("urllib3"):
            return os_reason(e)
    text = str(err)
    if "HTTP driver received HTTP status" in text:
        status = text.split("HTTP status", 1)[1].split(",", 1)[0].strip()
        return f"máy chủ trả lời HTTP {status}: không phải ClickHouse, hoặc sai cổng / đường dẫn"
    return _first_line(text)


def _is_clickhouse_error(err: BaseException) -> bool:
    return type(err).__module__.startswith("clickhouse_connect")


def _is_urllib3_error(err: BaseException) -> bool:
    return type(err).__module__.startswith("urllib3")


_OPENED: list[str] = []  # redacted DSNs of the stores this process opened


def _raised_in(err: BaseException, module_file: str) -> bool:
    tb = err.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    return last is not None and last.tb_frame.f_code.co_filename.replace("\\", "/").endswith(module_file)


def user_error(err: BaseException) -> CliError | None:
    """The one-line message for an exception a user causes and can fix; None for the
    rest (bugs keep their traceback)."""
    from ..adapters.codec import DecodeError

    where = _OPENED[-1] if _OPENED else "ClickHouse"
    if _is_clickhouse_error(err):
        from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

        code = getattr(err, "code", None)
        if isinstance(err, OperationalError) and code not in (None, *_CLICKHOUSE_CODES_VI):
            return None
        if isinstance(err, OperationalError) or (
            isinstance(err, DatabaseError) and code in _CLICKHOUSE_CODES_VI
        ):
            return CliError(f"kho dữ liệu {where} không trả lời được: {connection_reason(err)}")
        return None
    if _is_urllib3_error(err):
        return CliError(f"kho dữ liệu {where} không trả lời được: {connection_reason(err)}")
    if type(err).__name__ in ("NoBrokersAvailable", "KafkaTimeoutError") and type(err).__module__.startswith(
        "kafka"
    ):
        return CliError(
            "không kết nối được Kafka (NoBrokersAvailable): kiểm tra --bootstrap hoặc "
            "$MOTCUA_KAFKA_BOOTSTRAP (`make -s kafka-up` in ra địa chỉ của broker cục bộ)"
        )
    if isinstance(err, OSError) and err.filename is not None and err.errno != errno.EPIPE:
        name = err.filename if err.filename2 is None else f"{err.filename} → {err.filename2}"
        return CliError(f"không truy cập được {name}: {os_reason(err)}")
    if (
        isinstance(err, ValueError)
        and not isinstance(err, DecodeError)
        and _raised_in(err, "motcua/adapters/codec.py")
    ):
        # the codec's own file errors carry a Vietnamese ``message`` (e.g. UnsupportedFile)
        message = getattr(err, "message", None)
        return CliError(
            message
            if isinstance(message, str) and message
            else f"không đọc được tệp sự kiện: {_first_line(str(err), 300)}"
        )
    if isinstance(err, ValueError) and _raised_in(err, "motcua/domain/calendar.py"):
        import re

        found = re.search(r"(\d{4})-(\d{2})-(\d{2})", str(err))
        day = f"ngày {found[3]}/{found[2]}/{found[1]}" if found else "một ngày của kỳ"
        return CliError(
            f"{day} nằm ngoài các năm của lịch làm việc; chọn kỳ khác ({_first_line(str(err), 100)})"
        )
    if isinstance(err, (EOFError, OSError)) and _raised_in(err, "/gzip.py"):
        return CliError(f"tệp .gz bị hỏng hoặc không đầy đủ ({_first_line(str(err), 120)})")
    return None


class MotcuaGroup(TyperGroup):
    """The top-level command group: a :class:`CliError`, or an exception
    :func:`user_error` recognises, raised by any (sub)command becomes one Vietnamese line
    on stderr and exit code 2. Anything else keeps its traceback (a bug)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CliError as err:
            _fail(err)
        except Exception as err:
            converted = user_error(err)
            if converted is None:
                raise
            _fail(converted)


def _fail(err: CliError):
    typer.echo(f"Lỗi: {err.message}", err=True)
    raise typer.Exit(err.exit_code)


# -- the store ---------------------------------------------------------------------------

_CREATE_HINT = "tạo dữ liệu bằng `motcua replay TỆP` (nạp tệp sự kiện) hoặc chạy thử `motcua demo`"


def check_store_dsn(dsn: str):
    """What can be said of a DSN without connecting: (location, embedded path or None, the
    DSN with its password hidden); a DSN of no supported kind, a bad database name or an
    embedded path that is a file raise :class:`CliError`."""
    from ..adapters.clickhouse_store import embedded_path, parse_dsn

    shown = redact_dsn(dsn)
    try:
        loc = parse_dsn(dsn)
    except ValueError as err:
        if str(err).startswith("bad database name"):
            raise CliError(
                f"tên cơ sở dữ liệu không hợp lệ trong --store {shown} (chỉ chữ, số và _; bad database name)"
            ) from None
        raise CliError(
            f"--store {shown} không phải địa chỉ kho dữ liệu: dùng chdb:///đường/dẫn hoặc "
            "http(s)://tài_khoản:mật_khẩu@máy:8123/csdl (unsupported store DSN)"
        ) from None
    path = embedded_path(dsn)
    if path is not None and path.exists() and not path.is_dir():
        raise CliError(
            f"kho dữ liệu {path} là một tệp, không phải thư mục (--store chdb:///đường/dẫn/thư-mục)"
        )
    return loc, path, shown


def open_store(store: str | None, must_exist: bool = False, require_data: bool = True):
    """The store of ``--store`` (else $MOTCUA_STORE, else the embedded default).

    Writers (replay, demo, targets load) call it plainly: a missing store is created and
    migrated. Readers pass ``must_exist=True``: a store that does not exist, was never
    created, or (``require_data``) holds no event, dossier or dead letter is refused with
    a message naming it, instead of answering from an empty store created on the spot;
    pending migrations are applied, and nothing is written when there are none.
    Every problem is a :class:`CliError` (one line, exit 2)."""
    import logging

    from .. import bootstrap
    from ..adapters.clickhouse_store import SchemaFormError, embedded_problem

    # clickhouse-connect logs a failed request before raising it; the raised error is
    # reported below as one line, so keep its log off a terminal without logging set up
    # (services that configure logging still get it through their root handlers).
    logging.getLogger("clickhouse_connect").addHandler(logging.NullHandler())
    dsn = store_dsn(store)
    loc, path, shown = check_store_dsn(dsn)
    where = str(path) if path is not None else shown
    _OPENED.append(where)
    default_note = ""
    if store is None and not get_settings().store:
        default_note = f" (kho mặc định ./.motcua/store của thư mục đang làm việc {Path.cwd()})"
    missing = (
        f"không có kho dữ liệu tại {where}{default_note}. Kiểm tra --store (hoặc $MOTCUA_STORE) "
        f"và thư mục đang làm việc; {_CREATE_HINT}."
    )
    if path is not None:
        problem = embedded_problem(path)
        if problem == "in_use":
            raise CliError(
                f"kho dữ liệu {path} đang được một tiến trình khác dùng (một lệnh motcua khác, "
                "run writer hoặc exporter); chạy lại khi tiến trình đó kết thúc, hoặc dùng "
                "ClickHouse server cho nhiều tiến trình cùng lúc"
            )
        if must_exist and problem in ("missing", "not_a_store"):
            raise CliError(missing)
        if problem == "missing":
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise CliError(f"không tạo được kho dữ liệu tại {path}: {os_reason(err)}") from None
    try:
        st = bootstrap.store(get_settings(), dsn, migrate=False)
        if must_exist:
            if not st.schema_present():
                raise CliError(
                    f"kho dữ liệu {where} không có cơ sở dữ liệu '{loc.database}' của motcua "
                    f"(chưa từng nạp dữ liệu); kiểm tra --store (tên cơ sở dữ liệu: "
                    f"?database=… hoặc /tên ở cuối địa chỉ), hoặc {_CREATE_HINT}."
                )
            if require_data and not st.holds_data():
                raise CliError(
                    f"kho dữ liệu {where} chưa có dữ liệu (không có sự kiện, hồ sơ hay bản ghi "
                    f"bị từ chối nào); {_CREATE_HINT}."
                )
            if st.pending_migrations():
                st.migrate()
        else:
            st.migrate()
        # the units and the procedure catalogue this store has loaded name units, procedures
        # and fields everywhere in this process
        bootstrap.unit_registry(st)
    except CliError:
        raise
    except SchemaFormError as err:  # MOTCUA_SCHEMA does not fit this store
        raise CliError(str(err)) from None
    except Exception as err:
        if not (_is_clickhouse_error(err) or _is_urllib3_error(err) or isinstance(err, OSError)):
            raise
        if path is not None:
            raise CliError(f"không mở được kho dữ liệu {path}: {connection_reason(err)}") from None
        raise CliError(f"không kết nối được kho dữ liệu {shown}: {connection_reason(err)}") from None
    return st


# -- output files ------------------------------------------------------------------------


def check_output_file(path: Path, option: str = "--out") -> Path:
    """Refuse, before any work, an output file that cannot be written: a directory, a
    missing or non-directory parent, no permission, a read-only file system."""
    if path.is_dir():
        raise CliError(f"{option} {path} là một thư mục; cần đường dẫn của một tệp")
    parent = path.parent
    if not parent.exists():
        raise CliError(f"không ghi được {path}: thư mục {parent} không tồn tại ({option})")
    if not parent.is_dir():
        raise CliError(f"không ghi được {path}: {parent} không phải thư mục ({option})")
    try:
        if path.exists():
            with open(path, "ab"):
                pass
        else:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.close(fd)
            os.unlink(path)
    except OSError as err:
        raise CliError(f"không ghi được {path}: {os_reason(err)} ({option})") from None
    return path


def check_output_dir(path: Path, option: str = "--out") -> Path:
    """Create the output directory if needed; refuse one that is a file or not writable."""
    if path.exists() and not path.is_dir():
        raise CliError(f"{option} {path} là một tệp; cần đường dẫn của một thư mục")
    try:
        path.mkdir(parents=True, exist_ok=True)
        import tempfile

        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as err:
        raise CliError(f"không ghi được vào thư mục {path}: {os_reason(err)} ({option})") from None
    return path


def load_calendar() -> WorkingCalendar:
    """The product's calendar (``bootstrap.calendar``); a bad overrides file is a user
    error naming the entry."""
    from .. import bootstrap

    try:
        return bootstrap.calendar(get_settings())
    except bootstrap.ConfigError as err:
        raise CliError(err.message) from None


def parse_date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from None


def check_in_calendar(cal: WorkingCalendar, *days: tuple[date, str]) -> None:
    """Refuse days (with the option that gave each) outside the working-day calendar's
    years, before any query; the day after a day must be in it too (next working day)."""
    first, last = date.fromordinal(cal.first), date.fromordinal(cal.last)
    for day, name in days:
        if not first <= day < last:
            raise CliError(
                f"{name}: ngày {day:%d/%m/%Y} nằm ngoài lịch làm việc (các năm "
                f"{first.year}–{last.year}); chọn kỳ trong các năm đó"
            )


def parse_instant_option(value: str | None, name: str) -> int:
    """An instant for --as-of: ISO date (start of that local day) or datetime; naive times
    are taken as Asia/Ho_Chi_Minh. Default: now."""
    if value is None:
        return int(datetime.now(tz=VN_TZ).timestamp() * 1000)
    try:
        if len(value) == 10:
            return local_midnight_ms(date.fromisoformat(value))
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO date or datetime", param_hint=name) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=VN_TZ)
    return int(dt.timestamp() * 1000)


def fmt_instant(ms: int, seconds: bool = False) -> str:
    """Epoch milliseconds as local (Asia/Ho_Chi_Minh) time: '01/12/2026 10:30'."""
    dt = datetime.fromtimestamp(ms / 1000, tz=VN_TZ)
    return dt.strftime("%d/%m/%Y %H:%M:%S" if seconds else "%d/%m/%Y %H:%M")


def iso_instant(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 local time with offset: '2026-12-01T10:30:00.000+07:00'."""
    return datetime.fromtimestamp(ms / 1000, tz=VN_TZ).isoformat(timespec="milliseconds")


AVRO_SINGLE_OBJECT_MAGIC = b"\xc3\x01"


def payload_preview(head: bytes, size: int, limit: int = 120) -> str:
    """A one-line look at a stored payload of ``size`` bytes from its first bytes: the
    text (control characters as spaces, '…' when cut), or '(Avro, N byte)'."""
    from ..domain.formatting import fmt_int

    if size == 0:
        return ""
    if head[:2] == AVRO_SINGLE_OBJECT_MAGIC:
        return f"(Avro, {fmt_int(size)} byte)"
    text = bytes(head).decode("utf-8", errors="replace")
    if size > len(head) and text.endswith("\ufffd"):
        text = text.rstrip("\ufffd")  # a character cut by the byte limit
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    if len(text) > limit:
        return text[: limit - 1] + "…"
    return text + ("…" if size > len(head) else "")


def progress_bar(transient: bool = False) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
    )


BomOption = typer.Option(
    True,
    "--bom/--no-bom",
    help="CSV: start with a UTF-8 byte order mark so Excel shows Vietnamese diacritics (default; "
    "not written to a terminal).",
)
