"""``motcua recompute``: refold stored dossiers under today's working-day calendar."""

from __future__ import annotations

from datetime import datetime

import typer

from .common import StoreOption, console, load_calendar, open_store, out_console, parse_date, progress_bar

OUTCOME_VI = {"EARLY": "trước hạn", "ON_TIME": "đúng hạn", "LATE": "trễ hạn", "": "chưa kết thúc"}


def recompute(
    first: str = typer.Option(
        ..., "--from", help="First day of receipt (YYYY-MM-DD) of the dossiers to recompute."
    ),
    last: str | None = typer.Option(
        None, "--to", help="Last day of receipt (YYYY-MM-DD, inclusive; default today)."
    ),
    store: str | None = StoreOption,
    batch_size: int = typer.Option(
        5000,
        "--batch-size",
        min=1,
        help="Dossiers per write (a rerun after an "
        "interruption must use the same --from, --to and --batch-size).",
    ),
) -> None:
    """Recompute the stored figures of every dossier received from --from to --to with
    today's working-day calendar (the shipped official schedule and
    $MOTCUA_CALENDAR_OVERRIDES): due dates, on-time/late outcomes, working days. Run it
    after a calendar correction (`motcua calendar check` says when stored figures were
    computed with another calendar). Each dossier is refolded from its stored events and
    only the differences are written, as signed deltas like new events, so every rollup and
    dashboard stays exact. Interrupted, run the same command again: nothing is counted
    twice. Stop the writer of a server store while it runs."""
    from ..domain.calendar import VN_TZ
    from ..domain.formatting import fmt_int
    from ..replay import recompute

    start = parse_date(first, "--from")
    end = parse_date(last, "--to") if last else datetime.now(VN_TZ).date()
    if end < start:
        raise typer.BadParameter("--to phải không trước --from.", param_hint="--to")
    cal = load_calendar()
    repo = open_store(store, must_exist=True)
    job = recompute(repo, cal, batch_size=batch_size)
    total = job.pending(start, end)
    with progress_bar() as bar:
        task = bar.add_task("Tính lại hồ sơ", total=total, rate="")
        summary = job.run(start, end, progress=lambda n: bar.advance(task, n))
    window = f"tiếp nhận từ {start:%d/%m/%Y} đến {end:%d/%m/%Y}"
    if summary.dossiers == 0:
        out_console.print(f"Không có hồ sơ nào {window} trong kho dữ liệu.", markup=False, highlight=False)
        return
    lines = [
        f"Đã tính lại {fmt_int(summary.dossiers)} hồ sơ {window} theo lịch làm việc hiện hành "
        f"(phiên bản {cal.version}):",
        f"  • {fmt_int(summary.changed)} hồ sơ thay đổi số liệu "
        f"({fmt_int(summary.due_changed)} hồ sơ đổi hạn giải quyết);",
    ]
    for (old, new), n in sorted(summary.outcomes.items(), key=lambda kv: -kv[1]):
        lines.append(
            f"      – {fmt_int(n)} hồ sơ từ {OUTCOME_VI.get(old, old)} thành {OUTCOME_VI.get(new, new)};"
        )
    lines.append(
        f"  • {fmt_int(summary.restamped)} hồ sơ không đổi số liệu, nay ghi nhận theo lịch hiện hành;"
    )
    lines.append(f"  • {fmt_int(summary.current)} hồ sơ đã được tính theo lịch hiện hành từ trước.")
    if summary.skipped:
        lines.append(
            f"  • {fmt_int(summary.skipped)} hồ sơ bỏ qua vì sự kiện đã lưu không khớp trạng thái "
            f"(chạy lại lệnh nạp dữ liệu đã bị dừng giữa chừng), ví dụ: {', '.join(summary.skipped_ids[:3])}."
        )
    for line in lines:
        out_console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(f"({summary.seconds:.1f} giây)".replace(".", ","), highlight=False)


def register(app: typer.Typer) -> None:
    app.command("recompute")(recompute)
